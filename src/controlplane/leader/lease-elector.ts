// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: every replica serves reads,
// only the holder of the Lease writes (Gateway status, waypoint Deployments).
import type { V1Lease } from '@kubernetes/client-node';
import { reasonOf, statusOf } from '../../kube/api-errors';
import type { KubeConnection } from '../../kube/connection';
import type { Logger } from '../../telemetry/logger';

export interface LeaseElectorOptions {
  readonly connection: KubeConnection;
  readonly namespace: string;
  /** The Lease's name; all replicas of one control plane use the same. */
  readonly name: string;
  /** This replica's holderIdentity, unique among replicas (the pod name plus a random suffix). */
  readonly identity: string;
  /** How long a Lease holds without renewal before others may take it (default 15 s). */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives leadership up (default 10 s). */
  readonly renewDeadlineMs?: number;
  /** Time between attempts (default 2 s). */
  readonly retryPeriodMs?: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

export type LeadershipListener = (leading: boolean) => void;

export class LeaseElector {
  private leading = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenewal = 0;
  /** The Lease record last seen and when it was first seen, measured on our clock (never trust the writer's clock). */
  private observed = '';
  private observedAt = 0;
  private readonly listeners = new Set<LeadershipListener>();
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => number;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeaseElectorOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.now = options.now ?? Date.now;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new RangeError('leader election needs leaseDuration > renewDeadline > retryPeriod');
    }
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Called with true when this replica starts leading and false when it stops; returns an unsubscribe function. */
  onLeadershipChange(listener: LeadershipListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  /** Stops competing; a leader releases the Lease so another replica takes over at once instead of after it expires. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight;
    if (this.leading) {
      await this.release();
      this.setLeading(false);
    }
  }

  private loop(): void {
    if (!this.running) return;
    this.inFlight = this.attempt();
    void this.inFlight.then(() => {
      if (!this.running) return;
      // Followers retry with jitter so replicas do not stampede the API server together.
      const delay = this.leading ? this.retryPeriodMs : this.retryPeriodMs * (1 + Math.random() * 0.2);
      this.timer = setTimeout(() => this.loop(), delay);
      this.timer.unref();
    });
  }

  private async attempt(): Promise<void> {
    const outcome = await this.tryAcquireOrRenew();
    if (!this.running) return;
    if (outcome === 'held') {
      this.lastRenewal = this.now();
      this.setLeading(true);
    } else if (this.leading && (outcome === 'lost' || this.now() - this.lastRenewal > this.renewDeadlineMs)) {
      this.options.logger.warn({ lease: this.leaseName, identity: this.options.identity, outcome }, 'lost leadership; stopping writes');
      this.setLeading(false);
    }
  }

  private get leaseName(): string {
    return `${this.options.namespace}/${this.options.name}`;
  }

  /** 'held' when we hold the Lease now, 'lost' when someone else validly does, 'failed' when we could not tell. */
  private async tryAcquireOrRenew(): Promise<'held' | 'lost' | 'failed'> {
    const { namespace, name, identity } = this.options;
    const api = this.options.connection.coordination();
    const now = this.now();
    const stamp = new this.options.connection.lib.V1MicroTime(now);
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (statusOf(error) !== 404) return this.failure('read', error);
      try {
        await api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000), acquireTime: stamp, renewTime: stamp, leaseTransitions: 0 },
          },
        });
        this.options.logger.info({ lease: this.leaseName, identity }, 'created the lease; leading');
        return 'held';
      } catch (createError) {
        return statusOf(createError) === 409 ? 'lost' : this.failure('create', createError);
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const record = `${holder}|${String(spec.renewTime ?? '')}|${spec.leaseDurationSeconds ?? ''}`;
    if (record !== this.observed) {
      this.observed = record;
      this.observedAt = now;
    }
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.leaseDurationMs / 1000)) * 1000;
    if (holder !== '' && holder !== identity && this.observedAt + durationMs > now) return 'lost';
    const transitions = spec.leaseTransitions ?? 0;
    const body: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        renewTime: stamp,
        acquireTime: holder === identity && spec.acquireTime ? spec.acquireTime : stamp,
        leaseTransitions: holder === identity ? transitions : transitions + 1,
      },
    };
    try {
      // The update carries the resourceVersion we read: if another replica wrote in between, it fails with 409.
      await api.replaceNamespacedLease({ name, namespace, body });
    } catch (error) {
      return statusOf(error) === 409 ? 'lost' : this.failure('update', error);
    }
    if (holder !== identity) this.options.logger.info({ lease: this.leaseName, identity, previous: holder || undefined }, 'acquired the lease; leading');
    return 'held';
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    const api = this.options.connection.coordination();
    try {
      const lease = await api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      const stamp = new this.options.connection.lib.V1MicroTime(this.now());
      await api.replaceNamespacedLease({ name, namespace, body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: stamp } } });
      this.options.logger.info({ lease: this.leaseName, identity }, 'released the lease');
    } catch (error) {
      this.failure('release', error);
    }
  }

  private failure(step: string, error: unknown): 'failed' {
    this.options.logger.warn({ lease: this.leaseName, step, status: statusOf(error), reason: reasonOf(error) }, 'leader election could not reach the lease');
    return 'failed';
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    for (const listener of this.listeners) listener(leading);
  }
}
