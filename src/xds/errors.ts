// Errors raised by the xDS codec and client; each has a stable `code` and a message naming what was wrong.

/** Bytes that do not decode as the expected message, or decode to something the schema forbids. */
export class XdsDecodeError extends Error {
  readonly code = 'XDS_DECODE' as const;
  constructor(
    /** Full protobuf name of the message being decoded, e.g. "istio.workload.Address". */
    readonly messageType: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot decode ${messageType}: ${detail}`, options);
    this.name = 'XdsDecodeError';
  }
}

/** A value that cannot be encoded as the named message (unknown enum name, wrong shape). */
export class XdsEncodeError extends Error {
  readonly code = 'XDS_ENCODE' as const;
  constructor(
    readonly messageType: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot encode ${messageType}: ${detail}`, options);
    this.name = 'XdsEncodeError';
  }
}

/** The control plane sent a resource type the client did not register. */
export class XdsUnknownTypeError extends Error {
  readonly code = 'XDS_UNKNOWN_TYPE' as const;
  constructor(readonly typeUrl: string) {
    super(`no handler registered for xDS type ${typeUrl}; the control plane pushed a type this proxy did not subscribe to`);
    this.name = 'XdsUnknownTypeError';
  }
}

/** The client was closed before the awaited event happened. */
export class XdsClientClosedError extends Error {
  readonly code = 'XDS_CLIENT_CLOSED' as const;
  constructor(what: string) {
    super(`xDS client closed before ${what}`);
    this.name = 'XdsClientClosedError';
  }
}
