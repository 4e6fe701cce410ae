// The CNI agent's unix-socket HTTP endpoint for the plugin: POST /cmdadd, /cmddel, /cmdcheck with a JSON pod description.
import fs from 'node:fs';
import http from 'node:http';
import type { Logger } from '../telemetry/logger';
import { AGENT_PATHS, decodePluginRequest, type AgentErrorReply, type AgentReply, type PluginCommand, type PluginRequest } from './agent-api';
import { AgentRequestError } from './errors';
import { prepareSocketPath, removeSocketFile } from './socket-path';

const MAX_BODY_BYTES = 64 * 1024;

/** Does the work behind each request; throws AgentRequestError to refuse. */
export type PluginRequestHandler = (command: PluginCommand, request: PluginRequest) => Promise<AgentReply>;

const COMMAND_BY_PATH = new Map<string, PluginCommand>(Object.entries(AGENT_PATHS).map(([command, path]) => [path, command as PluginCommand]));

export class AgentSocketServer {
  private readonly server: http.Server;

  constructor(
    private readonly socketPath: string,
    handler: PluginRequestHandler,
    private readonly logger: Logger,
  ) {
    this.server = http.createServer((req, res) => void this.serve(req, res, handler));
  }

  async listen(): Promise<void> {
    prepareSocketPath(this.socketPath);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(this.socketPath, 0o600);
  }

  async close(): Promise<void> {
    if (this.server.listening) {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      await closed;
    }
    removeSocketFile(this.socketPath);
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse, handler: PluginRequestHandler): Promise<void> {
    const command = COMMAND_BY_PATH.get(req.url ?? '');
    if (!command) return send(res, 404, refusal('CNI_BAD_REQUEST', `no such endpoint ${req.url ?? ''}; use ${Object.values(AGENT_PATHS).join(', ')}`, false));
    if (req.method !== 'POST') return send(res, 405, refusal('CNI_BAD_REQUEST', `${req.url} takes POST, not ${req.method ?? ''}`, false));
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (err) {
      return send(res, 400, refusal('CNI_BAD_REQUEST', `the request body is not JSON: ${err instanceof Error ? err.message : String(err)}`, false));
    }
    const request = decodePluginRequest(body, command);
    if (typeof request === 'string') return send(res, 400, refusal('CNI_BAD_REQUEST', request, false));
    try {
      send(res, 200, await handler(command, request));
    } catch (err) {
      if (err instanceof AgentRequestError) {
        this.logger.warn({ err, command, pod: `${request.podNamespace}/${request.podName}` }, 'refused a CNI plugin request');
        return send(res, err.retryable ? 503 : 500, refusal(err.code, err.message, err.retryable));
      }
      this.logger.error({ err, command, pod: `${request.podNamespace}/${request.podName}` }, 'CNI plugin request failed unexpectedly');
      send(res, 500, refusal('CNI_AGENT_INTERNAL', err instanceof Error ? err.message : String(err), true));
    }
  }
}

function refusal(code: AgentErrorReply['error']['code'], message: string, retryable: boolean): AgentErrorReply {
  return { error: { code, message, retryable } };
}

function send(res: http.ServerResponse, status: number, body: AgentReply | AgentErrorReply): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
