// A 2-node ambient test cluster (test/fixtures/mesh) and the probes the ztunnel end-to-end tests look through: curl from a pod, access logs, metrics, config dumps, iptables and packet captures.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ClusterNames } from '../../../src/local/cluster-names';
import { hostVethName } from '../../../src/local/pod-network';
import { runCommand, startCluster, waitFor, type PodView, type Teardowns, type TestCluster } from '../../helpers/cluster';
import { fixture } from '../../helpers/repo';

export const TRUST_DOMAIN = 'cluster.local';
export const ECHO_PORT = 8080;
export const HBONE_PORT = 15008;
/** The in-pod capture chains the CNI agent installs (src/cni/inpod-rules.ts). */
export const AMBIT_CHAIN = /AMBIT-(PRERT|OUTPUT)/;

/** What test/fixtures/local/echo-server.js answers. */
export interface EchoReply {
  readonly pod: string;
  readonly namespace: string;
  readonly node: string;
  readonly serviceAccount: string;
  readonly path: string;
  /** The client address the server's socket saw. */
  readonly from: string;
}

export interface CurlResult {
  readonly code: number;
  readonly stderr: string;
  readonly reply?: EchoReply;
}

/** One line of a ztunnel's access log (target "access"), with the fields the tests read. */
export interface AccessLine {
  readonly msg: string;
  readonly direction: 'inbound' | 'outbound';
  readonly 'src.addr': string;
  readonly 'src.identity'?: string;
  readonly 'dst.addr': string;
  readonly 'dst.hbone_addr'?: string;
  readonly 'dst.identity'?: string;
  readonly 'dst.service'?: string;
  readonly bytes_sent: number;
  readonly bytes_recv: number;
  readonly error?: string;
  readonly reason?: string;
  readonly outcome?: string;
}

/** One sample of the Prometheus text format. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The parts of a ztunnel's /config_dump the tests read. */
export interface ConfigDump {
  readonly workloads: { name: string; namespace: string; protocol: string; ips: string[]; authorizationPolicies: string[] }[];
  readonly pods: { name: string; namespace: string }[];
}

export interface PacketCapture {
  /** Stops tcpdump with SIGINT once its output is quiet, and returns what it printed (`-A`: headers and payload as ASCII). */
  stop(): Promise<string>;
  readonly pid: number;
}

export function spiffeId(namespace: string, serviceAccount: string): string {
  return `spiffe://${TRUST_DOMAIN}/ns/${namespace}/sa/${serviceAccount}`;
}

/** A string that cannot occur by chance in a capture. */
export function marker(prefix: string): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`;
}

export class MeshCluster {
  readonly names: ClusterNames;
  /** `<state-dir>/<cluster>`: logs/, controlplane/, store/. */
  readonly dir: string;
  private readonly views = new Map<string, PodView>();
  /** Every tcpdump this cluster's tests started, so a test can prove none outlives it. */
  readonly capturePids: number[] = [];

  private constructor(
    readonly cluster: TestCluster,
    private readonly t: Teardowns,
  ) {
    this.names = new ClusterNames(cluster.name);
    this.dir = path.join(cluster.stateDir, cluster.name);
  }

  static async start(t: Teardowns): Promise<MeshCluster> {
    const mesh = new MeshCluster(await startCluster(t, { config: fixture('mesh', 'mesh.yaml') }), t);
    await mesh.refreshPods();
    // Enrolled pods are served once each node's ztunnel has its config and the CNI agent's pods.
    await mesh.waitForEnrolled('node-1', 'mesh', ['client-a', 'client-b']);
    await mesh.waitForEnrolled('node-2', 'mesh', ['server']);
    return mesh;
  }

  async refreshPods(): Promise<void> {
    for (const namespace of ['mesh', 'outside', 'late']) {
      for (const pod of await this.cluster.pods(namespace)) this.views.set(`${namespace}/${pod.name}`, pod);
    }
  }

  pod(namespace: string, name: string): PodView {
    const view = this.views.get(`${namespace}/${name}`);
    if (!view) throw new Error(`no pod ${namespace}/${name} in cluster ${this.cluster.name}`);
    return view;
  }

  nodeNetns(node: string): string {
    return this.names.nodeNetns(node);
  }

  podNetns(namespace: string, name: string): string {
    return this.names.podNetns(namespace, name);
  }

  async curl(namespace: string, pod: string, url: string): Promise<CurlResult> {
    const result = await this.cluster.exec(pod, namespace, ['curl', '-s', '-S', '-m', '5', url]);
    if (result.code !== 0) return { code: result.code, stderr: result.stderr };
    try {
      return { code: 0, stderr: result.stderr, reply: JSON.parse(result.stdout) as EchoReply };
    } catch {
      return { code: 0, stderr: `not an echo reply: ${result.stdout}` };
    }
  }

  /** `http://<pod ip>:8080/<path>`. */
  echoUrl(namespace: string, pod: string, urlPath: string): string {
    return `http://${this.pod(namespace, pod).ip}:${ECHO_PORT}/${urlPath}`;
  }

  private accessLogFile(node: string): string {
    return path.join(this.dir, 'logs', `ztunnel-${node}.log`);
  }

  /** Where the node's ztunnel log ends now; pass it to `accessLog` to read only what comes after. */
  logMark(node: string): number {
    try {
      return fs.statSync(this.accessLogFile(node)).size;
    } catch {
      return 0;
    }
  }

  accessLog(node: string, since = 0): AccessLine[] {
    const text = fs.readFileSync(this.accessLogFile(node)).subarray(since).toString('utf8');
    const lines: AccessLine[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const parsed = JSON.parse(line) as AccessLine & { target?: string };
        if (parsed.target === 'access') lines.push(parsed);
      } catch {
        // a line being written right now
      }
    }
    return lines;
  }

  /** Waits for access lines (after `since`) that `match` accepts, and returns them. */
  async waitForAccess(node: string, since: number, match: (line: AccessLine) => boolean, what: string, count = 1): Promise<AccessLine[]> {
    let found: AccessLine[] = [];
    await waitFor(
      () => (found = this.accessLog(node, since).filter(match)).length >= count,
      10_000,
      () => `no access line on ${node} for ${what}; got:\n${this.accessLog(node, since).map((line) => JSON.stringify(line)).join('\n')}`,
    );
    return found;
  }

  private async inNode(node: string, command: readonly string[]): Promise<string> {
    const result = await runCommand('ip', ['netns', 'exec', this.nodeNetns(node), ...command], { timeoutMs: 10_000 });
    if (result.code !== 0) throw new Error(`${command.join(' ')} in ${node} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  }

  async metrics(node: string): Promise<MetricSample[]> {
    return parsePrometheus(await this.inNode(node, ['curl', '-s', '-S', '-m', '5', 'localhost:15020/metrics']));
  }

  async configDump(node: string): Promise<ConfigDump> {
    return JSON.parse(await this.inNode(node, ['curl', '-s', '-S', '-m', '5', '127.0.0.1:15000/config_dump'])) as ConfigDump;
  }

  async ztunnelReady(node: string): Promise<boolean> {
    const result = await runCommand('ip', ['netns', 'exec', this.nodeNetns(node), 'curl', '-s', '-m', '2', '-o', '/dev/null', '-w', '%{http_code}', 'localhost:15021/healthz/ready']);
    return result.stdout === '200';
  }

  /** Waits until the node's ztunnel serves (has enrolled) exactly these pods of `namespace` among its own. */
  async waitForEnrolled(node: string, namespace: string, pods: readonly string[]): Promise<void> {
    const want = [...pods].sort().join(',');
    let got = '';
    await waitFor(
      async () => {
        try {
          got = (await this.configDump(node)).pods.filter((pod) => pod.namespace === namespace).map((pod) => pod.name).sort().join(',');
        } catch {
          got = '(ztunnel not answering)';
        }
        return got === want;
      },
      20_000,
      () => `${node}'s ztunnel serves [${got}] of ${namespace}, expected [${want}]`,
    );
  }

  /** Waits until `node`'s ztunnel sees the workloads of `namespace` with `protocol` (HBONE once enrolled, NONE otherwise). */
  async waitForProtocol(node: string, namespace: string, protocol: 'HBONE' | 'NONE'): Promise<void> {
    let got = '';
    await waitFor(
      async () => {
        const workloads = (await this.configDump(node)).workloads.filter((workload) => workload.namespace === namespace);
        got = workloads.map((workload) => `${workload.name}:${workload.protocol}`).join(',');
        return workloads.length > 0 && workloads.every((workload) => workload.protocol === protocol);
      },
      20_000,
      () => `${node} sees ${namespace} as [${got}], expected all ${protocol}`,
    );
  }

  /** Waits until the server workload, as `node`'s ztunnel sees it, is bound to exactly these policies. */
  async waitForPolicies(node: string, namespace: string, workload: string, policies: readonly string[]): Promise<void> {
    const want = [...policies].sort().join(',');
    let got = '';
    await waitFor(
      async () => {
        const found = (await this.configDump(node)).workloads.find((candidate) => candidate.namespace === namespace && candidate.name === workload);
        got = [...(found?.authorizationPolicies ?? [])].sort().join(',');
        return got === want;
      },
      20_000,
      () => `${namespace}/${workload} on ${node} has policies [${got}], expected [${want}]`,
    );
  }

  async iptablesSave(namespace: string, pod: string): Promise<string> {
    const result = await runCommand('ip', ['netns', 'exec', this.podNetns(namespace, pod), 'iptables-save']);
    if (result.code !== 0) throw new Error(`iptables-save in ${namespace}/${pod} failed: ${result.stderr}`);
    return result.stdout;
  }

  async hasAmbitChains(namespace: string, pod: string): Promise<boolean> {
    return AMBIT_CHAIN.test(await this.iptablesSave(namespace, pod));
  }

  /** Pids running in the pod's netns (its containers). */
  async podPids(namespace: string, pod: string): Promise<number[]> {
    const result = await runCommand('ip', ['netns', 'pids', this.podNetns(namespace, pod)]);
    return result.stdout.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
  }

  /** The inode of the pod's netns: a pod that got a new sandbox gets a new one. */
  podNetnsInode(namespace: string, pod: string): number {
    return fs.statSync(path.join('/var/run/netns', this.podNetns(namespace, pod))).ino;
  }

  /** The node's ztunnel process: the one in the node netns running ztunnel/main.js. */
  async ztunnelPid(node: string): Promise<number | undefined> {
    const result = await runCommand('ip', ['netns', 'pids', this.nodeNetns(node)]);
    for (const pid of result.stdout.split('\n').filter(Boolean).map(Number)) {
      try {
        if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('ztunnel/main.js')) return pid;
      } catch {
        // gone meanwhile
      }
    }
    return undefined;
  }

  /**
   * Starts tcpdump on the node side of a pod's veth (inside the node netns) and resolves once it is listening.
   * The test's teardown kills it if the test never stops it.
   */
  async capturePodLink(node: string, namespace: string, pod: string): Promise<PacketCapture> {
    const iface = hostVethName(this.podNetns(namespace, pod));
    const child = spawn('ip', ['netns', 'exec', this.nodeNetns(node), 'tcpdump', '--immediate-mode', '-A', '-n', '-l', '-i', iface, 'tcp'], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid === undefined) throw new Error('tcpdump did not start');
    const pid = child.pid;
    this.capturePids.push(pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('latin1')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    });
    await waitFor(() => stderr.includes('listening on') || child.exitCode !== null, 10_000, () => `tcpdump on ${iface} never listened: ${stderr}`);
    if (child.exitCode !== null) throw new Error(`tcpdump on ${iface} exited: ${stderr}`);
    return {
      pid,
      stop: async () => {
        // Let packets still on their way through the kernel be printed: stop once the output has been quiet a while.
        let seen = -1;
        await waitFor(
          () => {
            const quiet = stdout.length === seen;
            seen = stdout.length;
            return quiet;
          },
          5_000,
          () => 'never quiet (readiness probes every 500 ms should leave gaps)',
        ).catch(() => undefined);
        child.kill('SIGINT');
        await exited;
        if (!/\d+ packets? captured/.test(stderr)) throw new Error(`tcpdump on ${iface} did not finish cleanly: ${stderr}`);
        return stdout;
      },
    };
  }
}

/** Parses Prometheus' text format (what prom-client writes): `name{a="b",...} value`. */
export function parsePrometheus(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2].replace(/\\(.)/g, '$1');
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of the samples of `name` whose labels include all of `labels`. */
export function metricSum(samples: readonly MetricSample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** True when no process with this pid exists any more. */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** Pids of every process running in one of this cluster's netns now (control plane, ztunnels, pod containers). */
export async function clusterPids(names: ClusterNames): Promise<number[]> {
  const pids: number[] = [];
  for (const netns of await ownedNetns(names)) {
    const result = await runCommand('ip', ['netns', 'pids', netns]);
    pids.push(...result.stdout.split('\n').filter(Boolean).map(Number));
  }
  return pids;
}

async function ownedNetns(names: ClusterNames): Promise<string[]> {
  const list = await runCommand('ip', ['netns', 'list']);
  return list.stdout
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name !== '' && names.owns(name));
}

/** What of a cluster survives its teardown: its netns, the given pids still alive, processes naming its state dir. */
export async function leftovers(names: ClusterNames, stateDir: string, pids: readonly number[]): Promise<{ netns: string[]; processes: string[] }> {
  const processes = pids.filter((pid) => !processGone(pid)).map((pid) => `${pid}: ${readCmdline(pid)}`);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = readCmdline(Number(entry));
    if (cmdline.includes(stateDir)) processes.push(`${entry}: ${cmdline}`);
  }
  return { netns: await ownedNetns(names), processes };
}

function readCmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}
