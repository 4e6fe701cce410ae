// Checks that this machine can run a local cluster, so that the user gets one line saying what is missing instead of a trace.
import fs from 'node:fs';
import { probe } from './shell';

export class PreflightFailed extends Error {
  readonly code = 'PREFLIGHT_FAILED';
}

export async function checkLocalClusterSupport(): Promise<void> {
  if (process.platform !== 'linux') throw new PreflightFailed(`local mode needs Linux network namespaces; this is ${process.platform}`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new PreflightFailed('local mode needs root (CAP_NET_ADMIN) to create network namespaces: run it as root, e.g. sudo npm start');
  }
  if (!fs.existsSync('/proc/self/ns/net')) throw new PreflightFailed('this kernel has no network namespace support (/proc/self/ns/net is missing)');
  const missing: string[] = [];
  if ((await probe('ip', ['-V'])) === 127) missing.push('iproute2');
  if ((await probe('iptables-restore', ['--version'])) === 127) missing.push('iptables');
  if (missing.length > 0) throw new PreflightFailed(`missing system packages: ${missing.join(', ')} (on Debian: apt-get install ${missing.join(' ')})`);
}
