// The server's state for one resource type on one delta-xDS stream: what the client subscribed to, what it
// holds, what it ACKed, the one response in flight, and whether a push is owed. No I/O here.
import type { DeltaDiscoveryRequest } from '../../xds/types';
import { isEmptyPlan, planDelta, planDeltaFor, type DeltaPlan } from './delta-plan';
import type { CatalogSnapshot, XdsNackRecord, XdsTypeDebug } from './types';

const WILDCARD = '*';

/** A response sent and not yet ACKed or NACKed. */
export interface InFlightResponse {
  readonly nonce: string;
  readonly versions: ReadonlyMap<string, string>;
  readonly removals: readonly string[];
}

export type AckOutcome =
  | { readonly kind: 'none' }
  | { readonly kind: 'stale'; readonly nonce: string }
  | { readonly kind: 'ack'; readonly nonce: string }
  | { readonly kind: 'nack'; readonly record: XdsNackRecord };

export class TypeSubscription {
  private wildcard = false;
  private readonly names = new Set<string>();
  private readonly known = new Map<string, string>();
  private readonly acked = new Map<string, string>();
  private readonly forced = new Set<string>();
  private inFlight: InFlightResponse | undefined;
  private lastNack: XdsNackRecord | undefined;
  /** The catalog changed since the last response was computed. */
  private dirty = false;
  /**
   * What may differ from what the client holds: the names the catalog reported changed, or 'all' after a
   * (re)subscription or a change reported without names — then the next plan scans the whole snapshot.
   */
  private changedNames: Set<string> | 'all' = 'all';
  /** The client asked for something (first request, new names) and must get a response even if it is empty. */
  private mustRespond = false;
  private seenFirstRequest = false;

  constructor(readonly typeUrl: string) {}

  /** Applies the ACK/NACK part of a request. Call before applySubscription for the same request. */
  applyAck(request: DeltaDiscoveryRequest, now: Date): AckOutcome {
    const nonce = request.responseNonce;
    if (nonce === '') return { kind: 'none' };
    const pending = this.inFlight;
    // Envoy may (N)ACK an older response after we sent a newer one; only the pending nonce counts.
    if (!pending || pending.nonce !== nonce) return { kind: 'stale', nonce };
    this.inFlight = undefined;
    if (request.errorDetail) {
      // The client kept its old state; we still do not resend these versions (the next change will).
      this.lastNack = {
        nonce,
        code: request.errorDetail.code,
        message: request.errorDetail.message,
        at: now.toISOString(),
        rejectedVersions: Object.fromEntries(pending.versions),
        rejectedRemovals: [...pending.removals],
      };
      return { kind: 'nack', record: this.lastNack };
    }
    for (const [name, version] of pending.versions) this.acked.set(name, version);
    for (const name of pending.removals) this.acked.delete(name);
    return { kind: 'ack', nonce };
  }

  /** Applies subscribe/unsubscribe and, on the first request of the type, initial_resource_versions. */
  applySubscription(request: DeltaDiscoveryRequest): void {
    const first = !this.seenFirstRequest;
    this.seenFirstRequest = true;
    const subscribe = request.resourceNamesSubscribe;
    if (first || subscribe.length > 0 || request.resourceNamesUnsubscribe.length > 0) this.changedNames = 'all';
    if (first) {
      this.mustRespond = true;
      if (subscribe.length === 0) this.wildcard = true;
      for (const [name, version] of Object.entries(request.initialResourceVersions)) {
        this.known.set(name, version);
        this.acked.set(name, version);
      }
    }
    for (const name of subscribe) {
      if (name === WILDCARD) {
        this.wildcard = true;
        continue;
      }
      this.names.add(name);
      // Envoy's rule: every name in resource_names_subscribe gets an answer, even if the client seems current;
      // on the first request, names the client reports holding are the exception.
      if (!first || !(name in request.initialResourceVersions)) this.forced.add(name);
      this.mustRespond = true;
    }
    for (const name of request.resourceNamesUnsubscribe) {
      if (name === WILDCARD) {
        this.wildcard = false;
        continue;
      }
      this.names.delete(name);
      this.forced.delete(name);
    }
    if (!this.wildcard) {
      // Anything no longer of interest has been dropped by the client; forget it so a re-subscribe resends it.
      for (const name of [...this.known.keys()]) {
        if (!this.names.has(name)) {
          this.known.delete(name);
          this.acked.delete(name);
        }
      }
    }
  }

  /** The catalog changed: `names` when the catalog knows which, else anything may have. */
  markDirty(names?: ReadonlySet<string>): void {
    this.dirty = true;
    if (names === undefined) this.changedNames = 'all';
    else if (this.changedNames !== 'all') for (const name of names) this.changedNames.add(name);
  }

  /** True when a response may be sent now: one is owed and none is in flight. */
  readyToPush(): boolean {
    return this.inFlight === undefined && (this.dirty || this.mustRespond);
  }

  /**
   * Computes the next response against `snapshot`. Returns undefined when nothing is owed; otherwise the plan
   * the caller must send, then report with `sent()`.
   */
  plan(snapshot: CatalogSnapshot): DeltaPlan | undefined {
    const input = { wildcard: this.wildcard, names: this.names, known: this.known, forced: this.forced, snapshot };
    const plan = this.changedNames === 'all' ? planDelta(input) : planDeltaFor(input, this.changedNames);
    if (isEmptyPlan(plan) && !this.mustRespond) {
      this.dirty = false;
      this.changedNames = new Set();
      return undefined;
    }
    return plan;
  }

  /** Records that a response carrying `plan` (with the given versions) went out under `nonce`. */
  sent(nonce: string, versions: ReadonlyMap<string, string>, removals: readonly string[]): void {
    for (const [name, version] of versions) this.known.set(name, version);
    for (const name of removals) this.known.delete(name);
    this.forced.clear();
    this.changedNames = new Set();
    this.inFlight = { nonce, versions, removals };
    this.dirty = false;
    this.mustRespond = false;
  }

  debug(): XdsTypeDebug {
    return {
      typeUrl: this.typeUrl,
      wildcard: this.wildcard,
      names: [...this.names].sort(),
      acked: Object.fromEntries([...this.acked].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      ...(this.inFlight ? { pendingNonce: this.inFlight.nonce } : {}),
      ...(this.lastNack ? { lastNack: this.lastNack } : {}),
    };
  }
}
