// The per-node CNI agent: decides which pods are ambient, installs or removes their in-pod capture, and keeps the node's ztunnel told — on plugin calls, on label changes and on start.
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../telemetry/logger';
import { silentLogger } from '../telemetry/logger';
import type { AgentReply, PluginCommand, PluginRequest } from './agent-api';
import { AgentSocketServer } from './agent-server';
import { ambientDecision, type AmbientReason, type Labels } from './ambient';
import { ZtunnelEnrollmentClient, type EnrollmentResult } from './enrollment-client';
import { AgentRequestError, InvalidAgentConfig } from './errors';
import { hasInpodRules, installInpodRules, removeInpodRules, type InpodRuleOptions } from './inpod-rules';

/** What the agent needs to know about a pod to decide on capture. */
export interface PodInfo {
  readonly uid: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  /** '' means "default". */
  readonly serviceAccount: string;
  readonly namespaceLabels: Labels;
  readonly hostNetwork?: boolean;
}

/**
 * Cluster state as the agent reads it (the local store, later Kubernetes informers). It must answer from a
 * synced view before the agent starts, or reconcile would see running pods as unknown.
 */
export interface PodLabelSource {
  podInfo(namespace: string, name: string): PodInfo | undefined | Promise<PodInfo | undefined>;
  /** Calls `listener` after any pod or namespace label/annotation change; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

/** A pod sandbox already running on this node, for reconcile on start. */
export interface RunningPod {
  readonly name: string;
  readonly namespace: string;
  /** '' or absent: take the uid from the PodLabelSource. */
  readonly uid?: string;
  /** netns name or absolute path. */
  readonly netns: string;
  readonly ips: readonly string[];
}

export interface CniAgentConfig {
  /** For logs only. */
  readonly nodeName: string;
  /** Unix socket the plugin talks to (its `agentSocket` config). */
  readonly agentSocket: string;
  /** The node ztunnel's enrollment socket. */
  readonly ztunnelSocket: string;
  /** Node addresses kubelet-style probes come from; they bypass capture. */
  readonly probeSourceAddresses: readonly string[];
  readonly pods: PodLabelSource;
  /** Pods currently running on this node. */
  readonly listPods: () => Promise<readonly RunningPod[]>;
  /** How long an ADD waits for the ztunnel's ack before answering "pending"; default 5000. */
  readonly ackTimeoutMs?: number;
  readonly reconnectBackoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly logger?: Logger;
}

/** A pod the agent has seen (via ADD or reconcile), ambient or not, so label changes can move it in or out. */
export interface KnownPod {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  /** Absolute netns path. */
  readonly netns: string;
  readonly ips: readonly string[];
  /** Capture rules are installed and the ztunnel was told (it may not have acked yet). */
  readonly captured: boolean;
  /** The ztunnel acknowledged the pod on its current connection. */
  readonly acked: boolean;
  readonly reason: AmbientReason | 'unknown';
}

interface PodRecord {
  uid: string;
  name: string;
  namespace: string;
  netns: string;
  ips: readonly string[];
  captured: boolean;
  reason: AmbientReason | 'unknown';
}

function netnsPath(nameOrPath: string): string {
  return nameOrPath.startsWith('/') ? nameOrPath : path.join('/var/run/netns', nameOrPath);
}

export function validateAgentConfig(config: CniAgentConfig): void {
  if (typeof config.nodeName !== 'string' || config.nodeName === '') throw new InvalidAgentConfig('nodeName', 'must be a non-empty string');
  for (const field of ['agentSocket', 'ztunnelSocket'] as const) {
    if (typeof config[field] !== 'string' || !config[field].startsWith('/')) throw new InvalidAgentConfig(field, 'must be an absolute path');
  }
  if (config.agentSocket === config.ztunnelSocket) throw new InvalidAgentConfig('ztunnelSocket', 'must differ from agentSocket');
  if (!Array.isArray(config.probeSourceAddresses)) throw new InvalidAgentConfig('probeSourceAddresses', 'must be an array of IPv4 addresses');
  config.probeSourceAddresses.forEach((address, index) => {
    if (!net.isIPv4(address)) throw new InvalidAgentConfig(`probeSourceAddresses[${index}]`, `${JSON.stringify(address)} is not an IPv4 address`);
  });
  if (typeof config.pods?.podInfo !== 'function' || typeof config.pods?.onChange !== 'function') throw new InvalidAgentConfig('pods', 'must implement podInfo() and onChange()');
  if (typeof config.listPods !== 'function') throw new InvalidAgentConfig('listPods', 'must be a function');
  if (config.ackTimeoutMs !== undefined && (!Number.isInteger(config.ackTimeoutMs) || config.ackTimeoutMs <= 0)) throw new InvalidAgentConfig('ackTimeoutMs', 'must be a positive integer');
}

export class CniAgent {
  readonly ztunnel: ZtunnelEnrollmentClient;
  private readonly known = new Map<string, PodRecord>();
  /** Per pod key, the tail of its chain of operations: ADD, DEL and re-evaluation of one pod never interleave. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly server: AgentSocketServer;
  private readonly logger: Logger;
  private readonly rules: InpodRuleOptions;
  private unsubscribe: (() => void) | undefined;
  private reevaluating: Promise<void> | undefined;
  private reevaluateAgain = false;
  private stopping = false;

  constructor(private readonly config: CniAgentConfig) {
    validateAgentConfig(config);
    this.logger = (config.logger ?? silentLogger()).child({ node: config.nodeName });
    this.rules = { probeSourceAddresses: [...config.probeSourceAddresses] };
    this.ztunnel = new ZtunnelEnrollmentClient({ socketPath: config.ztunnelSocket, ackTimeoutMs: config.ackTimeoutMs, backoff: config.reconnectBackoff, logger: this.logger });
    this.server = new AgentSocketServer(config.agentSocket, (command, request) => this.handle(command, request), this.logger);
  }

  /**
   * Reconciles the node's running pods (enrols ambient ones, strips stale rules from the rest), then connects to the
   * ztunnel (whose first replay carries every enrolled pod), then serves the plugin and follows label changes.
   */
  async start(): Promise<void> {
    // Subscribe before reconcile: a label change that lands while reconcile runs must not wait for the next change.
    let following = false;
    let changedMeanwhile = false;
    this.unsubscribe = this.config.pods.onChange(() => {
      if (following) void this.reevaluate();
      else changedMeanwhile = true;
    });
    try {
      await this.reconcile();
      this.ztunnel.start();
      await this.server.listen();
    } catch (err) {
      this.unsubscribe();
      this.ztunnel.close();
      throw err;
    }
    following = true;
    if (changedMeanwhile) void this.reevaluate();
    this.logger.info({ socket: this.config.agentSocket, pods: this.known.size }, 'CNI agent started');
  }

  /** Stops serving and disconnects; capture stays in place in the pods (a restarted agent picks them up). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    await this.server.close();
    await this.reevaluating;
    await Promise.all([...this.locks.values()].map((tail) => tail.catch(() => undefined)));
    this.ztunnel.close();
  }

  knownPods(): KnownPod[] {
    return [...this.known.values()].map((pod) => ({ ...pod, acked: this.ztunnel.isAcked(pod.uid) }));
  }

  /** One plugin request; throws AgentRequestError to refuse it. */
  handle(command: PluginCommand, request: PluginRequest): Promise<AgentReply> {
    if (this.stopping) return Promise.reject(new AgentRequestError('CNI_AGENT_STOPPING', `the CNI agent of ${this.config.nodeName} is stopping`, true));
    const key = `${request.podNamespace}/${request.podName}`;
    if (command === 'add') return this.serialize(key, () => this.add(key, request));
    if (command === 'del') return this.serialize(key, () => this.del(key, request));
    return this.serialize(key, () => this.check(key, request));
  }

  /** Re-decides every known pod against current labels, enrolling or releasing as needed; coalesces overlapping calls. */
  reevaluate(): Promise<void> {
    if (this.reevaluating) {
      this.reevaluateAgain = true;
      return this.reevaluating;
    }
    this.reevaluating = (async () => {
      do {
        this.reevaluateAgain = false;
        await Promise.all([...this.known.keys()].map((key) => this.serialize(key, () => this.reevaluatePod(key))));
      } while (this.reevaluateAgain && !this.stopping);
    })().finally(() => {
      this.reevaluating = undefined;
    });
    return this.reevaluating;
  }

  private serialize<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    const tail = next.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return next;
  }

  private async add(key: string, request: PluginRequest): Promise<AgentReply> {
    const info = await this.config.pods.podInfo(request.podNamespace, request.podName);
    if (!info) throw new AgentRequestError('CNI_POD_NOT_KNOWN', `pod ${key} is not in the cluster state the agent reads (yet); retry once it is`, true);
    const uid = request.podUid || info.uid;
    const decision = ambientDecision(info.labels, info.namespaceLabels, info.annotations, info.hostNetwork);
    // An ADD without a DEL in between (a new sandbox, or a runtime retry): undo the old capture unless it is reused as is.
    const previous = this.known.get(key);
    if (previous?.captured && (previous.uid !== uid || previous.netns !== request.netns || !decision.ambient)) await this.release(previous, `replaced by a new sandbox (uid ${uid})`);
    const pod: PodRecord = { uid, name: request.podName, namespace: request.podNamespace, netns: request.netns, ips: request.ips, captured: false, reason: decision.reason };
    this.known.set(key, pod);
    if (!decision.ambient) return { result: 'not-ambient', detail: decision.reason };
    const result = await this.enrol(pod, info);
    if (result.status === 'acked') return { result: 'enrolled', detail: decision.reason };
    return { result: 'pending', detail: `${decision.reason}; the ztunnel gets the pod when it connects (${result.status === 'pending' ? result.why : result.status})` };
  }

  private async del(key: string, request: PluginRequest): Promise<AgentReply> {
    const pod = this.known.get(key);
    if (pod && (request.podUid === '' || request.podUid === pod.uid)) {
      await this.release(pod, 'CNI DEL');
      this.known.delete(key);
      return { result: 'released' };
    }
    // Unknown here (a repeated DEL, or a sandbox replaced since): still undo whatever the request names.
    if (request.podUid !== '' && this.ztunnel.enrolled().some((enrolled) => enrolled.uid === request.podUid)) await this.ztunnel.del(request.podUid);
    if (request.netns !== '' && request.netns !== pod?.netns) await removeInpodRules(request.netns);
    return { result: 'not-known' };
  }

  private async check(key: string, request: PluginRequest): Promise<AgentReply> {
    const info = await this.config.pods.podInfo(request.podNamespace, request.podName);
    if (!info) throw new AgentRequestError('CNI_POD_NOT_KNOWN', `pod ${key} is not in the cluster state the agent reads`, true);
    const decision = ambientDecision(info.labels, info.namespaceLabels, info.annotations, info.hostNetwork);
    if (!decision.ambient) return { result: 'ok', detail: decision.reason };
    if (!(await hasInpodRules(request.netns, this.rules))) {
      throw new AgentRequestError('CNI_CAPTURE_MISSING', `pod ${key} is ambient (${decision.reason}) but its netns ${request.netns} lacks ambit's capture rules`, false);
    }
    const uid = request.podUid || info.uid;
    if (!this.ztunnel.isAcked(uid)) throw new AgentRequestError('CNI_CAPTURE_MISSING', `pod ${key} is captured but the node's ztunnel has not acknowledged it (connected: ${this.ztunnel.connected})`, true);
    return { result: 'ok', detail: decision.reason };
  }

  /** Rules first, then the ztunnel: the pod is never enrolled without capture in place. Throws AgentRequestError. */
  private async enrol(pod: PodRecord, info: PodInfo): Promise<EnrollmentResult> {
    const key = `${pod.namespace}/${pod.name}`;
    try {
      await installInpodRules(pod.netns, this.rules);
    } catch (err) {
      // A half-applied install (iptables in, ip rule failed) must not leave the pod captured with nobody told.
      await removeInpodRules(pod.netns).catch(() => undefined);
      throw new AgentRequestError('CNI_CAPTURE_SETUP_FAILED', `cannot install capture rules for pod ${key} in ${pod.netns}: ${err instanceof Error ? err.message : String(err)}`, false, { cause: err });
    }
    pod.captured = true;
    const result = await this.ztunnel.add({ uid: pod.uid, name: pod.name, namespace: pod.namespace, serviceAccount: info.serviceAccount || 'default', ips: pod.ips, netns: pod.netns });
    if (result.status === 'nacked') {
      pod.captured = false;
      await removeInpodRules(pod.netns).catch((err: unknown) => this.logger.error({ err, pod: key }, 'cannot remove capture rules after the ztunnel refused the pod'));
      throw new AgentRequestError('CNI_ZTUNNEL_REJECTED', `the node's ztunnel refused pod ${key}: ${result.reason}`, true);
    }
    this.logger.info({ pod: key, uid: pod.uid, ztunnel: result.status === 'acked' ? 'acked' : `pending (${result.why})` }, 'pod enrolled in ambient capture');
    return result;
  }

  /**
   * Rules first, then the ztunnel: new connections reach the app directly instead of a closed listener.
   * A netns that is already gone counts as released.
   */
  private async release(pod: PodRecord, why: string): Promise<void> {
    const key = `${pod.namespace}/${pod.name}`;
    if (!pod.captured) return;
    await removeInpodRules(pod.netns);
    pod.captured = false;
    const result = await this.ztunnel.del(pod.uid);
    if (result.status === 'nacked') this.logger.warn({ pod: key, reason: result.reason }, 'the ztunnel failed to release a pod');
    this.logger.info({ pod: key, uid: pod.uid, why }, 'pod released from ambient capture');
  }

  private async reevaluatePod(key: string): Promise<void> {
    const pod = this.known.get(key);
    if (!pod || this.stopping) return;
    try {
      const info = await this.config.pods.podInfo(pod.namespace, pod.name);
      if (!info || (info.uid !== '' && info.uid !== pod.uid)) return; // deleted or replaced: its CNI DEL/ADD will follow
      const decision = ambientDecision(info.labels, info.namespaceLabels, info.annotations, info.hostNetwork);
      pod.reason = decision.reason;
      if (decision.ambient && !pod.captured) await this.enrol(pod, info);
      else if (!decision.ambient && pod.captured) await this.release(pod, `label change (${decision.reason})`);
    } catch (err) {
      this.logger.error({ err, pod: key }, 'cannot apply a label change to a running pod');
    }
  }

  private async reconcile(): Promise<void> {
    const running = await this.config.listPods();
    for (const entry of running) {
      const key = `${entry.namespace}/${entry.name}`;
      const netns = netnsPath(entry.netns);
      try {
        const info = await this.config.pods.podInfo(entry.namespace, entry.name);
        if (!info) {
          this.logger.warn({ pod: key }, 'running pod is not in the cluster state; leaving its capture as it is');
          continue;
        }
        const decision = ambientDecision(info.labels, info.namespaceLabels, info.annotations, info.hostNetwork);
        const pod: PodRecord = { uid: entry.uid || info.uid, name: entry.name, namespace: entry.namespace, netns, ips: entry.ips, captured: false, reason: decision.reason };
        this.known.set(key, pod);
        if (decision.ambient) await this.enrol(pod, info);
        else if (await removeInpodRules(netns)) this.logger.info({ pod: key, reason: decision.reason }, 'removed stale capture rules from a non-ambient pod');
      } catch (err) {
        this.logger.error({ err, pod: key }, 'cannot reconcile a running pod');
      }
    }
  }
}

/** Validates the config, starts an agent and resolves once it serves the plugin. Stop it with agent.stop(). */
export async function runAgent(config: CniAgentConfig): Promise<CniAgent> {
  const agent = new CniAgent(config);
  await agent.start();
  return agent;
}
