// Local mode's waypoint reconciler (istiod's job on Kubernetes): each istio-waypoint Gateway gets a ServiceAccount, Service and Deployment.
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Resource } from '../api';
import { resourceKey, WAYPOINT_CLASS } from '../api';
import { GATEWAY_NAME_LABEL } from '../controlplane/model/waypoints';

export interface WaypointRuntimeSettings {
  /** host:port of the control plane, as pods reach it. */
  readonly controlPlaneAddress: string;
  readonly rootCertFile: string;
  /** Node tokens directory; the pod reads the token of the node it lands on ($(NODE_NAME)). */
  readonly nodeTokenDir: string;
  readonly trustDomain: string;
}

export interface WaypointPlan {
  readonly upserts: readonly Resource[];
  readonly deleteKeys: readonly string[];
}

const WAYPOINT_MAIN = path.join(__dirname, '..', 'waypoint', 'main.js');

function owned(gateway: Resource, object: Omit<Resource, 'metadata'> & { metadata: Omit<Resource['metadata'], 'ownerReferences'> }): Resource {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      ownerReferences: [{ apiVersion: gateway.apiVersion, kind: 'Gateway', name: gateway.metadata.name, uid: gateway.metadata.uid as string, controller: true }],
    },
  };
}

/** The objects one waypoint Gateway needs, as istiod would create them (named after the Gateway, no class suffix). */
export function waypointObjects(gateway: Resource, settings: WaypointRuntimeSettings): Resource[] {
  const name = gateway.metadata.name;
  const namespace = gateway.metadata.namespace ?? 'default';
  const labels = { [GATEWAY_NAME_LABEL]: name };
  const identity = `spiffe://${settings.trustDomain}/ns/${namespace}/sa/${name}`;
  return [
    owned(gateway, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels } }),
    owned(gateway, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels },
      spec: { type: 'ClusterIP', selector: labels, ports: [{ name: 'mesh', port: 15008, targetPort: 15008, protocol: 'TCP' }] },
    }),
    owned(gateway, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          // A waypoint is never captured by its own node's ztunnel: it speaks HBONE itself.
          metadata: { labels: { ...labels, 'istio.io/dataplane-mode': 'none' } },
          spec: {
            serviceAccountName: name,
            restartPolicy: 'Always',
            containers: [
              {
                name: 'istio-proxy',
                // As for the ztunnel (same relay, same GC pattern): V8's GC helper threads cost more than they save on
                // a small node; bench/l7/micro.js: 43.5-44.6 -> 39.3-40.2 CPU-ms per 1k requests.
                command: [process.execPath, '--single-threaded-gc', WAYPOINT_MAIN],
                args: [
                  '--name', name,
                  '--namespace', namespace,
                  '--identity', identity,
                  '--control-plane', settings.controlPlaneAddress,
                  '--root-cert', settings.rootCertFile,
                  '--token-file', path.join(settings.nodeTokenDir, '$(NODE_NAME)'),
                  '--pod-ip', '$(POD_IP)',
                  '--pod-name', '$(POD_NAME)',
                ],
                ports: [{ name: 'mesh', containerPort: 15008 }, { name: 'status', containerPort: 15021 }],
                readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    }),
  ];
}

function comparable(object: Resource): unknown {
  return { labels: object.metadata.labels, owners: object.metadata.ownerReferences, spec: object.spec };
}

/** What to write so that every waypoint Gateway has its objects and objects of deleted Gateways go. */
export function planWaypoints(objects: ReadonlyMap<string, Resource>, settings: WaypointRuntimeSettings): WaypointPlan {
  const gateways = [...objects.values()].filter((object) => object.kind === 'Gateway' && (object.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName === WAYPOINT_CLASS && object.metadata.uid);
  const liveUids = new Set(gateways.map((gateway) => gateway.metadata.uid));
  const upserts: Resource[] = [];
  for (const gateway of gateways) {
    for (const desired of waypointObjects(gateway, settings)) {
      const existing = objects.get(resourceKey(desired));
      // The ClusterIP is allocated once and kept, as the API server does.
      const existingIp = existing?.kind === 'Service' ? (existing.spec as { clusterIP?: string } | undefined)?.clusterIP : undefined;
      if (existingIp) (desired.spec as { clusterIP?: string }).clusterIP = existingIp;
      if (!existing || !isDeepStrictEqual(comparable(existing), comparable(desired))) upserts.push(existing ? { ...desired, metadata: { ...existing.metadata, ...desired.metadata }, status: existing.status } : desired);
    }
  }
  const deleteKeys = [...objects.entries()]
    .filter(([, object]) => object.metadata.ownerReferences?.some((ref) => ref.kind === 'Gateway' && ref.controller && !liveUids.has(ref.uid)))
    .map(([key]) => key);
  return { upserts, deleteKeys };
}

/** Gateway status as istiod reports it: Programmed once a waypoint pod is ready, with the Service address. */
export function waypointGatewayStatus(gateway: Resource, objects: ReadonlyMap<string, Resource>): unknown {
  const namespace = gateway.metadata.namespace ?? 'default';
  const name = gateway.metadata.name;
  const ready = [...objects.values()].some(
    (object) =>
      object.kind === 'Pod' &&
      object.metadata.namespace === namespace &&
      object.metadata.labels?.[GATEWAY_NAME_LABEL] === name &&
      (object.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
  const vip = (objects.get(`Service/${namespace}/${name}`)?.spec as { clusterIP?: string } | undefined)?.clusterIP;
  return {
    addresses: vip ? [{ type: 'IPAddress', value: vip }] : [],
    conditions: [
      { type: 'Accepted', status: 'True', reason: 'Accepted' },
      { type: 'Programmed', status: ready ? 'True' : 'False', reason: ready ? 'Programmed' : 'NoReadyPods', message: ready ? 'the waypoint is ready' : 'waiting for the waypoint pod to be ready' },
    ],
  };
}
