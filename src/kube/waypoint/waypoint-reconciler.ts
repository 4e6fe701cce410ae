// Turns each Gateway of class istio-waypoint into its ServiceAccount, Service and Deployment (server-side applied, owned by
// the Gateway so deleting it cleans up) and reports Accepted/Programmed on it. Only the leader writes.
import { checkResource, formatPath, WAYPOINT_CLASS, WAYPOINT_FOR_LABEL, type GatewaySpec, type Resource } from '../../api';
import type { ConfigChangeListener, ConfigSnapshot } from '../../controlplane/sources/config-source';
import type { Logger } from '../../telemetry/logger';
import { reasonOf } from '../api-errors';
import type { KubeConnection } from '../connection';
import { applyObject } from '../server-side-apply';
import { sameStatus, waypointStatus, type GatewayAddress, type GatewayStatus, type WaypointOutcome } from './waypoint-status';
import { WaypointTemplates } from './waypoint-templates';

/** The field manager that owns what the reconciler writes. */
export const WAYPOINT_FIELD_MANAGER = 'ambit-waypoint-controller';

/** Gateways come from the control plane's informers: no watch of its own. */
export interface GatewaySource {
  snapshot(): ConfigSnapshot;
  onChange(listener: ConfigChangeListener): () => void;
}

export interface Leadership {
  isLeader(): boolean;
  onLeadershipChange(listener: (leading: boolean) => void): () => void;
}

export interface WaypointReconcilerOptions {
  readonly connection: KubeConnection;
  readonly source: GatewaySource;
  /** The one ambit image; waypoints run it too. */
  readonly image: string;
  /** host:port waypoints dial for xDS and certificates. */
  readonly controlPlaneAddress: string;
  readonly trustDomain: string;
  readonly templates?: WaypointTemplates;
  /** Absent: this replica always writes (a single control plane). */
  readonly leadership?: Leadership;
  /** Re-apply everything this often, repairing objects someone changed or deleted (default 5 min). */
  readonly resyncMs?: number;
  /** Retry a Gateway whose apply failed after this long (default 5 s). */
  readonly retryMs?: number;
  readonly logger: Logger;
  readonly now?: () => Date;
}

function isWaypoint(object: Resource | undefined): object is Resource<GatewaySpec> {
  return object?.kind === 'Gateway' && (object.spec as GatewaySpec | undefined)?.gatewayClassName === WAYPOINT_CLASS;
}

export class WaypointReconciler {
  private readonly templates: WaypointTemplates;
  private readonly queue = new Set<string>();
  /** What each Gateway was last reconciled as; status writes change the resourceVersion but not this. */
  private readonly reconciled = new Map<string, string>();
  private readonly unsubscribe: (() => void)[] = [];
  private draining: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private running = false;

  constructor(private readonly options: WaypointReconcilerOptions) {
    this.templates = options.templates ?? WaypointTemplates.load();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe.push(
      this.options.source.onChange((_snapshot, changed) => {
        for (const key of changed) if (key.startsWith('Gateway/')) this.enqueue(key);
      }),
    );
    if (this.options.leadership) {
      this.unsubscribe.push(
        this.options.leadership.onLeadershipChange((leading) => {
          // A new leader cannot know what its predecessor finished: it goes over everything once.
          if (leading) this.enqueueAll(true);
        }),
      );
    }
    this.enqueueAll(false);
    const resync = () => {
      this.enqueueAll(true);
      this.resyncTimer = setTimeout(resync, this.options.resyncMs ?? 300_000);
      this.resyncTimer.unref();
    };
    this.resyncTimer = setTimeout(resync, this.options.resyncMs ?? 300_000);
    this.resyncTimer.unref();
  }

  stop(): void {
    this.running = false;
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.queue.clear();
  }

  /** Resolves once nothing is queued or in flight (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private leading(): boolean {
    return this.options.leadership?.isLeader() ?? true;
  }

  private enqueueAll(force: boolean): void {
    for (const [key, object] of this.options.source.snapshot().objects) {
      if (!isWaypoint(object)) continue;
      if (force) this.reconciled.delete(key);
      this.enqueue(key);
    }
  }

  private enqueue(key: string): void {
    if (!this.running) return;
    this.queue.add(key);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0 && this.running) {
      const [key] = this.queue;
      this.queue.delete(key);
      if (!this.leading()) continue;
      try {
        await this.reconcile(key);
      } catch (error) {
        this.options.logger.error({ gateway: key, err: error }, 'waypoint reconcile failed unexpectedly');
      }
    }
  }

  private signature(gateway: Resource): string {
    return JSON.stringify([gateway.metadata.uid, gateway.metadata.generation, gateway.metadata.labels?.[WAYPOINT_FOR_LABEL], gateway.spec, this.options.image]);
  }

  private async reconcile(key: string): Promise<void> {
    const gateway = this.options.source.snapshot().objects.get(key);
    if (!isWaypoint(gateway)) {
      // Deleted (garbage collection removes what it owned) or no longer a waypoint.
      this.reconciled.delete(key);
      return;
    }
    const signature = this.signature(gateway);
    if (this.reconciled.get(key) === signature) return;
    const name = gateway.metadata.name;
    const namespace = gateway.metadata.namespace ?? 'default';
    const checked = checkResource(
      { apiVersion: gateway.apiVersion, kind: gateway.kind, metadata: { name, namespace, labels: gateway.metadata.labels ?? {} }, spec: gateway.spec },
      { mode: 'kubernetes' },
    );
    if (checked.problems.length > 0) {
      const message = checked.problems.map((problem) => `${formatPath(problem.path)}: ${problem.reason}`).join('; ');
      this.options.logger.warn({ gateway: `${namespace}/${name}`, problems: message }, 'waypoint Gateway is invalid; nothing deployed');
      await this.report(gateway, { kind: 'invalid', message });
      this.reconciled.set(key, signature);
      return;
    }
    let outcome: WaypointOutcome;
    try {
      outcome = { kind: 'programmed', address: await this.apply(gateway) };
    } catch (error) {
      outcome = { kind: 'pending', message: `applying the waypoint failed: ${reasonOf(error)}` };
      this.options.logger.warn({ gateway: `${namespace}/${name}`, reason: reasonOf(error) }, 'applying the waypoint failed; will retry');
      this.retryLater(key);
    }
    await this.report(gateway, outcome);
    if (outcome.kind === 'programmed') {
      this.reconciled.set(key, signature);
      this.options.logger.info({ gateway: `${namespace}/${name}`, address: outcome.address.value }, 'waypoint programmed');
    }
  }

  /** Applies the three objects and returns the address ztunnels reach the waypoint at. */
  private async apply(gateway: Resource<GatewaySpec>): Promise<GatewayAddress> {
    const name = gateway.metadata.name;
    const namespace = gateway.metadata.namespace ?? 'default';
    const objects = this.templates.render(
      {
        name,
        namespace,
        image: this.options.image,
        controlPlaneAddress: this.options.controlPlaneAddress,
        trustDomain: this.options.trustDomain,
        waypointFor: gateway.metadata.labels?.[WAYPOINT_FOR_LABEL] ?? 'service',
      },
      { apiVersion: gateway.apiVersion, kind: 'Gateway', name, uid: gateway.metadata.uid ?? '' },
    );
    let address: GatewayAddress = { type: 'Hostname', value: `${name}.${namespace}.svc.cluster.local` };
    for (const object of objects) {
      const stored = await applyObject(this.options.connection, object, WAYPOINT_FIELD_MANAGER);
      const clusterIP = stored.kind === 'Service' ? (stored.spec as { clusterIP?: string } | undefined)?.clusterIP : undefined;
      if (clusterIP && clusterIP !== 'None') address = { type: 'IPAddress', value: clusterIP };
    }
    return address;
  }

  private async report(gateway: Resource<GatewaySpec>, outcome: WaypointOutcome): Promise<void> {
    const previous = gateway.status as GatewayStatus | undefined;
    const next = waypointStatus(previous, gateway.metadata.generation, outcome, (this.options.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    if (sameStatus(previous, next)) return;
    const [group, version] = gateway.apiVersion.split('/');
    try {
      await this.options.connection.custom().patchNamespacedCustomObjectStatus(
        { group, version, namespace: gateway.metadata.namespace ?? 'default', plural: 'gateways', name: gateway.metadata.name, body: { status: next } },
        this.options.connection.lib.setHeaderOptions('Content-Type', this.options.connection.lib.PatchStrategy.MergePatch),
      );
    } catch (error) {
      this.options.logger.warn({ gateway: `${gateway.metadata.namespace}/${gateway.metadata.name}`, reason: reasonOf(error) }, 'could not write the waypoint Gateway status');
    }
  }

  private retryLater(key: string): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.enqueue(key);
    }, this.options.retryMs ?? 5_000);
    timer.unref();
    this.retryTimers.add(timer);
  }
}
