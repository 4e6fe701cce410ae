// Creating, listing and removing named network namespaces, including killing whatever still runs inside them.
import fs from 'node:fs';
import { ipBatch, run } from './shell';
import { ClusterNames } from './cluster-names';

const NETNS_DIR = '/var/run/netns';

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

export function netnsExists(name: string): boolean {
  return fs.existsSync(netnsPath(name));
}

export async function listNetns(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name.length > 0);
}

/** Creates a netns with loopback up and the given sysctls applied inside it. */
export async function createNetns(name: string, sysctls: Readonly<Record<string, string>> = {}): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  await ipBatch(['link set lo up'], name);
  const entries = Object.entries(sysctls);
  if (entries.length > 0) {
    // /proc/sys/net shows the netns of the process reading it, so write through `ip netns exec`.
    await run('ip', ['netns', 'exec', name, 'sysctl', '-q', '-w', ...entries.map(([key, value]) => `${key}=${value}`)]);
  }
}

/** PIDs of processes whose network namespace is `name`. */
export async function netnsPids(name: string): Promise<number[]> {
  try {
    const out = await run('ip', ['netns', 'pids', name]);
    return out.split('\n').filter(Boolean).map(Number).filter((pid) => pid > 0 && pid !== process.pid);
  } catch {
    return [];
  }
}

/** Kills every process inside the netns, deletes it, and removes its /etc/netns directory. Idempotent. */
export async function destroyNetns(name: string): Promise<void> {
  for (const pid of await netnsPids(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (netnsExists(name)) await run('ip', ['netns', 'delete', name], { okExitCodes: [1] });
  fs.rmSync(ClusterNames.etcNetnsDir(name), { recursive: true, force: true });
}
