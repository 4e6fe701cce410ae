// Service name resolution inside pods: per-pod /etc/netns/<netns>/{hosts,resolv.conf}, which `ip netns exec` mounts over /etc.
import fs from 'node:fs';
import path from 'node:path';
import { serviceEntrySpecVips, type Resource, type ServiceEntrySpec } from '../api';
import { ClusterNames } from './cluster-names';

export interface ServiceName {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIp: string;
}

/** A ServiceEntry host with an address, listed as Istio's DNS proxy would answer it. */
export interface ServiceEntryHost {
  readonly host: string;
  readonly address: string;
}

export const CLUSTER_DOMAIN = 'cluster.local';

/**
 * Each ServiceEntry host that has an address: the entry's first VIP (a plain IP, or a CIDR naming one address).
 * Wildcard hosts cannot be listed in a hosts file; exportTo is not applied (every pod sees every entry), and hosts
 * without addresses are not given one (Istio's DNS auto-allocation is not modelled).
 */
export function serviceEntryHosts(objects: ReadonlyMap<string, Resource>): ServiceEntryHost[] {
  const hosts: ServiceEntryHost[] = [];
  for (const object of objects.values()) {
    if (object.kind !== 'ServiceEntry') continue;
    const spec = object.spec as ServiceEntrySpec | undefined;
    const [address] = serviceEntrySpecVips(spec);
    if (!address) continue;
    for (const host of spec?.hosts ?? []) if (!host.includes('*')) hosts.push({ host, address });
  }
  return hosts.sort((a, b) => a.host.localeCompare(b.host));
}

/** hosts(5) content for a pod: search domains do not apply to the hosts file, so every short form is listed as an alias. */
export function renderHosts(pod: { namespace: string; name: string; ip: string }, services: readonly ServiceName[], entries: readonly ServiceEntryHost[] = []): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${pod.ip}\t${pod.name}`];
  for (const service of [...services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))) {
    const fqdn = `${service.name}.${service.namespace}.svc.${CLUSTER_DOMAIN}`;
    const names = [fqdn, `${service.name}.${service.namespace}.svc`, `${service.name}.${service.namespace}`];
    if (service.namespace === pod.namespace) names.push(service.name);
    lines.push(`${service.clusterIp}\t${names.join(' ')}`);
  }
  // After the Services: when a host is listed twice, the resolver takes the first line, so a Service's own name wins.
  for (const entry of entries) lines.push(`${entry.address}\t${entry.host}`);
  return lines.join('\n') + '\n';
}

export function renderResolvConf(namespace: string): string {
  // No nameserver runs in the cluster: lookups that miss the hosts file fail fast instead of leaving the machine.
  return [`search ${namespace}.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}`, 'nameserver 127.0.0.1', 'options ndots:5 timeout:1 attempts:1', ''].join('\n');
}

/**
 * Writes the files in place (same inode): processes already running see updates, because `ip netns exec`
 * bind-mounted these exact files over their /etc/hosts and /etc/resolv.conf.
 */
export function writePodDnsFiles(netns: string, hosts: string, resolvConf: string): void {
  const dir = ClusterNames.etcNetnsDir(netns);
  fs.mkdirSync(dir, { recursive: true });
  writeIfChanged(path.join(dir, 'hosts'), hosts);
  writeIfChanged(path.join(dir, 'resolv.conf'), resolvConf);
}

function writeIfChanged(file: string, content: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === content) return;
  } catch {
    // first write
  }
  fs.writeFileSync(file, content);
}
