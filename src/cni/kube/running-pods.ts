// Finds the network namespaces of this node's running pods, for the agent's reconcile on start: the container runtime
// keeps each sandbox's netns under one directory, and a netns belongs to the pod whose status.podIPs it holds.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../../telemetry/logger';
import type { RunningPod } from '../agent';
import { netnsRef, runInNetns } from '../netns-exec';
import type { NodePod } from './pod-label-source';

/** Where containerd and CRI-O bind-mount pod sandboxes' netns (`cni-<uuid>`, `<uuid>`). */
export const DEFAULT_NETNS_DIR = '/var/run/netns';

/** The IPv4 addresses configured inside one netns. */
export type NetnsAddressReader = (netnsPath: string) => Promise<readonly string[]>;

/** One netns and the IPv4 addresses it holds (none when they could not be read: a stale mount, a sandbox being torn down). */
export interface NetnsAddresses {
  readonly path: string;
  readonly ips: readonly string[];
}

/** Why a pod of this node got no netns; logged, never fatal. */
export interface UnmatchedPod {
  readonly pod: string;
  readonly why: 'no-netns' | 'ambiguous-netns' | 'ambiguous-ip';
  readonly netns?: readonly string[];
}

export interface RunningPodMatch {
  readonly running: RunningPod[];
  readonly unmatched: UnmatchedPod[];
}

/** Phases after which a pod's sandbox is gone and its address may already belong to another pod. */
const TERMINAL_PHASES = new Set(['Succeeded', 'Failed']);

/** Parses `ip -o -4 addr show`: one line per address, "2: eth0    inet 10.244.1.5/24 brd ... scope global eth0...". */
export function parseIpv4Addresses(output: string): string[] {
  const ips: string[] = [];
  for (const match of output.matchAll(/\binet (\d{1,3}(?:\.\d{1,3}){3})\/\d+/g)) {
    if (net.isIPv4(match[1]) && !match[1].startsWith('127.')) ips.push(match[1]);
  }
  return ips;
}

/** Reads a netns's IPv4 addresses with `ip -o -4 addr show` run inside it (named netns via `ip netns exec`, others via nsenter). */
export const readNetnsAddresses: NetnsAddressReader = async (netnsPath) => parseIpv4Addresses(await runInNetns(netnsRef(netnsPath), 'ip', ['-o', '-4', 'addr', 'show']));

/**
 * Pairs netns with pods by address, without I/O. Only pods with their own network (not hostNetwork) and not finished
 * take part. An address two live pods claim, or a pod whose addresses sit in two netns, is left out rather than
 * guessed: capturing the wrong sandbox is worse than waiting for the pod's next CNI ADD or label change.
 */
export function matchRunningPods(pods: readonly NodePod[], namespaces: readonly NetnsAddresses[]): RunningPodMatch {
  const unmatched: UnmatchedPod[] = [];
  const candidates = pods.filter((pod) => !pod.hostNetwork && !TERMINAL_PHASES.has(pod.phase) && pod.ips.length > 0);
  const owners = new Map<string, NodePod[]>();
  for (const pod of candidates) for (const ip of new Set(pod.ips)) owners.set(ip, [...(owners.get(ip) ?? []), pod]);
  const ambiguous = new Set<NodePod>();
  for (const claimants of owners.values()) if (claimants.length > 1) for (const pod of claimants) ambiguous.add(pod);

  const netnsOf = new Map<NodePod, Set<string>>();
  for (const netns of namespaces) {
    for (const ip of netns.ips) {
      const claimants = owners.get(ip);
      if (claimants?.length !== 1) continue;
      const found = netnsOf.get(claimants[0]) ?? new Set<string>();
      found.add(netns.path);
      netnsOf.set(claimants[0], found);
    }
  }

  const running: RunningPod[] = [];
  for (const pod of candidates) {
    const key = `${pod.namespace}/${pod.name}`;
    const found = [...(netnsOf.get(pod) ?? [])].sort();
    if (ambiguous.has(pod)) unmatched.push({ pod: key, why: 'ambiguous-ip' });
    else if (found.length === 0) unmatched.push({ pod: key, why: 'no-netns' });
    else if (found.length > 1) unmatched.push({ pod: key, why: 'ambiguous-netns', netns: found });
    else running.push({ name: pod.name, namespace: pod.namespace, uid: pod.uid, netns: found[0], ips: [...pod.ips] });
  }
  return { running, unmatched };
}

export interface RunningPodFinderOptions {
  /** Default DEFAULT_NETNS_DIR. */
  readonly netnsDir?: string;
  /** The node's pods, from the synced label source. */
  readonly pods: () => readonly NodePod[];
  /** Default readNetnsAddresses. */
  readonly readAddresses?: NetnsAddressReader;
  readonly logger: Logger;
  /** Netns read at once (default 8): a node may hold a few hundred. */
  readonly concurrency?: number;
}

/** Lists the netns directory; a missing directory means no sandboxes yet. */
function listNetnsDir(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((entry) => !entry.isDirectory())
      .map((entry) => path.join(dir, entry.name))
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** The agent's `listPods` on Kubernetes: reads every netns in the directory and matches them to the node's pods. */
export function runningPodFinder(options: RunningPodFinderOptions): () => Promise<RunningPod[]> {
  const dir = options.netnsDir ?? DEFAULT_NETNS_DIR;
  const read = options.readAddresses ?? readNetnsAddresses;
  const { logger } = options;
  return async () => {
    const paths = listNetnsDir(dir);
    const namespaces = await mapLimited(paths, options.concurrency ?? 8, async (netnsPath): Promise<NetnsAddresses> => {
      try {
        return { path: netnsPath, ips: await read(netnsPath) };
      } catch (err) {
        logger.debug({ err, netns: netnsPath }, 'cannot read the addresses of a netns; skipping it');
        return { path: netnsPath, ips: [] };
      }
    });
    const { running, unmatched } = matchRunningPods(options.pods(), namespaces);
    for (const miss of unmatched) {
      if (miss.why === 'no-netns') logger.debug({ pod: miss.pod, netnsDir: dir }, 'no netns holds the pod\'s address; its CNI ADD will enrol it');
      else logger.warn({ pod: miss.pod, why: miss.why, netns: miss.netns }, 'cannot tell which netns is the pod\'s; leaving it to its next CNI ADD');
    }
    logger.info({ netnsDir: dir, netns: paths.length, pods: running.length }, 'found the node\'s running pods');
    return running;
  };
}
