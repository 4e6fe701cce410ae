// networking.istio.io VirtualService: how requests to a set of hosts are routed.

import type { KindDefinition } from '../kind';
import type { Resource } from '../resource';
import { list, object, opaque, required, str, type Cursor } from '../schema';
import { exportTo, hostList } from './common';
import { httpRouteSchema, type VirtualServiceHttpRoute } from './http-route';

export interface VirtualServiceSpec {
  hosts: string[];
  /** "mesh" (the default when omitted) and/or gateway names ("[namespace/]name"). */
  gateways?: string[];
  http?: VirtualServiceHttpRoute[];
  /** Accepted and not interpreted. */
  tcp?: unknown[];
  tls?: unknown[];
  exportTo?: string[];
}

export type VirtualService = Resource<VirtualServiceSpec>;

/** A bare "*" host would capture all mesh traffic, so Istio allows it only on gateways. */
function checkMeshWildcard(spec: VirtualServiceSpec, at: Cursor): void {
  const gateways = spec.gateways ?? ['mesh'];
  if (!gateways.includes('mesh')) return;
  spec.hosts.forEach((h, i) => {
    if (h === '*') at.at('hosts').at(i).fail('"*" is not allowed for mesh traffic; name the service host, or bind the VirtualService to a gateway');
  });
}

export const virtualServiceSpecSchema = object<VirtualServiceSpec>(
  {
    hosts: required(hostList({ minItems: 1 })),
    gateways: list(str({ nonEmpty: true })),
    http: list(httpRouteSchema),
    tcp: list(opaque()),
    tls: list(opaque()),
    exportTo: exportTo(),
  },
  { refine: checkMeshWildcard },
);

export const virtualServiceKind: KindDefinition = {
  group: 'networking.istio.io',
  kind: 'VirtualService',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  namespaced: true,
  plural: 'virtualservices',
  singular: 'virtualservice',
  shortNames: ['vs'],
  nameFormat: 'dns-1123-subdomain',
  fields: { spec: required(virtualServiceSpecSchema) },
};
