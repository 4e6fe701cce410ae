// The l4 benchmark's cluster (two namespaces, five pods on two nodes) and the four paths it measures on it.
import { ECHO_PORT, ONCE_PORT, SINK_PORT } from './load-tool';
import type { WatchedProcess } from './process-sampler';
import { StunnelPair } from './stunnel-pair';
import type { ZtunnelProcess } from './ztunnels';

export const PLAIN_NAMESPACE = 'l4plain';
export const MESH_NAMESPACE = 'l4mesh';

/** Pods by namespace, with the node each is pinned to. Every container only sleeps: the bench runs its tools in the pods' netns. */
export const PODS = [
  { namespace: PLAIN_NAMESPACE, name: 'client', node: 'node-1' },
  { namespace: PLAIN_NAMESPACE, name: 'server', node: 'node-2' },
  { namespace: MESH_NAMESPACE, name: 'client', node: 'node-1' },
  { namespace: MESH_NAMESPACE, name: 'server-local', node: 'node-1' },
  { namespace: MESH_NAMESPACE, name: 'server-remote', node: 'node-2' },
] as const;

export type PathId = 'direct' | 'stunnel' | 'ztunnel-same-node' | 'ztunnel-cross-node';

/** One way from a client pod to a server's three l4load ports. */
export interface MeasuredPath {
  readonly id: PathId;
  /** Row name in the report. */
  readonly label: string;
  readonly clientNetns: string;
  /** Address the client dials: the server pod, or 127.0.0.1 for the stunnel client. */
  readonly host: string;
  readonly sinkPort: number;
  readonly echoPort: number;
  readonly oncePort: number;
  /** Proxies on the path, client side first; empty for the direct path. On the same node one ztunnel is both sides. */
  readonly proxies: readonly WatchedProcess[];
  /** For mesh paths: where to count the mutual-TLS connections that prove the path went through the ztunnels. */
  readonly mesh?: { readonly destinationZtunnel: ZtunnelProcess; readonly namespace: string; readonly workload: string };
}

/** The cluster as `ambit up --config` reads it. */
export function clusterManifest(): string {
  const namespaces = [
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${PLAIN_NAMESPACE}`,
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${MESH_NAMESPACE}\n  labels:\n    istio.io/dataplane-mode: ambient`,
  ];
  const pods = PODS.map((pod) =>
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      `  name: ${pod.name}`,
      `  namespace: ${pod.namespace}`,
      `  labels: { app: ${pod.name} }`,
      'spec:',
      `  nodeName: ${pod.node}`,
      '  containers:',
      '  - name: main',
      '    command: ["sleep", "infinity"]',
    ].join('\n'),
  );
  return `${[...namespaces, ...pods].join('\n---\n')}\n`;
}

export interface PathInputs {
  readonly podNetns: (namespace: string, pod: string) => string;
  readonly podIp: (namespace: string, pod: string) => string;
  readonly ztunnels: { readonly node1: ZtunnelProcess; readonly node2: ZtunnelProcess };
  readonly stunnel: StunnelPair;
}

export function measuredPaths(inputs: PathInputs): MeasuredPath[] {
  const { podNetns, podIp, ztunnels, stunnel } = inputs;
  const toolPorts = { sinkPort: SINK_PORT, echoPort: ECHO_PORT, oncePort: ONCE_PORT };
  const ztunnel1 = { label: 'ztunnel node-1', pid: ztunnels.node1.pid };
  const ztunnel2 = { label: 'ztunnel node-2', pid: ztunnels.node2.pid };
  return [
    {
      id: 'direct',
      label: 'direct',
      clientNetns: podNetns(PLAIN_NAMESPACE, 'client'),
      host: podIp(PLAIN_NAMESPACE, 'server'),
      ...toolPorts,
      proxies: [],
    },
    {
      id: 'stunnel',
      label: 'stunnel TLS 1.3',
      clientNetns: podNetns(PLAIN_NAMESPACE, 'client'),
      host: '127.0.0.1',
      sinkPort: StunnelPair.clientPort(SINK_PORT),
      echoPort: StunnelPair.clientPort(ECHO_PORT),
      oncePort: StunnelPair.clientPort(ONCE_PORT),
      proxies: [
        { label: 'stunnel client', pid: stunnel.clientPid },
        { label: 'stunnel server', pid: stunnel.serverPid },
      ],
    },
    {
      id: 'ztunnel-same-node',
      label: 'ztunnel same node',
      clientNetns: podNetns(MESH_NAMESPACE, 'client'),
      host: podIp(MESH_NAMESPACE, 'server-local'),
      ...toolPorts,
      proxies: [ztunnel1],
      mesh: { destinationZtunnel: ztunnels.node1, namespace: MESH_NAMESPACE, workload: 'server-local' },
    },
    {
      id: 'ztunnel-cross-node',
      label: 'ztunnel cross node',
      clientNetns: podNetns(MESH_NAMESPACE, 'client'),
      host: podIp(MESH_NAMESPACE, 'server-remote'),
      ...toolPorts,
      proxies: [ztunnel1, ztunnel2],
      mesh: { destinationZtunnel: ztunnels.node2, namespace: MESH_NAMESPACE, workload: 'server-remote' },
    },
  ];
}
