// The local runtime's kube-proxy: ClusterIP:port is DNATed in each node netns to a ready endpoint, chosen at random per connection.
import { createHash } from 'node:crypto';
import { run } from './shell';

export interface ServiceBackend {
  readonly ip: string;
  readonly port: number;
}

/** One ClusterIP port and where its connections may go. */
export interface ServicePortRule {
  /** "namespace/service:port", for the rule comments an operator reads in iptables-save. */
  readonly name: string;
  readonly clusterIp: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  readonly backends: readonly ServiceBackend[];
}

const HAIRPIN_MARK = '0x4000/0x4000';
const SERVICES = 'AMBIT-SERVICES';
const POSTROUTING = 'AMBIT-POSTROUTING';

function chainName(prefix: string, text: string): string {
  return `${prefix}-${createHash('sha256').update(text).digest('hex').slice(0, 16).toUpperCase()}`;
}

/** Hooks the ambit chains into the built-in ones; done once per node netns. */
export function renderServiceHooks(): string {
  return [
    '*nat',
    `:${SERVICES} - [0:0]`,
    `:${POSTROUTING} - [0:0]`,
    `-A PREROUTING -j ${SERVICES}`,
    `-A OUTPUT -j ${SERVICES}`,
    `-A POSTROUTING -j ${POSTROUTING}`,
    'COMMIT',
    '*filter',
    `:${SERVICES} - [0:0]`,
    `-A FORWARD -j ${SERVICES}`,
    `-A OUTPUT -j ${SERVICES}`,
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * The full desired content of ambit's chains, for `iptables-restore --noflush`. Chains that existed before and are no
 * longer wanted are flushed and deleted. Ports without endpoints are rejected with a reset, as kube-proxy does.
 */
export function renderServiceRules(rules: readonly ServicePortRule[], nodeIp: string, previousChains: ReadonlySet<string>): { text: string; chains: Set<string> } {
  const nat: string[] = [];
  const filter: string[] = [];
  const chains = new Set<string>();
  const declare: string[] = [`:${SERVICES} - [0:0]`, `:${POSTROUTING} - [0:0]`];
  nat.push(`-A ${POSTROUTING} -m mark --mark ${HAIRPIN_MARK} -j SNAT --to-source ${nodeIp}`);
  for (const rule of [...rules].sort((a, b) => a.name.localeCompare(b.name))) {
    const proto = rule.protocol.toLowerCase();
    const match = `-d ${rule.clusterIp}/32 -p ${proto} -m ${proto} --dport ${rule.port}`;
    const comment = `-m comment --comment "${rule.name}"`;
    if (rule.backends.length === 0) {
      filter.push(`-A ${SERVICES} ${match} ${comment} -j REJECT --reject-with ${proto === 'tcp' ? 'tcp-reset' : 'icmp-port-unreachable'}`);
      continue;
    }
    const serviceChain = chainName('AMBIT-SVC', rule.name);
    chains.add(serviceChain);
    declare.push(`:${serviceChain} - [0:0]`);
    nat.push(`-A ${SERVICES} ${match} ${comment} -j ${serviceChain}`);
    rule.backends.forEach((backend, index) => {
      const endpointChain = chainName('AMBIT-SEP', `${rule.name}/${backend.ip}:${backend.port}`);
      chains.add(endpointChain);
      declare.push(`:${endpointChain} - [0:0]`);
      const remaining = rule.backends.length - index;
      const pick = remaining > 1 ? `-m statistic --mode random --probability ${(1 / remaining).toFixed(10)} ` : '';
      nat.push(`-A ${serviceChain} ${pick}-j ${endpointChain}`);
      // A pod reaching itself through its own service must see the reply come back through the node.
      nat.push(`-A ${endpointChain} -s ${backend.ip}/32 -j MARK --set-xmark ${HAIRPIN_MARK}`);
      nat.push(`-A ${endpointChain} -p ${proto} -j DNAT --to-destination ${backend.ip}:${backend.port}`);
    });
  }
  const stale = [...previousChains].filter((chain) => !chains.has(chain));
  for (const chain of stale) declare.push(`:${chain} - [0:0]`);
  const deletions = stale.map((chain) => `-X ${chain}`);
  const text = ['*nat', ...declare, ...nat, ...deletions, 'COMMIT', '*filter', `:${SERVICES} - [0:0]`, ...filter, 'COMMIT', ''].join('\n');
  return { text, chains };
}

/** Keeps one node netns's service rules in step with the desired rules. */
export class NodeServiceProxy {
  private chains = new Set<string>();
  private lastText = '';

  constructor(
    private readonly netns: string,
    private readonly nodeIp: string,
  ) {}

  async install(): Promise<void> {
    await run('ip', ['netns', 'exec', this.netns, 'iptables-restore', '--noflush'], { input: renderServiceHooks() });
  }

  async sync(rules: readonly ServicePortRule[]): Promise<void> {
    const { text, chains } = renderServiceRules(rules, this.nodeIp, this.chains);
    if (text === this.lastText) return;
    await run('ip', ['netns', 'exec', this.netns, 'iptables-restore', '--noflush'], { input: text });
    this.chains = chains;
    this.lastText = text;
  }
}
