// Removes everything a local cluster made, whether or not the process that made it is still alive.
import fs from 'node:fs';
import type { ClusterNames } from './cluster-names';
import { destroyNetns, listNetns } from './netns';

/**
 * Kills every process inside the cluster's netns, deletes the netns (their veths, routes and iptables rules go with
 * them, since none were made in the host netns) and their /etc/netns directories. Nodes last, so pods go first.
 */
export async function sweepCluster(names: ClusterNames): Promise<string[]> {
  const owned = (await listNetns()).filter((name) => names.owns(name));
  const order = (name: string) => (name.includes('-pod-') ? 0 : name === names.fabric ? 2 : 1);
  owned.sort((a, b) => order(a) - order(b));
  for (const name of owned) await destroyNetns(name);
  // /etc/netns directories whose netns vanished (e.g. removed by hand) are ours to remove too.
  for (const entry of safeReadDir('/etc/netns')) if (names.owns(entry)) fs.rmSync(`/etc/netns/${entry}`, { recursive: true, force: true });
  return owned;
}

function safeReadDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
