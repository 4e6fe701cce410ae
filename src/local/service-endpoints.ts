// Derives what kube-proxy and DNS need from stored objects: each Service port's ready backends, and the names to resolve.
import type { Resource } from '../api';
import type { PodSpec, ServiceSpec } from '../api';
import type { ServiceBackend, ServicePortRule } from './service-proxy';
import type { ServiceName } from './pod-dns';
import { isPodReady, podIp } from './pod-status';

function selects(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** A Service's targetPort resolved against one pod: numbers pass through, names look up the container port. */
export function resolveTargetPort(targetPort: number | string | undefined, servicePort: number, pod: PodSpec): number | undefined {
  if (targetPort === undefined) return servicePort;
  if (typeof targetPort === 'number') return targetPort;
  for (const container of pod.containers) {
    const port = container.ports?.find((candidate) => candidate.name === targetPort);
    if (port) return port.containerPort;
  }
  return undefined;
}

export function servicePortRules(objects: ReadonlyMap<string, Resource>): ServicePortRule[] {
  const pods = [...objects.values()].filter((object) => object.kind === 'Pod') as Resource<PodSpec>[];
  const rules: ServicePortRule[] = [];
  for (const object of objects.values()) {
    if (object.kind !== 'Service') continue;
    const spec = object.spec as ServiceSpec;
    if (!spec.clusterIP || spec.clusterIP === 'None') continue;
    const ready = pods.filter((pod) => pod.metadata.namespace === object.metadata.namespace && selects(spec.selector, pod.metadata.labels) && isPodReady(pod));
    for (const port of spec.ports ?? []) {
      const backends: ServiceBackend[] = [];
      for (const pod of ready) {
        const ip = podIp(pod);
        const target = resolveTargetPort(port.targetPort, port.port, pod.spec as PodSpec);
        if (ip && target !== undefined) backends.push({ ip, port: target });
      }
      rules.push({
        name: `${object.metadata.namespace}/${object.metadata.name}:${port.name ?? port.port}`,
        clusterIp: spec.clusterIP,
        port: port.port,
        protocol: port.protocol === 'UDP' ? 'UDP' : 'TCP',
        backends,
      });
    }
  }
  return rules;
}

export function serviceNames(objects: ReadonlyMap<string, Resource>): ServiceName[] {
  const names: ServiceName[] = [];
  for (const object of objects.values()) {
    if (object.kind !== 'Service') continue;
    const clusterIp = (object.spec as ServiceSpec).clusterIP;
    if (clusterIp && clusterIp !== 'None') names.push({ namespace: object.metadata.namespace as string, name: object.metadata.name, clusterIp });
  }
  return names;
}
