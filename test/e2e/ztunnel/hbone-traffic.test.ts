// End to end on a real 2-node ambient cluster: traffic between enrolled pods crosses nodes only as HBONE, mTLS refuses untrusted, expired and misnamed peers, and telemetry names both identities.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { HbonePool, type HboneTunnel, type SourceIdentity, type SpiffeId } from '../../../src/hbone';
import { connectInNetns } from '../../../src/native';
import { CertificateIssuer, generateRootCa, generateWorkloadKey, publicKeyPemOf } from '../../../src/pki';
import { clusterPids, ECHO_PORT, HBONE_PORT, leftovers, marker, MeshCluster, metricSum, processGone, spiffeId, type AccessLine, type EchoReply } from './mesh-cluster';
import { waitFor } from '../../helpers/cluster';
import { fixture } from '../../helpers/repo';

const OPENED = 'istio_tcp_connections_opened_total';
const FAILED = 'istio_tcp_connections_failed_total';

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** tcpdump's `-n` line for a TCP segment from `fromIp` (any port) to `toIp.toPort`. */
function segment(fromIp: string, toIp: string, toPort: number): RegExp {
  return new RegExp(`IP ${escape(fromIp)}\\.\\d+ > ${escape(toIp)}\\.${toPort}: `);
}

/** Sends one HTTP/1.1 request through a tunnel and returns the echo server's answer. */
function httpOverTunnel(tunnel: HboneTunnel, urlPath: string): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    let response = '';
    tunnel.on('data', (chunk: Buffer) => (response += chunk.toString()));
    tunnel.once('end', () => {
      const body = response.slice(response.indexOf('\r\n\r\n') + 4);
      try {
        resolve(JSON.parse(body) as EchoReply);
      } catch {
        reject(new Error(`not an echo reply: ${response}`));
      }
    });
    tunnel.once('error', reject);
    tunnel.end(`GET ${urlPath} HTTP/1.1\r\nHost: server\r\nConnection: close\r\n\r\n`);
  });
}

let finished: { mesh: MeshCluster; pids: number[] } | undefined;

t.test('an ambient mesh on two nodes', async (t) => {
  const mesh = await MeshCluster.start(t);
  const clientA = mesh.pod('mesh', 'client-a');
  const server = mesh.pod('mesh', 'server');
  const outsider = mesh.pod('outside', 'client');
  const clientAId = spiffeId('mesh', 'client-a');
  const serverId = spiffeId('mesh', 'server');

  await t.test('a request from a pod on node-1 to a pod on node-2 crosses the wire only as HBONE on 15008, and the server sees the client pod as its source', async (t) => {
    t.equal(clientA.node, 'node-1');
    t.equal(server.node, 'node-2');
    const capture = await mesh.capturePodLink('node-2', 'mesh', 'server');
    const secret = marker('hbone-payload');
    const result = await mesh.curl('mesh', 'client-a', mesh.echoUrl('mesh', 'server', secret));
    const dump = await capture.stop();
    t.equal(result.reply?.path, `/${secret}`, `the server app got the request (${result.stderr})`);
    t.equal(result.reply?.from, clientA.ip, 'the server app sees the client pod address, not a ztunnel or node address');
    t.match(dump, segment(clientA.ip, server.ip, HBONE_PORT), 'the capture holds TCP from the client pod to the server pod on 15008');
    t.notMatch(dump, segment(clientA.ip, server.ip, ECHO_PORT), 'no TCP from the client pod reaches the app port on the wire');
    t.notOk(dump.includes(secret), 'the request (its unique path) never appears in clear on the wire');
  });

  await t.test('the same capture does show the payload of plaintext from outside the mesh (so the check above can fail)', async (t) => {
    const capture = await mesh.capturePodLink('node-2', 'mesh', 'server');
    const secret = marker('plaintext-payload');
    const result = await mesh.curl('outside', 'client', mesh.echoUrl('mesh', 'server', secret));
    const dump = await capture.stop();
    t.equal(result.reply?.from, outsider.ip, `PERMISSIVE lets the plaintext client in (${result.stderr})`);
    t.match(dump, segment(outsider.ip, server.ip, ECHO_PORT), 'plain TCP to the app port');
    t.ok(dump.includes(secret), 'the request is readable on the wire');
  });

  await t.test('metrics and access logs on both nodes name the client and server SPIFFE identities', async (t) => {
    const sourceLabels = { reporter: 'source', source_principal: clientAId, destination_principal: serverId, source_workload: 'client-a', destination_workload: 'server' };
    const destinationLabels = { ...sourceLabels, reporter: 'destination', connection_security_policy: 'mutual_tls' };
    const before = { node1: metricSum(await mesh.metrics('node-1'), OPENED, sourceLabels), node2: metricSum(await mesh.metrics('node-2'), OPENED, destinationLabels) };
    const marks = { node1: mesh.logMark('node-1'), node2: mesh.logMark('node-2') };

    const result = await mesh.curl('mesh', 'client-a', `http://server.mesh/${marker('telemetry')}`);
    t.equal(result.reply?.pod, 'server', `the request through the Service reached the server (${result.stderr})`);

    const fromClientA = (line: AccessLine) => line['src.addr'].startsWith(`${clientA.ip}:`) && line['dst.hbone_addr'] === `${server.ip}:${ECHO_PORT}`;
    const [outbound] = await mesh.waitForAccess('node-1', marks.node1, (line) => line.direction === 'outbound' && fromClientA(line), 'client-a -> server');
    t.match(outbound, {
      msg: 'connection complete',
      'src.identity': clientAId,
      'dst.identity': serverId,
      'dst.addr': `${server.ip}:${HBONE_PORT}`,
      'dst.service': 'server.mesh.svc.cluster.local',
      outcome: 'complete',
    }, 'node-1 logs the outbound HBONE connection with both identities');
    t.ok(outbound.bytes_sent > 0 && outbound.bytes_recv > 0, 'with bytes both ways');
    const [inbound] = await mesh.waitForAccess('node-2', marks.node2, (line) => line.direction === 'inbound' && fromClientA(line), 'client-a -> server');
    t.match(inbound, { msg: 'connection complete', 'src.identity': clientAId, 'dst.identity': serverId, 'dst.service': 'server.mesh.svc.cluster.local', outcome: 'complete' }, 'node-2 logs the inbound HBONE connection with both identities');

    const node1 = await mesh.metrics('node-1');
    const node2 = await mesh.metrics('node-2');
    t.equal(metricSum(node1, OPENED, sourceLabels), before.node1 + 1, 'node-1 counts one connection opened with reporter="source" and both principals');
    t.equal(metricSum(node2, OPENED, destinationLabels), before.node2 + 1, 'node-2 counts one connection opened with reporter="destination", both principals and mutual_tls');
    t.equal(metricSum(node1, OPENED, { reporter: 'destination', source_workload: 'client-a' }), 0, 'the client node never reports as destination');
    t.equal(metricSum(node2, OPENED, { reporter: 'source', source_workload: 'client-a' }), 0, 'the server node never reports as source');
    t.ok(metricSum(node2, OPENED, { ...destinationLabels, destination_service: 'server.mesh.svc.cluster.local' }) >= 1, 'the destination service travels with the tunnel');
  });

  await t.test('mutual TLS refuses peers the mesh must not trust', async (t) => {
    const root = {
      certPem: fs.readFileSync(path.join(mesh.dir, 'controlplane', 'root-cert.pem'), 'utf8'),
      keyPem: fs.readFileSync(path.join(mesh.dir, 'controlplane', 'root-key.pem'), 'utf8'),
    };
    const meshCa = new CertificateIssuer(root);
    const otherCa = new CertificateIssuer(generateRootCa({ trustDomain: 'cluster.local', ttlDays: 1 }));
    /** client-a's identity, certified by `issuer`, trusting the mesh root (so only the server can object). */
    const material = (issuer: CertificateIssuer, now?: Date): SourceIdentity => {
      const keyPem = generateWorkloadKey();
      const leaf = issuer.issue({ publicKeyPem: publicKeyPemOf(keyPem), sans: { uris: [clientAId] }, ttlSeconds: 3600, ...(now ? { now } : {}) });
      return { keyPem, certChainPems: [leaf], rootPems: [root.certPem], identity: clientAId as SpiffeId };
    };
    const node1 = mesh.nodeNetns('node-1');
    const pool = new HbonePool({ connectTimeoutMs: 5000 });
    t.teardown(() => pool.destroy());
    const localPorts: number[] = [];
    /** Dials server:15008 from the node-1 netns, as a peer on that node would; remembers the source port. */
    const connect = (source: SourceIdentity, expected: string) =>
      pool.connect({
        source,
        destination: { ip: server.ip, port: HBONE_PORT },
        expectedIdentities: [expected as SpiffeId],
        authority: `${server.ip}:${ECHO_PORT}`,
        dial: async (host, port) => {
          const socket = await connectInNetns({ netns: node1, host, port, timeoutMs: 5000 });
          localPorts.push(socket.localPort ?? 0);
          return socket;
        },
      });
    const tlsFailures = async () => metricSum(await mesh.metrics('node-2'), FAILED, { reporter: 'destination', response_flags: 'TLS_FAILURE' });

    /** Connects with `source`, expects the server to refuse, and returns the server's access-log line for it. */
    const refusedByServer = async (t: Test, source: SourceIdentity): Promise<AccessLine> => {
      const mark = mesh.logMark('node-2');
      const failuresBefore = await tlsFailures();
      await t.rejects(connect(source, serverId), { code: 'TLS_HANDSHAKE' }, 'the client sees the handshake fail');
      const localPort = localPorts[localPorts.length - 1];
      const [line] = await mesh.waitForAccess('node-2', mark, (candidate) => candidate['src.addr'].endsWith(`:${localPort}`) && candidate.msg === 'connection failed', `the refused connection from port ${localPort}`);
      t.equal(await tlsFailures(), failuresBefore + 1, `node-2 counts it in ${FAILED}{reporter="destination",response_flags="TLS_FAILURE"}`);
      return line;
    };

    await t.test('a client certificate from another CA is refused, logged and counted by the server ztunnel', async (t) => {
      const line = await refusedByServer(t, material(otherCa));
      t.match(line, { direction: 'inbound', 'dst.addr': `${server.ip}:${HBONE_PORT}`, reason: 'TLS_HANDSHAKE' }, 'a "connection failed" access line with the reason');
      t.match(line.error, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/, `the log says the chain did not verify: ${line.error}`);
    });

    await t.test('an expired client certificate from the mesh CA is refused, logged and counted by the server ztunnel', async (t) => {
      const dayAgo = new Date(Date.now() - 24 * 3600_000);
      const line = await refusedByServer(t, material(meshCa, dayAgo));
      t.match(line, { direction: 'inbound', 'dst.addr': `${server.ip}:${HBONE_PORT}`, reason: 'TLS_HANDSHAKE' }, 'a "connection failed" access line with the reason');
      t.match(line.error, /CERT_HAS_EXPIRED/, `the log says the certificate expired: ${line.error}`);
    });

    await t.test('a server with a valid certificate for another identity than the expected one fails secure naming on the client', async (t) => {
      const valid = material(meshCa);
      const tunnel = await connect(valid, serverId);
      const reply = await httpOverTunnel(tunnel, `/${marker('direct-hbone')}`);
      t.equal(reply.pod, 'server', 'with the right expected identity the same certificate and dial get through (the refusals above are the certificates\')');
      t.equal(tunnel.peerIdentity, serverId);
      const impostorExpected = spiffeId('mesh', 'not-the-server');
      await t.rejects(
        connect(valid, impostorExpected),
        { code: 'SECURE_NAMING', name: 'SecureNamingViolation', presented: [serverId], message: new RegExp(escape(serverId)) },
        'expecting another identity, the client rejects the server certificate and names the identity it presented',
      );
    });
  });

  await t.test('internalTrafficPolicy Local keeps a client on its node\'s endpoints; without it both nodes serve', async (t) => {
    const applied = await mesh.cluster.ambit(['apply', '-f', fixture('mesh', 'node-local.yaml')]);
    t.equal(applied.code, 0, applied.stderr);
    await mesh.waitForEnrolled('node-1', 'mesh', ['client-a', 'client-b', 'spread-1']);
    await mesh.waitForEnrolled('node-2', 'mesh', ['server', 'spread-2']);
    const servedBy = async (host: string): Promise<Set<string>> => {
      const pods = new Set<string>();
      for (let i = 0; i < 24; i++) {
        const result = await mesh.curl('mesh', 'client-a', `http://${host}/${i}`);
        pods.add(result.reply?.pod ?? `failed: ${result.stderr}`);
      }
      return pods;
    };
    await waitFor(async () => (await servedBy('spread-local')).has('spread-1'), 20_000, () => 'spread-local never answered');
    t.same([...(await servedBy('spread-local'))], ['spread-1'], 'client-a on node-1 only ever reaches spread-1');
    t.same([...(await servedBy('spread'))].sort(), ['spread-1', 'spread-2'], 'the plain Service spreads over both');
  });

  finished = { mesh, pids: [...(await clusterPids(mesh.names)), mesh.cluster.up.pid ?? 0] };
});

t.test('nothing of the cluster is left after teardown', async (t) => {
  if (!finished) throw new Error('the cluster test did not get far enough to record its processes');
  const { mesh, pids } = finished;
  t.ok(pids.length > 5, `recorded the cluster's processes (${pids.length})`);
  const left = await leftovers(mesh.names, mesh.cluster.stateDir, pids);
  t.same(left.netns, [], 'no netns of the cluster remains');
  t.same(left.processes, [], 'no process of the cluster remains');
  t.ok(mesh.capturePids.length > 0 && mesh.capturePids.every(processGone), 'every tcpdump the test started has exited');
  t.notOk(fs.existsSync(mesh.cluster.stateDir), 'the state dir is gone');
});
