// The pod-enrollment protocol between a node's CNI agent and its ztunnel (ambit's take on Istio's ZDS): newline-delimited JSON over a unix socket.
//
// Istio passes the pod's netns as an fd over SOCK_SEQPACKET; Node cannot pass fds over unix sockets, so ambit
// sends the netns *path* and the ztunnel opens it itself. Everything else follows ZDS: the agent sends add/del,
// replays every enrolled pod after a (re)connect and then `snapshot-sent`, and the ztunnel answers each add/del
// with an ack or a nack.

import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';

/** A pod the ztunnel must serve: it opens its capture listeners (15001/15006/15008) inside `netns`. */
export interface EnrolledPod {
  /** Kubernetes pod UID; every later message about the pod names it by this. */
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The pod's addresses without prefix length, as its primary CNI assigned them. */
  readonly ips: readonly string[];
  /** Absolute path of the pod's network namespace, e.g. /var/run/netns/<name>. */
  readonly netns: string;
}

/** Agent -> ztunnel. */
export type AgentMessage =
  | { readonly type: 'add'; readonly pod: EnrolledPod }
  | { readonly type: 'del'; readonly uid: string }
  /** Ends the replay after a (re)connect: the ztunnel drops pods it holds that the replay did not name. */
  | { readonly type: 'snapshot-sent' };

/** Ztunnel -> agent, one per add or del, in the order they were received. */
export type ZtunnelMessage =
  | { readonly type: 'ack'; readonly uid: string }
  | { readonly type: 'nack'; readonly uid: string; readonly reason: string };

/** A line that is not a valid message. Carries the uid when the line named one, so the answer can be addressed. */
export class EnrollmentProtocolError extends Error {
  readonly code = 'ENROLLMENT_PROTOCOL_ERROR' as const;
  /** uid found in the bad message, if any ('' otherwise). */
  readonly uid: string;
  /** The start of the offending line, for logs. */
  readonly excerpt: string;

  constructor(reason: string, line: string, uid = '') {
    const excerpt = line.length > 200 ? `${line.slice(0, 200)}...` : line;
    super(`bad enrollment message: ${reason} (got ${JSON.stringify(excerpt)})`);
    this.name = 'EnrollmentProtocolError';
    this.uid = uid;
    this.excerpt = excerpt;
  }
}

export type Decoded<T> = { readonly ok: true; readonly message: T } | { readonly ok: false; readonly error: EnrollmentProtocolError };

/** Longest line (in characters) either side accepts; a pod message is a few hundred. */
export const MAX_LINE_LENGTH = 64 * 1024;

export function encodeMessage(message: AgentMessage | ZtunnelMessage): string {
  return `${JSON.stringify(message)}\n`;
}

type Fields = Record<string, unknown>;

class FieldProblem {
  constructor(readonly reason: string) {}
}

function parseObject(line: string): Fields | FieldProblem {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return new FieldProblem('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return new FieldProblem('not a JSON object');
  return value as Fields;
}

function text(fields: Fields, key: string, where: string, allowEmpty = false): string | FieldProblem {
  const value = fields[key];
  if (typeof value !== 'string') return new FieldProblem(`${where}${key} must be a string`);
  if (!allowEmpty && value.length === 0) return new FieldProblem(`${where}${key} must not be empty`);
  return value;
}

function uidOf(fields: Fields): string {
  const pod = fields.pod;
  const candidate = typeof pod === 'object' && pod !== null ? (pod as Fields).uid : fields.uid;
  return typeof candidate === 'string' ? candidate : '';
}

function decodePod(value: unknown): EnrolledPod | FieldProblem {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return new FieldProblem('pod must be an object');
  const fields = value as Fields;
  const uid = text(fields, 'uid', 'pod.');
  const name = text(fields, 'name', 'pod.');
  const namespace = text(fields, 'namespace', 'pod.');
  const serviceAccount = text(fields, 'serviceAccount', 'pod.');
  const netns = text(fields, 'netns', 'pod.');
  for (const field of [uid, name, namespace, serviceAccount, netns]) if (field instanceof FieldProblem) return field;
  if (!(netns as string).startsWith('/')) return new FieldProblem('pod.netns must be an absolute path');
  const ips = fields.ips;
  if (!Array.isArray(ips)) return new FieldProblem('pod.ips must be an array of IP addresses');
  for (const [index, ip] of ips.entries()) {
    if (typeof ip !== 'string' || net.isIP(ip) === 0) return new FieldProblem(`pod.ips[${index}] is not an IP address`);
  }
  return { uid: uid as string, name: name as string, namespace: namespace as string, serviceAccount: serviceAccount as string, ips: ips as string[], netns: netns as string };
}

function fail<T>(problem: FieldProblem, line: string, fields?: Fields): Decoded<T> {
  return { ok: false, error: new EnrollmentProtocolError(problem.reason, line, fields ? uidOf(fields) : '') };
}

/** Parses one line the agent sent. Never throws: a bad line is an `{ok: false}` with the reason. */
export function decodeAgentMessage(line: string): Decoded<AgentMessage> {
  const fields = parseObject(line);
  if (fields instanceof FieldProblem) return fail(fields, line);
  switch (fields.type) {
    case 'add': {
      const pod = decodePod(fields.pod);
      return pod instanceof FieldProblem ? fail(pod, line, fields) : { ok: true, message: { type: 'add', pod } };
    }
    case 'del': {
      const uid = text(fields, 'uid', '');
      return uid instanceof FieldProblem ? fail(uid, line, fields) : { ok: true, message: { type: 'del', uid } };
    }
    case 'snapshot-sent':
      return { ok: true, message: { type: 'snapshot-sent' } };
    default:
      return fail(new FieldProblem(`unknown message type ${JSON.stringify(fields.type)} (expected add, del or snapshot-sent)`), line, fields);
  }
}

/** Parses one line the ztunnel sent. Never throws. */
export function decodeZtunnelMessage(line: string): Decoded<ZtunnelMessage> {
  const fields = parseObject(line);
  if (fields instanceof FieldProblem) return fail(fields, line);
  // An ack/nack may carry uid '' when it answers a line whose uid could not be read.
  const uid = text(fields, 'uid', '', true);
  if (uid instanceof FieldProblem) return fail(uid, line, fields);
  switch (fields.type) {
    case 'ack':
      return { ok: true, message: { type: 'ack', uid } };
    case 'nack': {
      const reason = text(fields, 'reason', '', true);
      return reason instanceof FieldProblem ? fail(reason, line, fields) : { ok: true, message: { type: 'nack', uid, reason } };
    }
    default:
      return fail(new FieldProblem(`unknown message type ${JSON.stringify(fields.type)} (expected ack or nack)`), line, fields);
  }
}

/**
 * Splits a byte stream into lines and decodes each. A line longer than `maxLineLength` yields one error and is
 * skipped up to its newline, so a misbehaving peer cannot grow the buffer without bound.
 */
export class MessageReader<T> {
  private buffered = '';
  private skipping = false;
  /** Keeps a UTF-8 sequence split across chunks whole. */
  private readonly utf8 = new StringDecoder('utf8');

  constructor(
    private readonly decode: (line: string) => Decoded<T>,
    private readonly maxLineLength = MAX_LINE_LENGTH,
  ) {}

  push(chunk: Buffer | string): Decoded<T>[] {
    const out: Decoded<T>[] = [];
    let data = this.buffered + (typeof chunk === 'string' ? chunk : this.utf8.write(chunk));
    this.buffered = '';
    for (let newline = data.indexOf('\n'); newline !== -1; newline = data.indexOf('\n')) {
      const line = data.slice(0, newline).replace(/\r$/, '');
      data = data.slice(newline + 1);
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      if (line.trim() === '') continue;
      out.push(line.length > this.maxLineLength ? this.tooLong(line) : this.decode(line));
    }
    if (this.skipping) return out;
    if (data.length > this.maxLineLength) {
      out.push(this.tooLong(data));
      this.skipping = true;
    } else {
      this.buffered = data;
    }
    return out;
  }

  private tooLong(line: string): Decoded<T> {
    return { ok: false, error: new EnrollmentProtocolError(`line longer than ${this.maxLineLength} characters`, line.slice(0, 200)) };
  }
}
