// The ztunnel's in-pod sockets: for each enrolled pod, listeners on 15001/15006/15008 opened inside the pod's netns.
import type net from 'node:net';
import type { EnrolledPod } from '../cni/protocol';
import { listenInNetns } from '../native';
import type { Logger } from '../telemetry/logger';

export const OUTBOUND_PORT = 15001;
export const INBOUND_PLAINTEXT_PORT = 15006;
export const INBOUND_HBONE_PORT = 15008;

export type { EnrolledPod };

export type PodConnectionHandler = (socket: net.Socket, pod: EnrolledPod) => void;

export interface PodConnectionHandlers {
  readonly outbound: PodConnectionHandler;
  readonly inboundPlaintext: PodConnectionHandler;
  readonly inboundHbone: PodConnectionHandler;
}

interface PodSockets {
  readonly pod: EnrolledPod;
  readonly servers: net.Server[];
}

export class PodListenerManager {
  private readonly pods = new Map<string, PodSockets>();

  constructor(
    private readonly handlers: PodConnectionHandlers,
    private readonly logger: Logger,
  ) {}

  /** Opens (or re-opens, if the netns changed) the pod's listeners. Throws if the netns cannot be entered. */
  async add(pod: EnrolledPod): Promise<void> {
    const existing = this.pods.get(pod.uid);
    if (existing && existing.pod.netns === pod.netns) {
      this.pods.set(pod.uid, { pod, servers: existing.servers });
      return;
    }
    if (existing) await this.remove(pod.uid);
    const servers: net.Server[] = [];
    try {
      for (const [port, handler] of [
        [OUTBOUND_PORT, this.handlers.outbound],
        [INBOUND_PLAINTEXT_PORT, this.handlers.inboundPlaintext],
        [INBOUND_HBONE_PORT, this.handlers.inboundHbone],
      ] as const) {
        const server = await listenInNetns({ netns: pod.netns, host: '0.0.0.0', port, reuseAddr: true });
        // A stale or hostile peer must never take the process down: errors stay with their connection.
        server.on('connection', (socket: net.Socket) => {
          socket.on('error', () => undefined);
          // A proxy must not add Nagle's delay on top of the app's own writes (it showed as ~40 ms per keep-alive request).
          socket.setNoDelay(true);
          handler(socket, pod);
        });
        server.on('error', (error) => this.logger.warn({ pod: `${pod.namespace}/${pod.name}`, port, err: error.message }, 'pod listener error'));
        servers.push(server);
      }
    } catch (error) {
      for (const server of servers) server.close();
      throw error;
    }
    this.pods.set(pod.uid, { pod, servers });
    this.logger.info({ pod: `${pod.namespace}/${pod.name}`, ips: pod.ips, netns: pod.netns }, 'pod enrolled: listening on 15001/15006/15008 in its netns');
  }

  async remove(uid: string): Promise<void> {
    const entry = this.pods.get(uid);
    if (!entry) return;
    this.pods.delete(uid);
    await Promise.all(entry.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    this.logger.info({ pod: `${entry.pod.namespace}/${entry.pod.name}` }, 'pod released: listeners closed');
  }

  list(): EnrolledPod[] {
    return [...this.pods.values()].map((entry) => entry.pod);
  }

  byUid(uid: string): EnrolledPod | undefined {
    return this.pods.get(uid)?.pod;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.pods.keys()].map((uid) => this.remove(uid)));
  }
}
