// The CNI agent's view of the cluster on Kubernetes: informers on Namespaces and on this node's Pods only, answering
// podInfo from the synced snapshot and telling the agent only about changes that can move a pod in or out of capture.
import type { PodSpec, Resource } from '../../api';
import { KubernetesSource, toResource, WATCHED_KINDS, type InformerBackoff, type WatchedKind } from '../../controlplane/sources/kubernetes';
import type { ConfigSnapshot } from '../../controlplane/sources/config-source';
import { reasonOf, statusOf } from '../../kube/api-errors';
import type { KubeConnection } from '../../kube/connection';
import type { Logger } from '../../telemetry/logger';
import type { PodInfo, PodLabelSource } from '../agent';

export interface KubernetesPodLabelSourceOptions {
  readonly connection: KubeConnection;
  /** The node the agent serves: only pods with this spec.nodeName are watched. */
  readonly nodeName: string;
  readonly logger: Logger;
  /** Events within this window become one change (default 50 ms, as the control plane's). */
  readonly batchMs?: number;
  readonly backoff?: InformerBackoff;
}

/** One of this node's pods as reconcile needs it. */
export interface NodePod {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly hostNetwork: boolean;
  /** status.phase; '' when the kubelet has not reported one yet. */
  readonly phase: string;
  /** status.podIPs (status.podIP when the list is absent). */
  readonly ips: readonly string[];
}

interface PodStatus {
  phase?: string;
  podIP?: string;
  podIPs?: { ip?: string }[];
}

function kindOf(kind: string): WatchedKind {
  const found = WATCHED_KINDS.find((watched) => watched.kind === kind && watched.apiVersion === 'v1');
  if (!found) throw new Error(`the Kubernetes source does not know the core kind ${kind}`);
  return found;
}

/** Namespaces (their labels enrol pods) and the node's own pods: an agent never needs another node's. */
export function podLabelSourceKinds(nodeName: string): WatchedKind[] {
  return [kindOf('Namespace'), { ...kindOf('Pod'), fieldSelector: `spec.nodeName=${nodeName}` }];
}

export function nodePodOf(pod: Resource): NodePod {
  const spec = (pod.spec ?? {}) as Partial<PodSpec>;
  const status = (pod.status ?? {}) as PodStatus;
  const listed = (status.podIPs ?? []).map((entry) => entry.ip).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  const ips = listed.length > 0 ? listed : status.podIP ? [status.podIP] : [];
  return { name: pod.metadata.name, namespace: pod.metadata.namespace ?? 'default', uid: pod.metadata.uid ?? '', hostNetwork: spec.hostNetwork === true, phase: status.phase ?? '', ips };
}

/**
 * What of an object can change a capture decision: for pods their uid (a replaced pod), labels and annotations; for
 * namespaces labels and annotations. Status and spec churn leaves it unchanged.
 */
function captureSignature(object: Resource | undefined): string | undefined {
  if (!object || (object.kind !== 'Pod' && object.kind !== 'Namespace')) return undefined;
  return JSON.stringify([object.metadata.uid ?? '', object.metadata.labels ?? {}, object.metadata.annotations ?? {}]);
}

export class KubernetesPodLabelSource implements PodLabelSource {
  private readonly source: KubernetesSource;
  private readonly listeners = new Set<() => void>();
  private readonly signatures = new Map<string, string>();
  private readonly podKind = kindOf('Pod');
  private readonly namespaceKind = kindOf('Namespace');
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: KubernetesPodLabelSourceOptions) {
    this.source = new KubernetesSource({
      connection: options.connection,
      logger: options.logger,
      kinds: podLabelSourceKinds(options.nodeName),
      ...(options.batchMs === undefined ? {} : { batchMs: options.batchMs }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    });
  }

  /** Resolves once namespaces and the node's pods have been listed; rejects with SourceStopped if stop() came first. */
  async start(): Promise<void> {
    await this.source.start();
    for (const [key, object] of this.source.snapshot().objects) this.signatures.set(key, captureSignature(object) ?? '');
    this.unsubscribe = this.source.onChange((snapshot, changed) => this.changed(snapshot, changed));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.source.stop();
  }

  /**
   * From the snapshot; a pod not in it yet (the kubelet can create its sandbox before our watch delivers it) is read
   * from the API server once, so a fresh pod's CNI ADD does not have to wait for the runtime's retry.
   */
  async podInfo(namespace: string, name: string): Promise<PodInfo | undefined> {
    const objects = this.source.snapshot().objects;
    const pod = objects.get(`Pod/${namespace}/${name}`) ?? (await this.readPod(namespace, name));
    if (!pod) return undefined;
    const ns = objects.get(`Namespace/${namespace}`) ?? (await this.readNamespace(namespace));
    const spec = (pod.spec ?? {}) as Partial<PodSpec>;
    return {
      uid: pod.metadata.uid ?? '',
      labels: pod.metadata.labels ?? {},
      annotations: pod.metadata.annotations ?? {},
      serviceAccount: spec.serviceAccountName ?? spec.serviceAccount ?? '',
      namespaceLabels: ns?.metadata.labels ?? {},
      hostNetwork: spec.hostNetwork === true,
    };
  }

  /** The node's pods as of the latest snapshot. */
  nodePods(): NodePod[] {
    const pods: NodePod[] = [];
    for (const object of this.source.snapshot().objects.values()) if (object.kind === 'Pod') pods.push(nodePodOf(object));
    return pods;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(snapshot: ConfigSnapshot, changed: ReadonlySet<string>): void {
    let relevant = false;
    for (const key of changed) {
      const next = captureSignature(snapshot.objects.get(key));
      if (next === this.signatures.get(key)) continue;
      relevant = true;
      if (next === undefined) this.signatures.delete(key);
      else this.signatures.set(key, next);
    }
    if (!relevant) return;
    for (const listener of this.listeners) listener();
  }

  private async readPod(namespace: string, name: string): Promise<Resource | undefined> {
    try {
      const raw = await this.options.connection.core().readNamespacedPod({ namespace, name });
      const pod = toResource(raw, this.podKind);
      // Another node's pod (or one not yet scheduled) is not this agent's to capture.
      return (pod.spec as Partial<PodSpec> | undefined)?.nodeName === this.options.nodeName ? pod : undefined;
    } catch (error) {
      if (statusOf(error) !== 404) this.options.logger.warn({ pod: `${namespace}/${name}`, reason: reasonOf(error) }, 'cannot read a pod the informer has not delivered yet');
      return undefined;
    }
  }

  private async readNamespace(name: string): Promise<Resource | undefined> {
    try {
      return toResource(await this.options.connection.core().readNamespace({ name }), this.namespaceKind);
    } catch (error) {
      if (statusOf(error) !== 404) this.options.logger.warn({ namespace: name, reason: reasonOf(error) }, 'cannot read a namespace the informer has not delivered yet');
      return undefined;
    }
  }
}
