// In-pod capture on real traffic: a node netns and a pod netns joined by a veth, ambit's rules in the pod, and ztunnel-like listeners on 15001/15006/15008 inside it.
import { execFile } from 'node:child_process';
import net from 'node:net';
import t, { type Test } from 'tap';
import { hasInpodRules, installInpodRules, removeInpodRules } from '../../../src/cni/inpod-rules';
import { connectInNetns, listenInNetns, originalDst } from '../../../src/native';
import { inNs, makeNetns, randomSuffix, sh } from '../../unit/cni/helpers';

const NODE_IP = '10.252.0.1';
/** A second node address standing in for the kubelet's: the one in the probe list. */
const PROBE_IP = '10.252.0.3';
const POD_IP = '10.252.0.2';
const APP_PORT = 9080;
const NODE_SERVER_PORT = 8080;
const ZTUNNEL_MARK = 0x539;

/** One accepted connection as a listener saw it. */
interface Seen {
  readonly listener: string;
  readonly peer: string;
  /** Original destination (from conntrack) for the capture ports; undefined elsewhere. */
  readonly originalDst?: string;
}

interface Bench {
  readonly node: string;
  readonly pod: string;
  readonly seen: Seen[];
}

/** Starts a server in `netns` that records each connection and answers "<tag>\n", then closes. */
async function tagServer(t: Test, netns: string, host: string, port: number, tag: string, seen: Seen[], capture = false): Promise<void> {
  const server = await listenInNetns({ netns, host, port }, net.createServer((conn) => {
    let dst: string | undefined;
    if (capture) {
      const original = originalDst(conn);
      dst = `${original.address}:${original.port}`;
    }
    seen.push({ listener: tag, peer: conn.remoteAddress ?? '', ...(dst ? { originalDst: dst } : {}) });
    conn.on('error', () => conn.destroy());
    conn.end(`${tag}\n`);
  }));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

async function makeBench(t: Test): Promise<Bench> {
  const suffix = randomSuffix();
  const node = makeNetns(t, `tcni-${suffix}-node`);
  const pod = makeNetns(t, `tcni-${suffix}-pod`);
  sh('ip', 'link', 'add', 'vnode', 'netns', node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod);
  sh('ip', '-n', node, 'addr', 'add', `${NODE_IP}/24`, 'dev', 'vnode');
  sh('ip', '-n', node, 'addr', 'add', `${PROBE_IP}/24`, 'dev', 'vnode');
  sh('ip', '-n', node, 'link', 'set', 'vnode', 'up');
  sh('ip', '-n', pod, 'addr', 'add', `${POD_IP}/24`, 'dev', 'eth0');
  sh('ip', '-n', pod, 'link', 'set', 'eth0', 'up');

  const seen: Seen[] = [];
  for (const [port, tag] of [[15001, 'ztunnel-outbound'], [15006, 'ztunnel-inbound'], [15008, 'ztunnel-hbone']] as const) {
    await tagServer(t, pod, '0.0.0.0', port, tag, seen, port !== 15008);
  }
  await tagServer(t, pod, '0.0.0.0', APP_PORT, 'app', seen);
  await tagServer(t, node, NODE_IP, NODE_SERVER_PORT, 'node-server', seen);
  return { node, pod, seen };
}

/** Reads everything the peer sends until it closes. */
function readAll(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString()));
    socket.once('end', () => resolve(got));
    socket.once('error', reject);
  });
}

async function connectAndRead(options: Parameters<typeof connectInNetns>[0]): Promise<string> {
  const socket = await connectInNetns({ timeoutMs: 5000, ...options });
  try {
    return await readAll(socket);
  } finally {
    socket.destroy();
  }
}

/** An unmodified app in the pod: a separate node process under `ip netns exec`, as a pod's container would run. */
function appInPod(netns: string, host: string, port: number): Promise<string> {
  const script = `
    const s = require('net').connect(${port}, ${JSON.stringify(host)});
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('end', () => process.stdout.write(got));
    s.on('error', (e) => process.stdout.write('ERROR ' + e.code));
  `;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { env, timeout: 15000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
}

t.test('ambit in-pod rules send pod traffic through the ztunnel ports and let the exceptions through', async (t) => {
  const bench = await makeBench(t);
  const { node, pod, seen } = bench;
  await installInpodRules(pod, { probeSourceAddresses: [PROBE_IP] });
  t.equal(await hasInpodRules(pod, { probeSourceAddresses: [PROBE_IP] }), true);

  t.test('outbound TCP from an app in the pod lands on 15001 with its original destination', async (t) => {
    seen.length = 0;
    t.equal(await appInPod(pod, NODE_IP, NODE_SERVER_PORT), 'ztunnel-outbound\n');
    t.same(seen, [{ listener: 'ztunnel-outbound', peer: POD_IP, originalDst: `${NODE_IP}:${NODE_SERVER_PORT}` }], 'the node server never saw it');
  });

  t.test('inbound TCP from the node to the app port lands on 15006 with its original destination', async (t) => {
    seen.length = 0;
    t.equal(await connectAndRead({ netns: node, host: POD_IP, port: APP_PORT }), 'ztunnel-inbound\n');
    t.same(seen, [{ listener: 'ztunnel-inbound', peer: NODE_IP, originalDst: `${POD_IP}:${APP_PORT}` }]);
  });

  t.test('traffic to 15008 (HBONE) is not redirected', async (t) => {
    seen.length = 0;
    t.equal(await connectAndRead({ netns: node, host: POD_IP, port: 15008 }), 'ztunnel-hbone\n');
    t.same(seen, [{ listener: 'ztunnel-hbone', peer: NODE_IP }]);
  });

  t.test('a probe from a node address in the probe list reaches the app directly', async (t) => {
    seen.length = 0;
    t.equal(await connectAndRead({ netns: node, host: POD_IP, port: APP_PORT, sourceAddress: { host: PROBE_IP } }), 'app\n');
    t.same(seen, [{ listener: 'app', peer: PROBE_IP }]);
  });

  t.test('a socket with SO_MARK 0x539 (the ztunnel\'s own) goes out uncaptured', async (t) => {
    seen.length = 0;
    t.equal(await connectAndRead({ netns: pod, host: NODE_IP, port: NODE_SERVER_PORT, mark: ZTUNNEL_MARK }), 'node-server\n');
    t.same(seen, [{ listener: 'node-server', peer: POD_IP }]);
  });

  t.test('the ztunnel can deliver inbound to the app with the client as source (IP_TRANSPARENT + fwmark route)', async (t) => {
    seen.length = 0;
    const reply = await connectAndRead({ netns: pod, host: POD_IP, port: APP_PORT, mark: ZTUNNEL_MARK, sourceAddress: { host: NODE_IP } });
    t.equal(reply, 'app\n', 'the app\'s reply to the spoofed client came back to the ztunnel\'s socket');
    t.same(seen, [{ listener: 'app', peer: NODE_IP }], 'the app sees the original client address');
  });

  t.test('loopback and the pod\'s own address stay inside the pod', async (t) => {
    seen.length = 0;
    t.equal(await appInPod(pod, '127.0.0.1', APP_PORT), 'app\n');
    t.equal(await appInPod(pod, POD_IP, APP_PORT), 'app\n');
    t.same(seen.map((s) => s.listener), ['app', 'app']);
  });

  t.test('after removeInpodRules nothing is redirected and no AMBIT chain is left', async (t) => {
    t.equal(await removeInpodRules(pod), true);
    seen.length = 0;
    t.equal(await appInPod(pod, NODE_IP, NODE_SERVER_PORT), 'node-server\n');
    t.equal(await connectAndRead({ netns: node, host: POD_IP, port: APP_PORT }), 'app\n');
    t.same(seen, [{ listener: 'node-server', peer: POD_IP }, { listener: 'app', peer: NODE_IP }]);
    t.notMatch(inNs(pod, 'iptables-save'), /AMBIT/);
    t.notMatch(inNs(pod, 'ip', 'rule', 'show'), /0x111/);
    t.equal(await hasInpodRules(pod), false);
  });
});
