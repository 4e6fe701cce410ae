// TCP sockets opened inside another network namespace, and the netfilter/socket options Node cannot reach.

import net from 'node:net';
import { addon, type RawSocketOptions } from './addon';
import { InvalidSocketOption, NativeSocketError } from './errors';

export interface ListenInNetnsOptions {
  /** Netns name under /var/run/netns, or an absolute path such as /proc/PID/ns/net; omitted = this process's netns. */
  netns?: string;
  /** IP literal to bind ('0.0.0.0', '::', '10.1.0.5'; brackets around IPv6 allowed). The socket family follows it. */
  host: string;
  /** 0 picks a free port; read it back with server.address(). */
  port: number;
  /** listen() backlog; 511 (Node's default) when omitted. */
  backlog?: number;
  reuseAddr?: boolean;
  /** Sets IP_TRANSPARENT (IPV6_TRANSPARENT for IPv6) so the socket can accept connections for non-local addresses. */
  transparent?: boolean;
  /** SO_MARK applied to the listening socket. */
  mark?: number;
}

export interface ConnectInNetnsOptions {
  /** As for ListenInNetnsOptions.netns; omitted = this process's netns. */
  netns?: string;
  /** Destination IP literal. */
  host: string;
  port: number;
  /** SO_MARK for the outbound socket (the ztunnel marks its own traffic so capture rules skip it). */
  mark?: number;
  /** Bind to this source address with IP_TRANSPARENT, even if it is not local to the netns; port 0 (default) = any. */
  sourceAddress?: { host: string; port?: number };
  /** Give up with ETIMEDOUT after this many milliseconds; omitted or 0 = the kernel's own SYN retry limit. */
  timeoutMs?: number;
}

/** The address a redirected connection was originally sent to, read from conntrack. */
export interface OriginalDst {
  address: string;
  port: number;
  family: 4 | 6;
}

/**
 * Opens a listening TCP socket inside opts.netns and returns its file descriptor
 * (non-blocking, close-on-exec). The caller owns the fd: hand it to server.listen({ fd }) or close it.
 */
export function openListenerFd(opts: ListenInNetnsOptions): number {
  const raw: RawSocketOptions = {
    netns: opts.netns,
    host: ipLiteral(opts.host, 'host'),
    port: checkPort(opts.port, 'port'),
    backlog: opts.backlog === undefined ? undefined : checkUint(opts.backlog, 'backlog', 0x7fffffff),
    reuseAddr: opts.reuseAddr,
    transparent: opts.transparent,
    mark: opts.mark === undefined ? undefined : checkMark(opts.mark),
  };
  try {
    return addon().openListener(raw);
  } catch (err) {
    throw NativeSocketError.fromAddon(err, { netns: opts.netns, address: raw.host, port: raw.port });
  }
}

/**
 * Opens a listening socket inside opts.netns and makes `server` (a new net.Server when omitted)
 * serve it; resolves once the server is listening. The server is usable like any other:
 * server.address() reports the bound address, server.close() closes the socket.
 */
export async function listenInNetns(opts: ListenInNetnsOptions, server: net.Server = net.createServer()): Promise<net.Server> {
  const fd = openListenerFd(opts);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ fd });
  });
  return server;
}

/**
 * Connects to opts.host:opts.port from inside opts.netns without blocking the event loop,
 * and resolves with a connected net.Socket (remoteAddress/localAddress as seen in that netns).
 * The socket is already connected when it is handed over, so no 'connect' event follows.
 * Rejects with a NativeSocketError: ECONNREFUSED, ETIMEDOUT, ENOENT for an unknown netns, ...
 */
export async function connectInNetns(opts: ConnectInNetnsOptions): Promise<net.Socket> {
  const raw: RawSocketOptions = {
    netns: opts.netns,
    host: ipLiteral(opts.host, 'host'),
    port: checkPort(opts.port, 'port'),
    mark: opts.mark === undefined ? undefined : checkMark(opts.mark),
    timeoutMs: opts.timeoutMs === undefined ? undefined : checkUint(opts.timeoutMs, 'timeoutMs', 0x7fffffff),
  };
  if (opts.sourceAddress !== undefined) {
    raw.sourceHost = ipLiteral(opts.sourceAddress.host, 'sourceAddress.host');
    raw.sourcePort = checkPort(opts.sourceAddress.port ?? 0, 'sourceAddress.port');
    if (net.isIP(raw.sourceHost) !== net.isIP(raw.host)) {
      throw new InvalidSocketOption('sourceAddress.host', `${raw.sourceHost} is not of the same IP family as ${raw.host}`);
    }
  }
  let fd: number;
  try {
    fd = await addon().connect(raw);
  } catch (err) {
    throw NativeSocketError.fromAddon(err, { netns: opts.netns, address: raw.host, port: raw.port });
  }
  return new net.Socket({ fd, readable: true, writable: true });
}

/** Reads SO_ORIGINAL_DST (IPv4) or IP6T_SO_ORIGINAL_DST (IPv6) from a socket accepted after an iptables REDIRECT. */
export function originalDst(socket: net.Socket): OriginalDst {
  const fd = socketFd(socket, 'getsockopt');
  try {
    return addon().originalDst(fd);
  } catch (err) {
    throw NativeSocketError.fromAddon(err, { address: socket.localAddress, port: socket.localPort });
  }
}

/** Sets SO_MARK on an existing socket; packets it sends from now on carry the mark. */
export function setMark(socket: net.Socket, mark: number): void {
  const checked = checkMark(mark);
  const fd = socketFd(socket, 'setsockopt');
  try {
    addon().setMark(fd, checked);
  } catch (err) {
    throw NativeSocketError.fromAddon(err, { address: socket.remoteAddress, port: socket.remotePort });
  }
}

function socketFd(socket: net.Socket, syscall: string): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new NativeSocketError(`${syscall}: the socket has no file descriptor (closed, or not a TCP socket): EBADF (bad file descriptor)`, 'EBADF', -9, syscall);
  }
  return fd;
}

function ipLiteral(host: string, option: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (net.isIP(bare) === 0) throw new InvalidSocketOption(option, `${JSON.stringify(host)} is not an IP address (names are not resolved here)`);
  return bare;
}

function checkUint(value: number, option: string, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new InvalidSocketOption(option, `${value} is not an integer from 0 to ${max}`);
  return value;
}

function checkPort(value: number, option: string): number {
  return checkUint(value, option, 65535);
}

function checkMark(value: number): number {
  return checkUint(value, 'mark', 0xffffffff);
}
