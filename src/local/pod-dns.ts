// Service name resolution inside pods: per-pod /etc/netns/<netns>/{hosts,resolv.conf}, which `ip netns exec` mounts over /etc.
import fs from 'node:fs';
import path from 'node:path';
import { ClusterNames } from './cluster-names';

export interface ServiceName {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIp: string;
}

export const CLUSTER_DOMAIN = 'cluster.local';

/** hosts(5) content for a pod: search domains do not apply to the hosts file, so every short form is listed as an alias. */
export function renderHosts(pod: { namespace: string; name: string; ip: string }, services: readonly ServiceName[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${pod.ip}\t${pod.name}`];
  for (const service of [...services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))) {
    const fqdn = `${service.name}.${service.namespace}.svc.${CLUSTER_DOMAIN}`;
    const names = [fqdn, `${service.name}.${service.namespace}.svc`, `${service.name}.${service.namespace}`];
    if (service.namespace === pod.namespace) names.push(service.name);
    lines.push(`${service.clusterIp}\t${names.join(' ')}`);
  }
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
