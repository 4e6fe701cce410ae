// End to end on a real 2-node ambient cluster: the destination ztunnel enforces L4 AuthorizationPolicy and PeerAuthentication, and leaves namespaces outside the mesh alone.
import fs from 'node:fs';
import t, { type Test } from 'tap';
import { fixture } from '../../helpers/repo';
import { clusterPids, ECHO_PORT, leftovers, marker, MeshCluster, spiffeId, type AccessLine } from './mesh-cluster';

/** Name under which the control plane pushes STRICT mTLS (a DENY of peers without an identity). */
const STATIC_STRICT = 'istio-system/istio_converted_static_strict';

let finished: { mesh: MeshCluster; pids: number[] } | undefined;

t.test('L4 policy on an ambient mesh', async (t) => {
  const mesh = await MeshCluster.start(t);
  const server = mesh.pod('mesh', 'server');
  const outsider = mesh.pod('outside', 'client');

  const apply = async (t: Test, file: string, policies: readonly string[]) => {
    const result = await mesh.cluster.ambit(['apply', '-f', fixture('mesh', file)]);
    t.equal(result.code, 0, `ambit apply -f ${file}: ${result.stderr}`);
    await mesh.waitForPolicies('node-2', 'mesh', 'server', policies);
  };
  const remove = async (t: Test, file: string) => {
    const result = await mesh.cluster.ambit(['delete', '-f', fixture('mesh', file)]);
    t.equal(result.code, 0, `ambit delete -f ${file}: ${result.stderr}`);
    await mesh.waitForPolicies('node-2', 'mesh', 'server', []);
  };
  /** curl from `namespace/pod` to the server pod; true when the echo server answered it. */
  const reaches = async (namespace: string, pod: string): Promise<boolean> => {
    const result = await mesh.curl(namespace, pod, mesh.echoUrl('mesh', 'server', marker('policy')));
    return result.reply?.pod === 'server';
  };
  const serverLine = (since: number, sourceIp: string, what: string) =>
    mesh.waitForAccess('node-2', since, (line: AccessLine) => line.direction === 'inbound' && line['src.addr'].startsWith(`${sourceIp}:`), what);

  await t.test('with no policy every client gets in, plaintext from outside the mesh too (PERMISSIVE is the default)', async (t) => {
    t.ok(await reaches('mesh', 'client-a'), 'client-a');
    t.ok(await reaches('mesh', 'client-b'), 'client-b');
    t.ok(await reaches('outside', 'client'), 'the plaintext client in the unlabelled namespace');
  });

  await t.test('an L4 DENY by principal blocks client-b and not client-a', async (t) => {
    await apply(t, 'deny-client-b.yaml', ['mesh/deny-client-b']);
    const mark = mesh.logMark('node-2');
    t.ok(await reaches('mesh', 'client-a'), 'client-a still gets in');
    t.notOk(await reaches('mesh', 'client-b'), 'client-b is refused');
    const [denied] = await serverLine(mark, mesh.pod('mesh', 'client-b').ip, 'the denied connection of client-b');
    t.match(denied, { msg: 'connection failed', 'src.identity': spiffeId('mesh', 'client-b'), error: /DENY policy mesh\/deny-client-b/ }, 'the server ztunnel logs the denial with the policy and the principal');
    await remove(t, 'deny-client-b.yaml');
    t.ok(await reaches('mesh', 'client-b'), 'client-b gets in again once the policy is deleted');
  });

  await t.test('an ALLOW policy admits the principal it names and denies everyone it does not name', async (t) => {
    await apply(t, 'allow-client-a.yaml', ['mesh/allow-client-a']);
    t.ok(await reaches('mesh', 'client-a'), 'client-a, named by the policy, gets in');
    t.notOk(await reaches('mesh', 'client-b'), 'client-b, a mesh client it does not name, is refused');
    t.notOk(await reaches('outside', 'client'), 'a plaintext client (no principal at all) is refused');
    await remove(t, 'allow-client-a.yaml');
    t.ok(await reaches('mesh', 'client-b'), 'client-b gets in again once the policy is deleted');
  });

  await t.test('STRICT PeerAuthentication refuses a plaintext client outside the mesh; PERMISSIVE accepts it', async (t) => {
    await apply(t, 'strict-mtls.yaml', [STATIC_STRICT]);
    const mark = mesh.logMark('node-2');
    const refused = await mesh.curl('outside', 'client', mesh.echoUrl('mesh', 'server', marker('strict')));
    t.not(refused.code, 0, `curl from outside the mesh fails (exit ${refused.code}: ${refused.stderr.trim()})`);
    t.notOk(refused.reply, 'the server app never answered it');
    const [line] = await serverLine(mark, outsider.ip, 'the refused plaintext connection');
    t.match(line, { msg: 'connection failed', 'dst.addr': `${server.ip}:${ECHO_PORT}`, error: /istio_converted_static_strict/ }, 'the server ztunnel logs the refusal of the plaintext connection');
    t.notOk(line['src.identity'], 'the refused client had no identity');
    t.ok(await reaches('mesh', 'client-a'), 'mesh clients (mTLS) still get in under STRICT');
    await apply(t, 'permissive-mtls.yaml', []);
    t.ok(await reaches('outside', 'client'), 'switched to PERMISSIVE, the plaintext client gets in');
    t.ok(await reaches('mesh', 'client-a'), 'and so do mesh clients');
    await remove(t, 'permissive-mtls.yaml');
    t.ok(await reaches('outside', 'client'), 'with no PeerAuthentication at all (PERMISSIVE by default) it still gets in');
  });

  await t.test('an unenrolled namespace is untouched: no AMBIT chains in its pods and no ztunnel sees its traffic', async (t) => {
    t.ok(await mesh.hasAmbitChains('mesh', 'server'), 'an enrolled pod has the chains (the check can see them)');
    for (const pod of ['client', 'echo']) t.notOk(await mesh.hasAmbitChains('outside', pod), `outside/${pod} has no AMBIT chain in its netns`);
    const echo = mesh.pod('outside', 'echo');
    t.not(echo.node, outsider.node, 'the request crosses nodes');
    const marks = { 'node-1': mesh.logMark('node-1'), 'node-2': mesh.logMark('node-2') };
    const result = await mesh.curl('outside', 'client', mesh.echoUrl('outside', 'echo', marker('outside')));
    t.equal(result.reply?.from, outsider.ip, `outside/client reaches outside/echo directly (${result.stderr})`);
    // A mesh request afterwards: once its access line is written, any line for the outside request would be too.
    t.ok(await reaches('mesh', 'client-a'));
    const clientA = mesh.pod('mesh', 'client-a').ip;
    await serverLine(marks['node-2'], clientA, 'the later mesh request');
    await mesh.waitForAccess('node-1', marks['node-1'], (line) => line.direction === 'outbound' && line['src.addr'].startsWith(`${clientA}:`), 'the later mesh request');
    for (const node of ['node-1', 'node-2'] as const) {
      const touching = mesh.accessLog(node, marks[node]).filter((line) => line['dst.addr'].startsWith(`${echo.ip}:`) || line['src.addr'].startsWith(`${outsider.ip}:`));
      t.same(touching, [], `${node}'s ztunnel logged nothing for the outside namespace's traffic`);
    }
  });

  finished = { mesh, pids: [...(await clusterPids(mesh.names)), mesh.cluster.up.pid ?? 0] };
});

t.test('nothing of the cluster is left after teardown', async (t) => {
  if (!finished) throw new Error('the cluster test did not get far enough to record its processes');
  const { mesh, pids } = finished;
  const left = await leftovers(mesh.names, mesh.cluster.stateDir, pids);
  t.same(left.netns, [], 'no netns of the cluster remains');
  t.same(left.processes, [], 'no process of the cluster remains');
  t.notOk(fs.existsSync(mesh.cluster.stateDir), 'the state dir is gone');
});
