// The command line of the CNI agent on Kubernetes (agent-main.js), parsed and checked before anything starts.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { flag, flagAll, parseArgs, UsageError } from '../../cli/args';
import { DEFAULT_NETNS_DIR } from './running-pods';

export const DEFAULT_AGENT_SOCKET = '/var/run/ambit/cni-agent.sock';
export const DEFAULT_ZTUNNEL_SOCKET = '/var/run/ztunnel/ztunnel.sock';

export const AGENT_USAGE =
  'usage: agent-main --node NAME [--agent-socket PATH] [--ztunnel-socket PATH] [--kubeconfig FILE] [--context NAME] [--netns-dir DIR] [--probe-source IPv4]...';

export interface KubeAgentFlags {
  readonly nodeName: string;
  readonly agentSocket: string;
  readonly ztunnelSocket: string;
  /** Undefined: in-cluster service account (or $KUBECONFIG / ~/.kube/config outside a cluster). */
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly netnsDir: string;
  readonly probeSourceAddresses: readonly string[];
}

/** The host's non-loopback IPv4 addresses: the agent runs in the node's netns, where kubelet probes come from. */
export function hostIpv4Addresses(interfaces: ReturnType<typeof os.networkInterfaces> = os.networkInterfaces()): string[] {
  const addresses = new Set<string>();
  for (const entries of Object.values(interfaces)) {
    for (const entry of entries ?? []) if (entry.family === 'IPv4' && !entry.internal && !entry.address.startsWith('127.')) addresses.add(entry.address);
  }
  return [...addresses];
}

function absolutePath(name: string, value: string): string {
  if (value === '') throw new UsageError(`--${name} must not be empty`);
  return path.resolve(value);
}

/**
 * Throws UsageError naming the flag to fix. `env` supplies NODE_NAME (the DaemonSet's downward-API value);
 * `hostAddresses` is asked only when no --probe-source is given.
 */
export function parseAgentFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, hostAddresses: () => string[] = hostIpv4Addresses): KubeAgentFlags {
  const args = parseArgs(argv, ['node', 'agent-socket', 'ztunnel-socket', 'kubeconfig', 'context', 'netns-dir', 'probe-source'].map((name) => ({ name })));
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}; ${AGENT_USAGE}`);
  const nodeName = flag(args, 'node') ?? env.NODE_NAME ?? '';
  if (nodeName === '') throw new UsageError(`missing --node (or $NODE_NAME): the name of the Kubernetes node this agent serves; ${AGENT_USAGE}`);
  const agentSocket = absolutePath('agent-socket', flag(args, 'agent-socket') ?? DEFAULT_AGENT_SOCKET);
  const ztunnelSocket = absolutePath('ztunnel-socket', flag(args, 'ztunnel-socket') ?? DEFAULT_ZTUNNEL_SOCKET);
  if (agentSocket === ztunnelSocket) throw new UsageError(`--agent-socket and --ztunnel-socket are both ${agentSocket}; the plugin's socket and the ztunnel's must differ`);
  const given = flagAll(args, 'probe-source');
  for (const address of given) if (!net.isIPv4(address)) throw new UsageError(`--probe-source ${JSON.stringify(address)} is not an IPv4 address`);
  const probeSourceAddresses = given.length > 0 ? [...new Set(given)] : hostAddresses();
  if (probeSourceAddresses.length === 0) throw new UsageError('the host network has no non-loopback IPv4 address to exempt kubelet probes from capture; pass --probe-source with the node\'s address');
  const kubeconfig = flag(args, 'kubeconfig');
  const context = flag(args, 'context');
  return {
    nodeName,
    agentSocket,
    ztunnelSocket,
    ...(kubeconfig === undefined ? {} : { kubeconfig: absolutePath('kubeconfig', kubeconfig) }),
    ...(context === undefined ? {} : { context }),
    netnsDir: absolutePath('netns-dir', flag(args, 'netns-dir') ?? DEFAULT_NETNS_DIR),
    probeSourceAddresses,
  };
}
