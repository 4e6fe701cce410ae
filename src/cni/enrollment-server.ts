// The ztunnel's end of the enrollment protocol: accepts the CNI agent on a unix socket and turns its messages into handler calls, answering each with ack/nack.
import fs from 'node:fs';
import net from 'node:net';
import type { Logger } from '../telemetry/logger';
import { silentLogger } from '../telemetry/logger';
import { decodeAgentMessage, encodeMessage, MessageReader, type AgentMessage, type EnrolledPod, type ZtunnelMessage } from './protocol';
import { prepareSocketPath, removeSocketFile } from './socket-path';

/** What the ztunnel does with each message. A handler that throws (or rejects) makes the agent receive a nack. */
export interface EnrollmentHandlers {
  /** Open the pod's listeners; resolve once they listen. Also called for every pod replayed after a reconnect. */
  onAdd(pod: EnrolledPod): Promise<void>;
  /** Close the pod's listeners. Unknown uids must be accepted (the agent may repeat a del). */
  onDel(uid: string): Promise<void> | void;
  /**
   * The agent finished replaying after connecting: drop every pod not in `snapshotUids`
   * (the uids added on this connection and not deleted since).
   */
  onSnapshotSent(snapshotUids: ReadonlySet<string>): Promise<void> | void;
}

export interface EnrollmentServerOptions {
  /** Unix socket path to listen on; a stale socket file there is replaced. */
  readonly socketPath: string;
  readonly handlers: EnrollmentHandlers;
  readonly logger?: Logger;
}

/** One agent connection: its messages are handled strictly in order, so acks leave in the order messages came. */
class AgentConnection {
  private readonly reader = new MessageReader(decodeAgentMessage);
  private readonly held = new Set<string>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: net.Socket,
    private readonly handlers: EnrollmentHandlers,
    private readonly logger: Logger,
  ) {
    socket.on('data', (chunk: Buffer) => {
      for (const decoded of this.reader.push(chunk)) {
        if (decoded.ok) this.enqueue(decoded.message);
        else {
          this.logger.warn({ err: decoded.error }, 'ignoring a bad enrollment message');
          this.reply({ type: 'nack', uid: decoded.error.uid, reason: decoded.error.message });
        }
      }
    });
    socket.on('error', (err) => this.logger.debug({ err }, 'enrollment connection error'));
  }

  private enqueue(message: AgentMessage): void {
    this.chain = this.chain.then(() => this.handle(message));
  }

  private async handle(message: AgentMessage): Promise<void> {
    switch (message.type) {
      case 'add':
        try {
          await this.handlers.onAdd(message.pod);
          this.held.add(message.pod.uid);
          this.reply({ type: 'ack', uid: message.pod.uid });
        } catch (err) {
          this.logger.warn({ err, uid: message.pod.uid, pod: `${message.pod.namespace}/${message.pod.name}` }, 'enrollment add refused');
          this.reply({ type: 'nack', uid: message.pod.uid, reason: reasonOf(err) });
        }
        return;
      case 'del':
        try {
          await this.handlers.onDel(message.uid);
          this.held.delete(message.uid);
          this.reply({ type: 'ack', uid: message.uid });
        } catch (err) {
          this.logger.warn({ err, uid: message.uid }, 'enrollment del failed');
          this.reply({ type: 'nack', uid: message.uid, reason: reasonOf(err) });
        }
        return;
      case 'snapshot-sent':
        try {
          await this.handlers.onSnapshotSent(new Set(this.held));
        } catch (err) {
          this.logger.error({ err }, 'handling the end of the enrollment snapshot failed');
        }
        return;
    }
  }

  private reply(message: ZtunnelMessage): void {
    if (!this.socket.destroyed) this.socket.write(encodeMessage(message));
  }
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Listens for the node's CNI agent. Several connections may be open (an agent restarting); each is independent. */
export class EnrollmentServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly logger: Logger;

  constructor(private readonly options: EnrollmentServerOptions) {
    this.logger = options.logger ?? silentLogger();
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      new AgentConnection(socket, options.handlers, this.logger);
    });
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Starts listening (replacing a stale socket file); resolves once connections are accepted. */
  async listen(): Promise<void> {
    prepareSocketPath(this.options.socketPath);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(this.options.socketPath, 0o600);
  }

  /** Stops listening, drops open connections and removes the socket file. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
    removeSocketFile(this.options.socketPath);
  }
}
