// The l4 benchmark's peer: a stunnel client in the client pod and a stunnel server in the server pod, mutual TLS 1.3
// with ECDSA P-256 certificates from a throwaway CA, one tunnel per l4load port.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanEnv } from '../../test/helpers/cluster';
import { BenchTimeout } from '../lib/benchmark';
import { SINK_PORT, stopChild } from './load-tool';

export const STUNNEL = '/usr/bin/stunnel4';
/** The stunnel client listens on 127.0.0.1:(port + CLIENT_OFFSET) in the client pod, for each l4load port. */
const CLIENT_OFFSET = 1000;
/** The stunnel server listens on the server pod's address at (port + SERVER_OFFSET). */
const SERVER_OFFSET = 2000;
/** The same TLS 1.3 suites Node offers, in Node's order, so both tunnels settle on AES-256-GCM. */
const CIPHER_SUITES = 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256';
const TOOL_PORTS = [SINK_PORT, SINK_PORT + 1, SINK_PORT + 2];

export class StunnelError extends Error {
  readonly code = 'L4_STUNNEL' as const;
}

export interface StunnelPairOptions {
  readonly dir: string;
  readonly clientNetns: string;
  readonly serverNetns: string;
  readonly serverIp: string;
  /** Both stunnels end by themselves after this long, even if the bench process dies without stopping them. */
  readonly maxSeconds: number;
}

/** What the handshake check saw: the protocol and suite a stunnel server actually negotiates. */
export interface NegotiatedTls {
  readonly protocol: string;
  readonly cipherSuite: string;
}

function run(command: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, [...args], { env: cleanEnv(), timeout: timeoutMs }, (error, stdout, stderr) =>
      error ? reject(new StunnelError(`${command} ${args.join(' ')} failed: ${(stderr || error.message).trim()}`)) : resolve(`${stdout}${stderr}`),
    );
    // openssl s_client reads stdin until EOF; with nothing to send it closes right after the handshake.
    child.stdin?.end();
  });
}

async function makeCertificates(dir: string): Promise<void> {
  const file = (name: string) => path.join(dir, name);
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('ca.key')]);
  await run('openssl', ['req', '-x509', '-new', '-key', file('ca.key'), '-subj', '/CN=ambit l4 bench CA', '-days', '1', '-out', file('ca.pem')]);
  for (const name of ['server', 'client']) {
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file(`${name}.key`)]);
    await run('openssl', ['req', '-new', '-key', file(`${name}.key`), '-subj', `/CN=l4-${name}`, '-out', file(`${name}.csr`)]);
    await run('openssl', ['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '1', '-out', file(`${name}.pem`)]);
  }
}

function config(dir: string, side: 'client' | 'server', serverIp: string): string {
  const lines = [
    // quiet: no copy of the log on stderr; syslog off, or glibc falls back to writing every line to the console.
    'foreground = quiet',
    'pid =',
    'syslog = no',
    `output = ${path.join(dir, `stunnel-${side}.log`)}`,
    'socket = l:TCP_NODELAY=1',
    'socket = r:TCP_NODELAY=1',
  ];
  for (const port of TOOL_PORTS) {
    lines.push(
      '',
      `[tool${port}]`,
      ...(side === 'client'
        ? ['client = yes', `accept = 127.0.0.1:${port + CLIENT_OFFSET}`, `connect = ${serverIp}:${port + SERVER_OFFSET}`]
        : [`accept = ${serverIp}:${port + SERVER_OFFSET}`, `connect = 127.0.0.1:${port}`]),
      `cert = ${path.join(dir, `${side}.pem`)}`,
      `key = ${path.join(dir, `${side}.key`)}`,
      `CAfile = ${path.join(dir, 'ca.pem')}`,
      // Both ends check the peer's chain: mutual TLS, as HBONE does.
      'verifyChain = yes',
      'sslVersion = TLSv1.3',
      `ciphersuites = ${CIPHER_SUITES}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function listening(netns: string, port: number): Promise<boolean> {
  const out = await run('ip', ['netns', 'exec', netns, 'ss', '-Hltn', `sport = :${port}`]);
  return out.trim().length > 0;
}

/** The stunnel process under the timeout(1) wrapper whose pid is `wrapperPid`. */
function stunnelPid(wrapperPid: number | undefined): number {
  if (wrapperPid === undefined) throw new StunnelError('stunnel could not be started (no pid)');
  const children = fs.readFileSync(`/proc/${wrapperPid}/task/${wrapperPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const pid = children.find((child) => fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').startsWith(STUNNEL));
  if (pid === undefined) throw new StunnelError(`no stunnel process under pid ${wrapperPid}`);
  return pid;
}

export class StunnelPair {
  private constructor(
    readonly clientPid: number,
    readonly serverPid: number,
    private readonly stopAll: () => Promise<void>,
  ) {}

  /** Port an app in the client pod dials to reach `toolPort` on the server pod through the tunnel. */
  static clientPort(toolPort: number): number {
    return toolPort + CLIENT_OFFSET;
  }

  static async start(options: StunnelPairOptions): Promise<StunnelPair> {
    if (!fs.existsSync(STUNNEL)) throw new StunnelError(`${STUNNEL} not found: install Debian's stunnel4 (npm install runs scripts/setup.js, which does)`);
    const { dir, clientNetns, serverNetns, serverIp } = options;
    fs.mkdirSync(dir, { recursive: true });
    await makeCertificates(dir);
    const children = (['server', 'client'] as const).map((side) => {
      const file = path.join(dir, `stunnel-${side}.conf`);
      fs.writeFileSync(file, config(dir, side, serverIp));
      const netns = side === 'server' ? serverNetns : clientNetns;
      // timeout(1) bounds stunnel's life and passes SIGTERM on to it; stunnel itself is its only child.
      return spawn('ip', ['netns', 'exec', netns, 'timeout', '--kill-after=5', String(Math.ceil(options.maxSeconds)), STUNNEL, file], { stdio: 'ignore', env: cleanEnv() });
    });
    const stopAll = async () => {
      await Promise.all(children.map((child) => stopChild(child)));
    };
    try {
      const deadline = Date.now() + 10_000;
      for (const [netns, port] of [...TOOL_PORTS.map((p) => [serverNetns, p + SERVER_OFFSET] as const), ...TOOL_PORTS.map((p) => [clientNetns, p + CLIENT_OFFSET] as const)]) {
        while (!(await listening(netns, port))) {
          const exited = children.find((child) => child.exitCode !== null);
          if (exited) throw new StunnelError(`stunnel exited with ${exited.exitCode}; see ${dir}/stunnel-*.log`);
          if (Date.now() > deadline) throw new BenchTimeout('stunnel start', 10_000, `nothing listens on ${port} in ${netns}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      const [server, client] = children;
      return new StunnelPair(stunnelPid(client.pid), stunnelPid(server.pid), stopAll);
    } catch (error) {
      await stopAll();
      throw error;
    }
  }

  /** Handshakes once with the stunnel server as its client would, and reports what was negotiated. */
  static async negotiated(options: StunnelPairOptions): Promise<NegotiatedTls> {
    const file = (name: string) => path.join(options.dir, name);
    const out = await run('ip', [
      'netns', 'exec', options.clientNetns,
      'openssl', 's_client', '-brief', '-connect', `${options.serverIp}:${SINK_PORT + 1 + SERVER_OFFSET}`,
      '-cert', file('client.pem'), '-key', file('client.key'), '-CAfile', file('ca.pem'), '-verify_return_error',
    ]);
    const protocol = /Protocol version:\s*(\S+)/.exec(out)?.[1];
    const cipherSuite = /Ciphersuite:\s*(\S+)/.exec(out)?.[1];
    if (!protocol || !cipherSuite) throw new StunnelError(`openssl s_client did not report a handshake: ${out.trim().slice(0, 300)}`);
    return { protocol, cipherSuite };
  }

  stop(): Promise<void> {
    return this.stopAll();
  }
}
