// Runs system tools (iptables-save/-restore, ip) inside a pod's network namespace, named either by netns name or by path.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CniCommandFailed, NetnsNotFound } from './errors';

const NAMED_NETNS_DIRS = ['/var/run/netns', '/run/netns'];

/**
 * A network namespace as the tools need it. Named ones (under /var/run/netns) run through `ip netns exec NAME`;
 * any other path (e.g. /proc/PID/ns/net, which a container runtime may pass as CNI_NETNS) through `nsenter --net=PATH`.
 */
export interface NetnsRef {
  /** Set when the netns lives under /var/run/netns. */
  readonly name: string | undefined;
  readonly path: string;
}

/** Accepts a netns name ("tcni-ab12") or an absolute path ("/var/run/netns/tcni-ab12", "/proc/42/ns/net"). */
export function netnsRef(nameOrPath: string): NetnsRef {
  if (!nameOrPath.startsWith('/')) return { name: nameOrPath, path: path.join(NAMED_NETNS_DIRS[0], nameOrPath) };
  const dir = path.dirname(nameOrPath);
  return { name: NAMED_NETNS_DIRS.includes(dir) ? path.basename(nameOrPath) : undefined, path: nameOrPath };
}

export function netnsExists(ref: NetnsRef): boolean {
  return fs.existsSync(ref.path);
}

export interface NetnsRunOptions {
  /** Text fed to stdin (iptables-restore, ip -batch -). */
  readonly input?: string;
}

/** The argv that runs `command args...` inside the netns. */
export function commandInNetns(ref: NetnsRef, command: string, args: readonly string[]): [string, string[]] {
  return ref.name !== undefined ? ['ip', ['netns', 'exec', ref.name, command, ...args]] : ['nsenter', [`--net=${ref.path}`, '--', command, ...args]];
}

/** Runs a command inside the netns and resolves with its stdout; NetnsNotFound if the netns is gone, CniCommandFailed if it fails. */
export function runInNetns(ref: NetnsRef, command: string, args: readonly string[], options: NetnsRunOptions = {}): Promise<string> {
  if (!netnsExists(ref)) return Promise.reject(new NetnsNotFound(ref.path));
  const [file, argv] = commandInNetns(ref, command, args);
  const printable = [file, ...argv].join(' ');
  return new Promise((resolve, reject) => {
    const child = execFile(file, argv, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      if (!netnsExists(ref)) return reject(new NetnsNotFound(ref.path));
      const exitCode = typeof error.code === 'number' ? error.code : null;
      reject(new CniCommandFailed(printable, exitCode, error.code === 'ENOENT' ? `${file} is not installed` : String(stderr), { cause: error }));
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
