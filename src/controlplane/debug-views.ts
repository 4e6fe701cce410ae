// Human-readable JSON views of the model and of what was pushed, for the debug endpoint and `ambit ztunnel-config`.
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, decodeAddress, decodeAuthorization, ipFromBytes } from '../xds';
import type { MeshIndex } from './model/mesh-index';
import { workloadIdentity } from './model/types';
import type { DeltaXdsServer } from './push';

export function workloadsView(index: MeshIndex) {
  return index
    .workloads()
    .map((w) => ({
      uid: w.uid,
      name: w.name,
      namespace: w.namespace,
      ips: w.ips,
      node: w.node,
      identity: workloadIdentity(w),
      protocol: w.ambient ? 'HBONE' : 'TCP',
      status: w.healthy ? 'Healthy' : 'Unhealthy',
      services: [...w.services.keys()],
      policies: w.selectorPolicies,
    }))
    .sort((a, b) => a.uid.localeCompare(b.uid));
}

export function servicesView(index: MeshIndex) {
  const endpoints = new Map<string, number>();
  for (const workload of index.workloads()) for (const key of workload.services.keys()) endpoints.set(key, (endpoints.get(key) ?? 0) + 1);
  return index
    .services()
    .map((s) => ({ name: `${s.namespace}/${s.hostname}`, vips: s.vips, ports: s.ports.map((p) => `${p.servicePort}->${p.targetPort || 'named'}`), endpoints: endpoints.get(`${s.namespace}/${s.hostname}`) ?? 0 }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function policiesView(index: MeshIndex) {
  return index
    .policies()
    .map((p) => ({ name: p.name, scope: p.scope, action: p.authorization.action ?? 'ALLOW', selector: p.selector ?? null, rules: p.authorization.rules?.length ?? 0 }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** What each connected proxy has ACKed, decoded; `nodeFilter` keeps proxies whose node id mentions that node. */
export function pushedView<T>(server: DeltaXdsServer<T>, index: MeshIndex, nodeFilter?: string) {
  return server
    .clients()
    .filter((client) => !nodeFilter || client.nodeId.includes(`-${nodeFilter}.`) || client.nodeId.includes(`~${nodeFilter}~`))
    .map((client) => ({
      nodeId: client.nodeId,
      connectedAt: client.connectedAt,
      types: client.types.map((type) => {
        const current = index.resources(type.typeUrl);
        const resources = Object.entries(type.acked).map(([name, version]) => {
          const entry = current.get(name);
          const upToDate = entry?.version === version;
          let decoded: unknown;
          if (entry && upToDate) {
            decoded = type.typeUrl === ADDRESS_TYPE_URL ? decodeAddress(entry.resource) : type.typeUrl === AUTHORIZATION_TYPE_URL ? decodeAuthorization(entry.resource) : undefined;
          }
          return { name, version, upToDate, resource: decoded };
        });
        return { typeUrl: type.typeUrl, lastNack: type.lastNack ?? null, resources };
      }),
    }));
}

/** JSON.stringify replacer that prints IP bytes as addresses. */
export function debugJsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return ipFromBytes(value) ?? Buffer.from(value).toString('base64');
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}
