// The ambit-cni plugin (CNI spec 1.0, chained after the primary CNI): tells the node's CNI agent about pod sandboxes and passes prevResult through.
import net from 'node:net';
import { callAgent, type AgentCallOutcome, type PluginCommand, type PluginRequest } from './agent-api';

export const PLUGIN_TYPE = 'ambit-cni';
/** Versions whose config carries prevResult, which a chained plugin needs; 1.1.0 would add GC and STATUS. */
export const SUPPORTED_CNI_VERSIONS: readonly string[] = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'];
const DEFAULT_CNI_VERSION = '1.0.0';
const DEFAULT_AGENT_TIMEOUT_MS = 15_000;

/** Well-known CNI error codes (spec "Well-known Error Codes"), plus ambit's own from 100 up. */
export const CNI_ERROR = {
  INCOMPATIBLE_VERSION: 1,
  INVALID_ENVIRONMENT: 4,
  IO_FAILURE: 5,
  DECODING_FAILURE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  /** The agent refused to set up capture for an ambient pod, for a reason retrying will not fix. */
  AGENT_REFUSED: 100,
  /** CHECK found an ambient pod without its capture. */
  CAPTURE_CHECK_FAILED: 101,
  /** A bug in the plugin; the details carry the exception. */
  INTERNAL: 102,
} as const;

export type CniErrorCode = (typeof CNI_ERROR)[keyof typeof CNI_ERROR];

/** The error result of the spec: printed on stdout, exit status 1. */
export class CniPluginError extends Error {
  constructor(
    readonly cniCode: CniErrorCode,
    readonly msg: string,
    readonly details: string,
  ) {
    super(`${msg}: ${details}`);
    this.name = 'CniPluginError';
  }
}

/** The plugin's configuration as the runtime passes it on stdin. */
export interface PluginConfig {
  readonly cniVersion: string;
  readonly name: string;
  readonly type: typeof PLUGIN_TYPE;
  /** The node agent's unix socket. */
  readonly agentSocket: string;
  /** How long to wait for the agent; default 15000. */
  readonly agentTimeoutMs: number;
  /** The result of the plugins before this one; required on ADD and CHECK. */
  readonly prevResult: Record<string, unknown> | undefined;
}

/** The CNI_* environment. */
export interface PluginEnvironment {
  readonly command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION';
  readonly containerId: string;
  readonly netns: string;
  readonly ifname: string;
  /** CNI_ARGS split into pairs, e.g. K8S_POD_NAME. */
  readonly args: Readonly<Record<string, string>>;
}

export interface PluginOutput {
  readonly stdout: string;
  /** One-line notes for the runtime's log; never parsed. */
  readonly stderr: string;
  readonly exitCode: 0 | 1;
}

export type AgentCaller = (socketPath: string, command: PluginCommand, request: PluginRequest, timeoutMs: number) => Promise<AgentCallOutcome>;

const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION'] as const;

/** "A=1;B=2" -> {A: '1', B: '2'}; pairs without '=' are ignored, as libcni does. */
export function parseCniArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

export function readEnvironment(env: NodeJS.ProcessEnv): PluginEnvironment {
  const command = env.CNI_COMMAND ?? '';
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CniPluginError(CNI_ERROR.INVALID_ENVIRONMENT, 'invalid CNI_COMMAND', `CNI_COMMAND is ${JSON.stringify(command)}; expected one of ${COMMANDS.join(', ')}`);
  }
  const typed = command as PluginEnvironment['command'];
  const missing: string[] = [];
  if (typed !== 'VERSION') {
    if (!env.CNI_CONTAINERID) missing.push('CNI_CONTAINERID');
    if (!env.CNI_IFNAME) missing.push('CNI_IFNAME');
    if (typed !== 'DEL' && !env.CNI_NETNS) missing.push('CNI_NETNS');
  }
  if (missing.length > 0) throw new CniPluginError(CNI_ERROR.INVALID_ENVIRONMENT, 'missing environment variables', `${typed} needs ${missing.join(', ')}`);
  return { command: typed, containerId: env.CNI_CONTAINERID ?? '', netns: env.CNI_NETNS ?? '', ifname: env.CNI_IFNAME ?? '', args: parseCniArgs(env.CNI_ARGS ?? '') };
}

function parseJson(stdin: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(stdin);
  } catch (err) {
    throw new CniPluginError(CNI_ERROR.DECODING_FAILURE, 'cannot decode the network configuration', `stdin is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CniPluginError(CNI_ERROR.DECODING_FAILURE, 'cannot decode the network configuration', 'stdin is not a JSON object');
  return value as Record<string, unknown>;
}

function invalidConfig(details: string): CniPluginError {
  return new CniPluginError(CNI_ERROR.INVALID_CONFIG, 'invalid ambit-cni configuration', details);
}

/** Validates the stdin config for ADD/DEL/CHECK. */
export function readConfig(raw: Record<string, unknown>, command: PluginEnvironment['command']): PluginConfig {
  const { cniVersion, name, type, agentSocket, agentTimeoutMs, prevResult } = raw;
  if (typeof cniVersion !== 'string') throw invalidConfig('cniVersion must be a string such as "1.0.0"');
  if (!SUPPORTED_CNI_VERSIONS.includes(cniVersion)) {
    throw new CniPluginError(CNI_ERROR.INCOMPATIBLE_VERSION, 'incompatible CNI version', `ambit-cni supports CNI ${SUPPORTED_CNI_VERSIONS.join(', ')}, not ${cniVersion}`);
  }
  if (typeof name !== 'string' || name === '') throw invalidConfig('name must be a non-empty string');
  if (type !== PLUGIN_TYPE) throw invalidConfig(`type must be "${PLUGIN_TYPE}", got ${JSON.stringify(type)}`);
  if (typeof agentSocket !== 'string' || !agentSocket.startsWith('/')) throw invalidConfig('agentSocket must be the absolute path of the CNI agent\'s unix socket');
  if (agentTimeoutMs !== undefined && (typeof agentTimeoutMs !== 'number' || !Number.isInteger(agentTimeoutMs) || agentTimeoutMs <= 0)) {
    throw invalidConfig('agentTimeoutMs must be a positive integer (milliseconds)');
  }
  if (prevResult !== undefined && (typeof prevResult !== 'object' || prevResult === null || Array.isArray(prevResult))) throw invalidConfig('prevResult must be an object');
  if (prevResult === undefined && command !== 'DEL') {
    throw invalidConfig('prevResult is missing: ambit-cni is a chained plugin and must come after the primary CNI plugin in the conflist');
  }
  return { cniVersion, name, type: PLUGIN_TYPE, agentSocket, agentTimeoutMs: (agentTimeoutMs as number | undefined) ?? DEFAULT_AGENT_TIMEOUT_MS, prevResult: prevResult as Record<string, unknown> | undefined };
}

/** Addresses (without prefix length) from a prevResult's `ips`; entries that are not addresses are skipped. */
export function ipsFromPrevResult(prevResult: Record<string, unknown> | undefined): string[] {
  const ips = prevResult?.ips;
  if (!Array.isArray(ips)) return [];
  const out: string[] = [];
  for (const entry of ips) {
    const address = (entry as { address?: unknown } | null)?.address;
    if (typeof address !== 'string') continue;
    const ip = address.split('/')[0];
    if (net.isIP(ip) !== 0) out.push(ip);
  }
  return out;
}

function success(stdout: string, stderr: string): PluginOutput {
  return { stdout, stderr, exitCode: 0 };
}

function agentUnreachable(config: PluginConfig, reason: string): CniPluginError {
  return new CniPluginError(CNI_ERROR.TRY_AGAIN_LATER, 'the ambit CNI agent is unreachable', `${config.agentSocket}: ${reason}; is the node's CNI agent running?`);
}

async function runCommand(environment: PluginEnvironment, config: PluginConfig, call: AgentCaller): Promise<PluginOutput> {
  const podName = environment.args.K8S_POD_NAME ?? '';
  const podNamespace = environment.args.K8S_POD_NAMESPACE ?? '';
  const passThrough = environment.command === 'ADD' ? `${JSON.stringify({ ...config.prevResult, cniVersion: config.cniVersion })}\n` : '';
  // Like Istio's plugin: a sandbox that is not a Kubernetes pod has nothing to capture.
  if (podName === '' || podNamespace === '') return success(passThrough, `ambit-cni: ${environment.containerId} is not a Kubernetes pod (no K8S_POD_NAME/K8S_POD_NAMESPACE); nothing to do\n`);
  const pod = `${podNamespace}/${podName}`;
  const request: PluginRequest = { podName, podNamespace, podUid: environment.args.K8S_POD_UID ?? '', netns: environment.netns, ips: ipsFromPrevResult(config.prevResult) };
  const command = environment.command === 'ADD' ? 'add' : environment.command === 'DEL' ? 'del' : 'check';
  const outcome = await call(config.agentSocket, command, request, config.agentTimeoutMs);
  if (outcome.kind === 'unreachable') {
    // DEL must succeed when resources are gone; an agent that restarts reconciles from the running pods.
    if (command === 'del') return success('', `ambit-cni: agent unreachable on DEL of ${pod} (${outcome.reason}); it will reconcile when it starts\n`);
    throw agentUnreachable(config, outcome.reason);
  }
  if (outcome.kind === 'refused') {
    const code = outcome.error.retryable ? CNI_ERROR.TRY_AGAIN_LATER : command === 'check' ? CNI_ERROR.CAPTURE_CHECK_FAILED : CNI_ERROR.AGENT_REFUSED;
    throw new CniPluginError(code, `the ambit CNI agent refused ${environment.command} of ${pod}`, `${outcome.error.code}: ${outcome.error.message}`);
  }
  const note = `ambit-cni: ${environment.command} ${pod}: ${outcome.reply.result}${outcome.reply.detail ? ` (${outcome.reply.detail})` : ''}\n`;
  return success(passThrough, note);
}

function errorOutput(err: CniPluginError, cniVersion: string): PluginOutput {
  return { stdout: `${JSON.stringify({ cniVersion, code: err.cniCode, msg: err.msg, details: err.details })}\n`, stderr: `ambit-cni: ${err.message}\n`, exitCode: 1 };
}

/** Runs one plugin invocation from its environment and stdin; never throws. */
export async function runPlugin(env: NodeJS.ProcessEnv, stdin: string, call: AgentCaller = callAgent): Promise<PluginOutput> {
  let cniVersion = DEFAULT_CNI_VERSION;
  try {
    const environment = readEnvironment(env);
    if (environment.command === 'VERSION') {
      const input = stdin.trim() === '' ? {} : parseJson(stdin);
      if (typeof input.cniVersion === 'string') cniVersion = input.cniVersion;
      return success(`${JSON.stringify({ cniVersion, supportedVersions: SUPPORTED_CNI_VERSIONS })}\n`, '');
    }
    const raw = parseJson(stdin);
    if (typeof raw.cniVersion === 'string') cniVersion = raw.cniVersion;
    return await runCommand(environment, readConfig(raw, environment.command), call);
  } catch (err) {
    if (err instanceof CniPluginError) return errorOutput(err, cniVersion);
    return errorOutput(new CniPluginError(CNI_ERROR.INTERNAL, 'ambit-cni failed unexpectedly', err instanceof Error ? err.message : String(err)), cniVersion);
  }
}
