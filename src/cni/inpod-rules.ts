// The capture rules installed inside an enrolled pod's netns (Istio's in-pod "redirect" mode): rendering, reading back, installing and removing them.
//
// Outbound TCP goes to the ztunnel's 15001, inbound TCP to 15006; HBONE (15008), loopback, the ztunnel's own
// marked traffic (SO_MARK 0x539) and kubelet probes from the node are left alone. Connections the ztunnel makes
// into the app are conn-marked 0x111 so the app's replies, addressed to the (spoofed) client, are routed back to
// the ztunnel's transparent socket by `ip rule fwmark 0x111/0xfff lookup 100` + `local 0.0.0.0/0 dev lo table 100`.
// Everything ambit adds lives in two chains per table (AMBIT-PRERT, AMBIT-OUTPUT) so removal is exact.

import net from 'node:net';
import { netnsExists, netnsRef, runInNetns, type NetnsRef } from './netns-exec';

/** Ports the ztunnel listens on inside the pod. */
export const OUTBOUND_CAPTURE_PORT = 15001;
export const INBOUND_CAPTURE_PORT = 15006;
export const HBONE_PORT = 15008;
/** SO_MARK on the ztunnel's own sockets (Istio's 1337). */
export const ZTUNNEL_MARK = '0x539/0xfff';
/** Connection mark for connections the ztunnel made into the pod. */
export const CONNECTION_MARK = '0x111/0xfff';
export const ROUTE_TABLE = 100;
export const RULE_PRIORITY = 32764;

export const PRERT_CHAIN = 'AMBIT-PRERT';
export const OUTPUT_CHAIN = 'AMBIT-OUTPUT';
const AMBIT_CHAINS = [PRERT_CHAIN, OUTPUT_CHAIN] as const;
/** Built-in chain each ambit chain is jumped to from. */
const HOOKS: Readonly<Record<(typeof AMBIT_CHAINS)[number], string>> = { [PRERT_CHAIN]: 'PREROUTING', [OUTPUT_CHAIN]: 'OUTPUT' };

export interface InpodRuleOptions {
  /**
   * Source addresses of kubelet-style probes (the node's own addresses). TCP from them reaches the app
   * directly, as Istio does for its SNATed probe address 169.254.7.127.
   */
  readonly probeSourceAddresses: readonly string[];
}

export class InvalidInpodRuleOption extends Error {
  readonly code = 'INVALID_INPOD_RULE_OPTION' as const;
  constructor(readonly value: string) {
    super(`probe source ${JSON.stringify(value)} is not an IPv4 address (pods are IPv4-only in ambit)`);
    this.name = 'InvalidInpodRuleOption';
  }
}

/** Rules per chain, in order, as `-A CHAIN ...` lines. */
function chainRules(table: 'mangle' | 'nat', options: InpodRuleOptions): Record<(typeof AMBIT_CHAINS)[number], string[]> {
  if (table === 'mangle') {
    return {
      [PRERT_CHAIN]: [`-A ${PRERT_CHAIN} -m mark --mark ${ZTUNNEL_MARK} -j CONNMARK --set-xmark ${CONNECTION_MARK}`],
      [OUTPUT_CHAIN]: [`-A ${OUTPUT_CHAIN} -m connmark --mark ${CONNECTION_MARK} -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff`],
    };
  }
  const probes = [...new Set(options.probeSourceAddresses)].map((address) => {
    if (net.isIPv4(address) === false) throw new InvalidInpodRuleOption(address);
    return `-A ${PRERT_CHAIN} -s ${address}/32 -p tcp -m tcp -j ACCEPT`;
  });
  return {
    [PRERT_CHAIN]: [
      ...probes,
      `-A ${PRERT_CHAIN} ! -d 127.0.0.1/32 -p tcp -m tcp ! --dport ${HBONE_PORT} -m mark ! --mark ${ZTUNNEL_MARK} -j REDIRECT --to-ports ${INBOUND_CAPTURE_PORT}`,
    ],
    [OUTPUT_CHAIN]: [
      `-A ${OUTPUT_CHAIN} -p tcp -m mark --mark ${CONNECTION_MARK} -j ACCEPT`,
      `-A ${OUTPUT_CHAIN} ! -d 127.0.0.1/32 -o lo -j ACCEPT`,
      `-A ${OUTPUT_CHAIN} ! -d 127.0.0.1/32 -p tcp -m mark ! --mark ${ZTUNNEL_MARK} -j REDIRECT --to-ports ${OUTBOUND_CAPTURE_PORT}`,
    ],
  };
}

/** What of ambit's is present in one table, as iptables-save prints it. */
export interface AmbitTableRules {
  /** Rules in other chains that jump to an ambit chain, without the leading "-A ", e.g. "PREROUTING -j AMBIT-PRERT". */
  readonly jumps: string[];
  /** The ambit chains that exist, and their rules as "-A CHAIN ..." lines. */
  readonly chains: Map<string, string[]>;
}

/** Everything ambit-owned found in an `iptables-save` dump (or a rendered restore text), by table. */
export type AmbitRules = Map<string, AmbitTableRules>;

const JUMP_TO_AMBIT = new RegExp(`\\s-[jg] (${AMBIT_CHAINS.join('|')})(\\s|$)`);

/** Reads ambit's chains and the jumps into them out of iptables-save output; everything else is ignored. */
export function findAmbitRules(dump: string): AmbitRules {
  const found: AmbitRules = new Map();
  let table: AmbitTableRules | undefined;
  for (const raw of dump.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      const name = line.slice(1);
      table = found.get(name) ?? { jumps: [], chains: new Map() };
      found.set(name, table);
      continue;
    }
    if (!table) continue;
    const declared = /^:(\S+)/.exec(line);
    if (declared && (AMBIT_CHAINS as readonly string[]).includes(declared[1])) {
      if (!table.chains.has(declared[1])) table.chains.set(declared[1], []);
      continue;
    }
    const appended = /^-A (\S+)/.exec(line);
    if (!appended) continue;
    if ((AMBIT_CHAINS as readonly string[]).includes(appended[1])) {
      const rules = table.chains.get(appended[1]) ?? [];
      rules.push(line);
      table.chains.set(appended[1], rules);
    } else if (JUMP_TO_AMBIT.test(line)) {
      table.jumps.push(line.slice(3));
    }
  }
  for (const [name, rules] of found) if (rules.jumps.length === 0 && rules.chains.size === 0) found.delete(name);
  return found;
}

/** Restore text that deletes every ambit jump and chain in `existing`; '' when there is nothing. Other rules are untouched. */
export function renderInpodRemoval(existing: AmbitRules): string {
  const blocks: string[] = [];
  for (const [table, rules] of [...existing].sort(([a], [b]) => a.localeCompare(b))) {
    const chains = [...rules.chains.keys()].sort();
    blocks.push(`*${table}`, ...rules.jumps.map((jump) => `-D ${jump}`), ...chains.map((chain) => `-F ${chain}`), ...chains.map((chain) => `-X ${chain}`), 'COMMIT');
  }
  return blocks.length === 0 ? '' : `${blocks.join('\n')}\n`;
}

/**
 * The iptables-restore text (for `--noflush`) that leaves exactly ambit's capture rules in the pod.
 * `existing` (what the pod has now) turns a reinstall into one atomic replacement per table: chain
 * declarations flush the chains, and old jumps are deleted before the new ones go in.
 */
export function renderInpodRules(options: InpodRuleOptions, existing: AmbitRules = new Map()): string {
  const lines: string[] = [];
  for (const table of ['mangle', 'nat'] as const) {
    const rules = chainRules(table, options);
    lines.push(`*${table}`, ...AMBIT_CHAINS.map((chain) => `:${chain} - [0:0]`));
    for (const jump of existing.get(table)?.jumps ?? []) lines.push(`-D ${jump}`);
    for (const chain of AMBIT_CHAINS) lines.push(`-A ${HOOKS[chain]} -j ${chain}`);
    for (const chain of AMBIT_CHAINS) lines.push(...rules[chain]);
    lines.push('COMMIT');
  }
  const elsewhere: AmbitRules = new Map([...existing].filter(([table]) => table !== 'mangle' && table !== 'nat'));
  return `${lines.join('\n')}\n${renderInpodRemoval(elsewhere)}`;
}

/** `ip` batch lines for the policy route that returns the app's replies to the ztunnel's transparent socket. */
export function renderInpodRoutes(action: 'add' | 'del'): string[] {
  return [`rule ${action} fwmark ${CONNECTION_MARK} pref ${RULE_PRIORITY} lookup ${ROUTE_TABLE}`, `route ${action} local 0.0.0.0/0 dev lo table ${ROUTE_TABLE}`];
}

interface RoutingState {
  readonly rule: boolean;
  readonly route: boolean;
}

async function routingState(ref: NetnsRef): Promise<RoutingState> {
  const rules = JSON.parse((await runInNetns(ref, 'ip', ['-j', 'rule', 'show'])) || '[]') as { priority?: number; fwmark?: string; fwmask?: string; table?: string }[];
  const routes = JSON.parse((await runInNetns(ref, 'ip', ['-j', 'route', 'show', 'table', 'all'])) || '[]') as { type?: string; dst?: string; dev?: string; table?: string }[];
  return {
    rule: rules.some((r) => r.priority === RULE_PRIORITY && r.fwmark === '0x111' && r.fwmask === '0xfff' && r.table === String(ROUTE_TABLE)),
    route: routes.some((r) => r.type === 'local' && r.dst === 'default' && r.dev === 'lo' && r.table === String(ROUTE_TABLE)),
  };
}

async function ambitRulesIn(ref: NetnsRef): Promise<AmbitRules> {
  return findAmbitRules(await runInNetns(ref, 'iptables-save', []));
}

/**
 * Installs (or replaces) the capture rules and policy route in a pod's netns, given by name or path.
 * Idempotent: installing again with other options swaps the rules atomically per table.
 */
export async function installInpodRules(netns: string, options: InpodRuleOptions): Promise<void> {
  const ref = netnsRef(netns);
  const text = renderInpodRules(options, await ambitRulesIn(ref));
  await runInNetns(ref, 'iptables-restore', ['--noflush'], { input: text });
  const state = await routingState(ref);
  const [rule, route] = renderInpodRoutes('add');
  const batch = [...(state.rule ? [] : [rule]), ...(state.route ? [] : [route])];
  if (batch.length > 0) await runInNetns(ref, 'ip', ['-batch', '-'], { input: `${batch.join('\n')}\n` });
}

/**
 * Removes ambit's jumps, chains, rule and route from a pod's netns, leaving every other rule alone.
 * Idempotent; resolves false when there was nothing to remove (including when the netns is gone).
 */
export async function removeInpodRules(netns: string): Promise<boolean> {
  const ref = netnsRef(netns);
  if (!netnsExists(ref)) return false;
  const text = renderInpodRemoval(await ambitRulesIn(ref));
  if (text !== '') await runInNetns(ref, 'iptables-restore', ['--noflush'], { input: text });
  const state = await routingState(ref);
  const [rule, route] = renderInpodRoutes('del');
  const batch = [...(state.rule ? [rule] : []), ...(state.route ? [route] : [])];
  if (batch.length > 0) await runInNetns(ref, 'ip', ['-batch', '-'], { input: `${batch.join('\n')}\n` });
  return text !== '' || batch.length > 0;
}

function sameRules(actual: AmbitRules, expected: AmbitRules): boolean {
  if (actual.size !== expected.size) return false;
  for (const [table, want] of expected) {
    const have = actual.get(table);
    if (!have || JSON.stringify([...have.jumps].sort()) !== JSON.stringify([...want.jumps].sort())) return false;
    if (have.chains.size !== want.chains.size) return false;
    for (const [chain, rules] of want.chains) if (JSON.stringify(have.chains.get(chain)) !== JSON.stringify(rules)) return false;
  }
  return true;
}

/**
 * True when the pod's netns has ambit's capture in place: both jumps in mangle and nat plus the policy route.
 * With `options`, the rules must also be exactly the ones those options render (catches a stale probe list).
 * False when the netns does not exist.
 */
export async function hasInpodRules(netns: string, options?: InpodRuleOptions): Promise<boolean> {
  const ref = netnsRef(netns);
  if (!netnsExists(ref)) return false;
  const actual = await ambitRulesIn(ref);
  const routing = await routingState(ref);
  if (!routing.rule || !routing.route) return false;
  if (options) return sameRules(actual, findAmbitRules(renderInpodRules(options)));
  return ['mangle', 'nat'].every((table) => AMBIT_CHAINS.every((chain) => actual.get(table)?.chains.has(chain) && actual.get(table)?.jumps.includes(`${HOOKS[chain]} -j ${chain}`)));
}
