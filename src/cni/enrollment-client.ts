// The CNI agent's end of the enrollment protocol: keeps a connection to the node's ztunnel, sends adds/dels, and replays every enrolled pod after each (re)connect.
import net from 'node:net';
import type { Logger } from '../telemetry/logger';
import { silentLogger } from '../telemetry/logger';
import { decodeZtunnelMessage, encodeMessage, MessageReader, type AgentMessage, type EnrolledPod } from './protocol';

export interface EnrollmentClientOptions {
  /** The ztunnel's enrollment socket. */
  readonly socketPath: string;
  /** How long an add/del waits for its ack before resolving as pending. Default 5000. */
  readonly ackTimeoutMs?: number;
  /** Reconnect delays: doubling from initialMs up to maxMs. Defaults 100 and 5000. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly logger?: Logger;
}

/**
 * How an add/del ended. `pending` is not a failure: the pod stays in the client's set (or out of it, for del)
 * and the next replay after a connect tells the ztunnel.
 */
export type EnrollmentResult =
  | { readonly status: 'acked' }
  | { readonly status: 'nacked'; readonly reason: string }
  | { readonly status: 'pending'; readonly why: 'not-connected' | 'disconnected' | 'ack-timeout' | 'closed' };

/** One sent message awaiting its answer; `resolve` is absent for replayed adds nobody waits on. */
interface Outstanding {
  readonly kind: 'add' | 'del';
  resolve?: (result: EnrollmentResult) => void;
  timer?: NodeJS.Timeout;
}

export class ZtunnelEnrollmentClient {
  private readonly pods = new Map<string, EnrolledPod>();
  private readonly acked = new Set<string>();
  /** Per uid, answers still owed, oldest first (the ztunnel answers in order). */
  private readonly outstanding = new Map<string, Outstanding[]>();
  private readonly listeners = new Set<(connected: boolean) => void>();
  private readonly logger: Logger;
  private socket: net.Socket | undefined;
  private isConnected = false;
  private started = false;
  private closed = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: EnrollmentClientOptions) {
    this.logger = options.logger ?? silentLogger();
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Pods the ztunnel should hold: every add not followed by a del (or a nack). */
  enrolled(): EnrolledPod[] {
    return [...this.pods.values()];
  }

  /** True once the ztunnel acked this pod on the current connection. */
  isAcked(uid: string): boolean {
    return this.acked.has(uid);
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts connecting, and reconnecting after every loss, until close(). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.connect();
  }

  /** Enrolls a pod (replacing an earlier add with the same uid) and waits for the ztunnel's answer. */
  add(pod: EnrolledPod): Promise<EnrollmentResult> {
    this.pods.set(pod.uid, pod);
    this.acked.delete(pod.uid);
    return this.send({ type: 'add', pod }, pod.uid);
  }

  /** Releases a pod; unknown uids are sent anyway, so a del after an agent restart still reaches the ztunnel. */
  del(uid: string): Promise<EnrollmentResult> {
    this.pods.delete(uid);
    this.acked.delete(uid);
    return this.send({ type: 'del', uid }, uid);
  }

  /** Resolves true once connected, false after timeoutMs. */
  whenConnected(timeoutMs: number): Promise<boolean> {
    if (this.isConnected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        unsubscribe();
        resolve(false);
      }, timeoutMs);
      const unsubscribe = this.onConnectionChange((connected) => {
        if (!connected) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(true);
      });
    });
  }

  /** Disconnects for good; calls still waiting resolve as pending('closed'). */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.dropConnection('closed');
  }

  private send(message: AgentMessage, uid: string): Promise<EnrollmentResult> {
    if (this.closed) return Promise.resolve({ status: 'pending', why: 'closed' });
    const socket = this.socket;
    if (!this.isConnected || !socket) return Promise.resolve({ status: 'pending', why: 'not-connected' });
    return new Promise((resolve) => {
      const entry: Outstanding = { kind: message.type === 'add' ? 'add' : 'del', resolve };
      entry.timer = setTimeout(() => settle(entry, { status: 'pending', why: 'ack-timeout' }), this.options.ackTimeoutMs ?? 5000);
      this.queueFor(uid).push(entry);
      socket.write(encodeMessage(message));
    });
  }

  private queueFor(uid: string): Outstanding[] {
    let queue = this.outstanding.get(uid);
    if (!queue) {
      queue = [];
      this.outstanding.set(uid, queue);
    }
    return queue;
  }

  private connect(): void {
    if (this.closed) return;
    const socket = net.createConnection(this.options.socketPath);
    this.socket = socket;
    const reader = new MessageReader(decodeZtunnelMessage);
    socket.on('connect', () => {
      this.attempt = 0;
      this.isConnected = true;
      this.logger.info({ socket: this.options.socketPath, pods: this.pods.size }, 'connected to ztunnel; replaying enrolled pods');
      // The replay: every pod we hold, then the marker that lets the ztunnel drop the rest.
      for (const pod of this.pods.values()) {
        this.queueFor(pod.uid).push({ kind: 'add' });
        socket.write(encodeMessage({ type: 'add', pod }));
      }
      socket.write(encodeMessage({ type: 'snapshot-sent' }));
      for (const listener of this.listeners) listener(true);
    });
    socket.on('data', (chunk: Buffer) => {
      for (const decoded of reader.push(chunk)) {
        if (decoded.ok) this.answer(decoded.message.uid, decoded.message.type === 'ack' ? { status: 'acked' } : { status: 'nacked', reason: decoded.message.reason });
        else this.logger.warn({ err: decoded.error }, 'ignoring a bad message from the ztunnel');
      }
    });
    socket.on('error', (err) => this.logger.debug({ err, socket: this.options.socketPath }, 'ztunnel enrollment connection error'));
    socket.on('close', () => {
      if (this.socket !== socket) return;
      const wasConnected = this.isConnected;
      this.dropConnection('disconnected');
      if (wasConnected) this.logger.warn({ socket: this.options.socketPath }, 'lost the ztunnel enrollment connection; reconnecting');
      this.scheduleReconnect();
    });
  }

  private answer(uid: string, result: EnrollmentResult): void {
    const queue = this.outstanding.get(uid);
    const entry = queue?.shift();
    if (queue && queue.length === 0) this.outstanding.delete(uid);
    if (!entry) {
      this.logger.debug({ uid, result }, 'ztunnel answered a message that was not outstanding');
      return;
    }
    // State follows only the newest message about a uid; an answer to an older one just settles its caller.
    if (entry.kind === 'add' && !queue?.length) {
      if (result.status === 'acked') {
        if (this.pods.has(uid)) this.acked.add(uid);
      }
      else if (result.status === 'nacked') {
        // The ztunnel does not hold the pod, so a replay must not claim it does.
        this.pods.delete(uid);
        if (!entry.resolve) this.logger.error({ uid, reason: result.reason }, 'ztunnel refused a replayed pod');
      }
    }
    settle(entry, result);
  }

  private dropConnection(why: 'disconnected' | 'closed'): void {
    const socket = this.socket;
    const wasConnected = this.isConnected;
    this.socket = undefined;
    this.isConnected = false;
    this.acked.clear();
    for (const queue of this.outstanding.values()) for (const entry of queue) settle(entry, { status: 'pending', why });
    this.outstanding.clear();
    if (socket && !socket.destroyed) socket.destroy();
    if (wasConnected) for (const listener of this.listeners) listener(false);
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const initial = this.options.backoff?.initialMs ?? 100;
    const max = this.options.backoff?.maxMs ?? 5000;
    const delay = Math.min(max, initial * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
    this.retryTimer.unref();
  }
}

function settle(entry: Outstanding, result: EnrollmentResult): void {
  if (entry.timer) clearTimeout(entry.timer);
  entry.timer = undefined;
  const resolve = entry.resolve;
  entry.resolve = undefined;
  resolve?.(result);
}
