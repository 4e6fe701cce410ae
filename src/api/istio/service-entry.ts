// networking.istio.io ServiceEntry: adds hosts (external APIs, VMs) to the mesh's service registry.

import { dnsLabel, ipOrCidr, isIpAddress, isIstioHost } from '../formats';
import type { KindDefinition } from '../kind';
import { labelsSchema } from '../metadata';
import type { Resource } from '../resource';
import { enumOf, int, list, mapOf, object, portNumber, required, str, type Cursor } from '../schema';
import { exportTo, hostList } from './common';

export interface ServiceEntryPort {
  number: number;
  protocol?: string;
  name: string;
  targetPort?: number;
}

export interface WorkloadEntrySpec {
  address?: string;
  ports?: Record<string, number>;
  labels?: Record<string, string>;
  network?: string;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
}

export interface ServiceEntrySpec {
  hosts: string[];
  addresses?: string[];
  ports?: ServiceEntryPort[];
  location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  endpoints?: WorkloadEntrySpec[];
  workloadSelector?: { labels?: Record<string, string> };
  exportTo?: string[];
  subjectAltNames?: string[];
}

export type ServiceEntry = Resource<ServiceEntrySpec>;

/**
 * The entry's VIPs from spec.addresses: plain IPs, and CIDRs that name one address (/32, /128). Wider CIDRs name no
 * single address (istiod passes them on with a prefix length, which ambit's model does not carry), so they are left out.
 */
export function serviceEntryVips(spec: Pick<ServiceEntrySpec, 'addresses'> | undefined): string[] {
  const vips: string[] = [];
  for (const address of spec?.addresses ?? []) {
    const [ip, bits] = address.split('/');
    if (!isIpAddress(ip)) continue;
    const full = ip.includes(':') ? '128' : '32';
    if (bits === undefined || bits === full) vips.push(ip);
  }
  return vips;
}

/** Protocols Istio names on ports (matched case-insensitively, as Istio does). */
export const PORT_PROTOCOLS = ['HTTP', 'HTTPS', 'GRPC', 'GRPC-WEB', 'HTTP2', 'MONGO', 'MYSQL', 'REDIS', 'TCP', 'TLS', 'UDP', 'THRIFT'] as const;

const protocol = str({
  format: (s) => ((PORT_PROTOCOLS as readonly string[]).includes(s.toUpperCase()) ? undefined : `unknown protocol ${JSON.stringify(s)} (supported: ${PORT_PROTOCOLS.join(', ')})`),
});

const port = object({ number: required(portNumber()), protocol, name: required(str({ nonEmpty: true })), targetPort: portNumber() });

/** An endpoint address is an IP, a DNS name (with DNS resolution), or a unix domain socket. */
const endpointAddress = str({
  format: (s) => (isIpAddress(s) || s.startsWith('unix://') || isIstioHost(s) ? undefined : `${JSON.stringify(s)} is not an IP address, host name or unix:// path`),
});

const endpoint = object({
  address: endpointAddress,
  ports: mapOf(portNumber()),
  labels: labelsSchema(),
  network: str(),
  locality: str(),
  weight: int({ min: 0 }),
  serviceAccount: dnsLabel(),
});

function checkEntry(spec: ServiceEntrySpec, at: Cursor): void {
  spec.hosts.forEach((h, i) => {
    if (h === '*') at.at('hosts').at(i).fail('"*" is not allowed in a ServiceEntry; name the hosts it adds');
  });
  const resolution = spec.resolution ?? 'NONE';
  if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && (spec.endpoints ?? []).length === 0) {
    spec.hosts.forEach((h, i) => {
      if (h.startsWith('*')) at.at('hosts').at(i).fail(`wildcard host ${JSON.stringify(h)} cannot be resolved with DNS; add endpoints or use resolution NONE`);
    });
  }
  if (resolution === 'STATIC' && (spec.endpoints ?? []).length === 0 && spec.workloadSelector === undefined) {
    at.at('endpoints').fail('resolution STATIC needs endpoints (or a workloadSelector)');
  }
  const seen = new Map<number, number>();
  (spec.ports ?? []).forEach((p, i) => {
    const first = seen.get(p.number);
    if (first === undefined) seen.set(p.number, i);
    else at.at('ports').at(i).at('number').fail(`duplicate port ${p.number} (also used by ports[${first}])`);
  });
}

export const serviceEntrySpecSchema = object<ServiceEntrySpec>(
  {
    hosts: required(hostList({ minItems: 1 })),
    addresses: list(ipOrCidr()),
    ports: list(port, { uniqueField: 'name' }),
    location: enumOf(['MESH_EXTERNAL', 'MESH_INTERNAL']),
    resolution: enumOf(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN']),
    endpoints: list(endpoint),
    workloadSelector: object({ labels: labelsSchema() }),
    exportTo: exportTo(),
    subjectAltNames: list(str()),
  },
  { atMostOne: [['endpoints', 'workloadSelector']], refine: checkEntry },
);

export const serviceEntryKind: KindDefinition = {
  group: 'networking.istio.io',
  kind: 'ServiceEntry',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  namespaced: true,
  plural: 'serviceentries',
  singular: 'serviceentry',
  shortNames: ['se'],
  nameFormat: 'dns-1123-subdomain',
  fields: { spec: required(serviceEntrySpecSchema) },
};
