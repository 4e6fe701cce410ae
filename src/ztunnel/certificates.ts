// Workload certificates for the identities on this node: fetched from the mesh CA on first need, renewed at half-life, kept while the CA is away.
import { certInfo, requestCertificate, type SpiffeId, type TlsIdentity } from '../pki';
import type { Logger } from '../telemetry/logger';

/** A workload's key, chain (leaf first) and the mesh roots; a renewal hands out a new object. */
export type CertificateMaterial = TlsIdentity;

export interface CertificateStatus {
  readonly identity: string;
  readonly state: 'available' | 'pending' | 'failed';
  readonly serial?: string;
  readonly notBefore?: string;
  readonly notAfter?: string;
  readonly lastError?: string;
}

export interface CertificateManagerOptions {
  readonly caAddress: string;
  readonly rootPems: readonly string[];
  /** Read on every request, so a rotated token file is picked up. */
  readonly token: () => string;
  readonly serverName?: string;
  readonly ttlSeconds?: number;
  readonly logger: Logger;
  readonly retryMs?: number;
  /** Test hook: replaces the CA call. */
  readonly fetch?: typeof requestCertificate;
}

interface Entry {
  material?: CertificateMaterial;
  serial?: string;
  notBefore?: Date;
  notAfter?: Date;
  pending?: Promise<CertificateMaterial>;
  timer?: NodeJS.Timeout;
  lastError?: string;
}

export class CertificateUnavailable extends Error {
  readonly code = 'CERTIFICATE_UNAVAILABLE';
  constructor(readonly identity: string, cause: unknown) {
    super(`no certificate for ${identity}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export class CertificateManager {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(private readonly options: CertificateManagerOptions) {}

  /** A valid certificate for `identity`, fetching one if there is none yet. */
  async get(identity: string): Promise<CertificateMaterial> {
    const entry = this.entries.get(identity) ?? {};
    this.entries.set(identity, entry);
    if (entry.material && entry.notAfter && entry.notAfter.getTime() > Date.now()) return entry.material;
    return entry.pending ?? this.fetch(identity, entry);
  }

  /** Starts fetching in the background (pods added to the node), so the first connection does not wait. */
  prefetch(identity: string): void {
    this.get(identity).catch(() => undefined);
  }

  forget(identity: string): void {
    const entry = this.entries.get(identity);
    if (entry?.timer) clearTimeout(entry.timer);
    this.entries.delete(identity);
  }

  status(): CertificateStatus[] {
    return [...this.entries].map(([identity, entry]) => ({
      identity,
      state: entry.material ? 'available' : entry.pending ? 'pending' : 'failed',
      serial: entry.serial,
      notBefore: entry.notBefore?.toISOString(),
      notAfter: entry.notAfter?.toISOString(),
      lastError: entry.lastError,
    }));
  }

  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) if (entry.timer) clearTimeout(entry.timer);
  }

  private fetch(identity: string, entry: Entry): Promise<CertificateMaterial> {
    const fetcher = this.options.fetch ?? requestCertificate;
    entry.pending = fetcher({
      address: this.options.caAddress,
      rootPems: this.options.rootPems,
      token: this.options.token(),
      identity: identity as SpiffeId,
      ttlSeconds: this.options.ttlSeconds,
      serverName: this.options.serverName,
    })
      .then((issued) => {
        const info = certInfo(issued.certChainPems[0]);
        const material: CertificateMaterial = { keyPem: issued.keyPem, certChainPems: issued.certChainPems, rootPems: this.options.rootPems };
        Object.assign(entry, { material, serial: info.serial, notBefore: info.notBefore, notAfter: info.notAfter, lastError: undefined, pending: undefined });
        this.options.logger.info({ identity, serial: info.serial, notAfter: info.notAfter.toISOString() }, 'workload certificate issued');
        this.scheduleRenewal(identity, entry, (info.notAfter.getTime() - info.notBefore.getTime()) / 2 + info.notBefore.getTime() - Date.now());
        return material;
      })
      .catch((error: unknown) => {
        entry.pending = undefined;
        entry.lastError = error instanceof Error ? error.message : String(error);
        this.options.logger.warn({ identity, err: entry.lastError }, 'certificate request failed; keeping the current certificate and retrying');
        this.scheduleRenewal(identity, entry, this.options.retryMs ?? 5_000);
        if (entry.material && entry.notAfter && entry.notAfter.getTime() > Date.now()) return entry.material;
        throw new CertificateUnavailable(identity, error);
      });
    return entry.pending;
  }

  private scheduleRenewal(identity: string, entry: Entry, delayMs: number): void {
    if (this.closed) return;
    if (entry.timer) clearTimeout(entry.timer);
    // Renew at half-life (Istio's default); never schedule in the past or beyond setTimeout's range.
    entry.timer = setTimeout(() => {
      if (this.entries.get(identity) === entry && !this.closed) this.fetch(identity, entry).catch(() => undefined);
    }, Math.min(Math.max(delayMs, 1_000), 2 ** 31 - 1));
    entry.timer.unref();
  }
}
