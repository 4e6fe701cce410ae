// Error classes shared by the PKI helpers: each names the input at fault and what to do about it.

/** A key type ambit cannot sign with (only ECDSA P-256/P-384 and RSA are supported). */
export class UnsupportedKey extends Error {
  readonly code = 'UNSUPPORTED_KEY' as const;
  constructor(description: string) {
    super(`unsupported key: ${description}; use an ECDSA P-256/P-384 or RSA key`);
    this.name = 'UnsupportedKey';
  }
}

/** A CSR that cannot be parsed, whose signature does not verify, or whose SANs are unusable. */
export class InvalidCsr extends Error {
  readonly code = 'INVALID_CSR' as const;
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`invalid certificate signing request: ${reason}`, options);
    this.name = 'InvalidCsr';
  }
}

/** A certificate PEM/DER that cannot be parsed. */
export class InvalidCertificate extends Error {
  readonly code = 'INVALID_CERTIFICATE' as const;
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`invalid certificate: ${reason}`, options);
    this.name = 'InvalidCertificate';
  }
}

/** A certificate (chain) the CA handed back that the requester must not use. */
export class CertificateRejected extends Error {
  readonly code = 'CERTIFICATE_REJECTED' as const;
  constructor(reason: string) {
    super(`certificate rejected: ${reason}`);
    this.name = 'CertificateRejected';
  }
}

/** The CA did not issue a certificate (transport failure or a refusal, with the gRPC status). */
export class CertificateRequestFailed extends Error {
  readonly code = 'CERTIFICATE_REQUEST_FAILED' as const;
  constructor(
    readonly grpcCode: number,
    readonly grpcStatusName: string,
    details: string,
    readonly identity: string,
  ) {
    super(`certificate request for ${identity} failed: ${grpcStatusName}: ${details}`);
    this.name = 'CertificateRequestFailed';
  }
}
