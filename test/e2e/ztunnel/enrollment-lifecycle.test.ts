// End to end on a real 2-node ambient cluster: running pods join and leave the mesh by label without restarting, and a killed ztunnel comes back and serves new connections while pods keep running.
import fs from 'node:fs';
import t, { type Test } from 'tap';
import { waitFor } from '../../helpers/cluster';
import { clusterPids, ECHO_PORT, HBONE_PORT, leftovers, marker, MeshCluster, processGone, spiffeId, type AccessLine } from './mesh-cluster';

const AMBIENT = 'istio.io/dataplane-mode=ambient';
const NOT_AMBIENT = 'istio.io/dataplane-mode-';

/** What must not change about a pod that is enrolled or released: its processes, restart count and sandbox. */
interface PodIdentity {
  readonly pids: number[];
  readonly restarts: number;
  readonly netnsInode: number;
}

let finished: { mesh: MeshCluster; pids: number[] } | undefined;

t.test('enrolment on a running ambient mesh', async (t) => {
  const mesh = await MeshCluster.start(t);

  const podIdentity = async (namespace: string, pod: string): Promise<PodIdentity> => {
    const view = (await mesh.cluster.pods(namespace)).find((candidate) => candidate.name === pod);
    if (!view) throw new Error(`pod ${namespace}/${pod} is gone`);
    return { pids: await mesh.podPids(namespace, pod), restarts: view.restarts, netnsInode: mesh.podNetnsInode(namespace, pod) };
  };
  const snapshot = async (pods: readonly (readonly [string, string])[]) => new Map(await Promise.all(pods.map(async ([ns, name]) => [`${ns}/${name}`, await podIdentity(ns, name)] as const)));
  const unchanged = async (t: Test, before: Map<string, PodIdentity>) => {
    for (const [key, identity] of before) {
      const [namespace, pod] = key.split('/');
      const now = await podIdentity(namespace, pod);
      t.ok(identity.pids.length > 0, `${key} has processes`);
      t.same(now.pids, identity.pids, `${key}: the same processes (no restart)`);
      t.equal(now.restarts, identity.restarts, `${key}: restartCount unchanged`);
      t.equal(now.netnsInode, identity.netnsInode, `${key}: the same netns`);
    }
  };
  const client = mesh.pod('late', 'client');
  const echo = mesh.pod('late', 'echo');
  const latePods = [['late', 'client'], ['late', 'echo']] as const;
  const fromLateClient = (line: AccessLine) => line['src.addr'].startsWith(`${client.ip}:`) && line['dst.addr'].startsWith(`${echo.ip}:`);

  await t.test('labelling a running namespace enrols its pods without restarting them, and their traffic becomes HBONE', async (t) => {
    t.equal(client.node, 'node-1');
    t.equal(echo.node, 'node-2');
    for (const [namespace, pod] of latePods) t.notOk(await mesh.hasAmbitChains(namespace, pod), `${namespace}/${pod} starts outside the mesh`);
    const before = await snapshot(latePods);

    const labelled = await mesh.cluster.ambit(['label', 'namespace', 'late', AMBIENT]);
    t.equal(labelled.code, 0, labelled.stderr);
    await waitFor(async () => (await mesh.hasAmbitChains('late', 'client')) && (await mesh.hasAmbitChains('late', 'echo')), 20_000, () => 'capture rules never appeared in the late pods');
    await mesh.waitForEnrolled('node-1', 'late', ['client']);
    await mesh.waitForEnrolled('node-2', 'late', ['echo']);
    await mesh.waitForProtocol('node-1', 'late', 'HBONE');

    const marks = { node1: mesh.logMark('node-1'), node2: mesh.logMark('node-2') };
    const result = await mesh.curl('late', 'client', mesh.echoUrl('late', 'echo', marker('enrolled')));
    t.equal(result.reply?.from, client.ip, `the request gets through and the app sees the client pod (${result.stderr})`);
    const [inbound] = await mesh.waitForAccess('node-2', marks.node2, (line) => line.direction === 'inbound' && fromLateClient(line), 'late/client -> late/echo');
    t.match(inbound, {
      msg: 'connection complete',
      'dst.addr': `${echo.ip}:${HBONE_PORT}`,
      'dst.hbone_addr': `${echo.ip}:${ECHO_PORT}`,
      'src.identity': spiffeId('late', 'client'),
      'dst.identity': spiffeId('late', 'echo'),
    }, 'node-2 logs it as an HBONE tunnel with both identities');
    const [outbound] = await mesh.waitForAccess('node-1', marks.node1, (line) => line.direction === 'outbound' && fromLateClient(line), 'late/client -> late/echo');
    t.match(outbound, { 'dst.hbone_addr': `${echo.ip}:${ECHO_PORT}`, 'src.identity': spiffeId('late', 'client') }, 'node-1 sent it through HBONE');
    await unchanged(t, before);
  });

  await t.test('removing the label releases them: the capture rules go and traffic is plain TCP again', async (t) => {
    const before = await snapshot(latePods);
    const unlabelled = await mesh.cluster.ambit(['label', 'namespace', 'late', NOT_AMBIENT]);
    t.equal(unlabelled.code, 0, unlabelled.stderr);
    await waitFor(async () => !(await mesh.hasAmbitChains('late', 'client')) && !(await mesh.hasAmbitChains('late', 'echo')), 20_000, () => 'capture rules stayed in the late pods');
    await mesh.waitForEnrolled('node-1', 'late', []);
    await mesh.waitForEnrolled('node-2', 'late', []);
    await mesh.waitForProtocol('node-1', 'late', 'NONE');
    for (const [namespace, pod] of latePods) t.notMatch(await mesh.iptablesSave(namespace, pod), /AMBIT-/, `${namespace}/${pod}: no AMBIT chain left in its netns`);

    const marks = { node1: mesh.logMark('node-1'), node2: mesh.logMark('node-2') };
    const capture = await mesh.capturePodLink('node-2', 'late', 'echo');
    const secret = marker('released');
    const result = await mesh.curl('late', 'client', mesh.echoUrl('late', 'echo', secret));
    const dump = await capture.stop();
    t.equal(result.reply?.from, client.ip, `the request gets through (${result.stderr})`);
    t.match(dump, new RegExp(`IP ${client.ip.replaceAll('.', '\\.')}\\.\\d+ > ${echo.ip.replaceAll('.', '\\.')}\\.${ECHO_PORT}: `), 'plain TCP from the client pod to the app port on the wire');
    t.ok(dump.includes(secret), 'the request is in clear on the wire');
    // A mesh request afterwards: once both ztunnels logged it, a line for the late request would have been written too.
    const clientA = mesh.pod('mesh', 'client-a').ip;
    t.equal((await mesh.curl('mesh', 'client-a', mesh.echoUrl('mesh', 'server', 'after-release'))).reply?.pod, 'server');
    await mesh.waitForAccess('node-1', marks.node1, (line) => line['src.addr'].startsWith(`${clientA}:`), 'the later mesh request');
    await mesh.waitForAccess('node-2', marks.node2, (line) => line['src.addr'].startsWith(`${clientA}:`), 'the later mesh request');
    t.same(mesh.accessLog('node-1', marks.node1).filter(fromLateClient), [], 'node-1 ztunnel no longer sees the late traffic');
    t.same(mesh.accessLog('node-2', marks.node2).filter(fromLateClient), [], 'node-2 ztunnel no longer sees the late traffic');
    await unchanged(t, before);
  });

  await t.test('a killed ztunnel is restarted by the supervisor and serves new connections, and no pod restarts', async (t) => {
    const meshPods = [['mesh', 'client-a'], ['mesh', 'client-b'], ['mesh', 'server']] as const;
    const before = await snapshot(meshPods);
    const killed = await mesh.ztunnelPid('node-1');
    if (killed === undefined) throw new Error('no ztunnel process in the node-1 netns');
    t.ok(await mesh.ztunnelReady('node-1'), 'node-1 ztunnel is ready before the kill');
    process.kill(killed, 'SIGKILL');
    let restarted: number | undefined;
    await waitFor(
      async () => {
        restarted = await mesh.ztunnelPid('node-1');
        return restarted !== undefined && restarted !== killed && (await mesh.ztunnelReady('node-1'));
      },
      30_000,
      () => `node-1 ztunnel not back (pid ${restarted})`,
    );
    t.not(restarted, killed, 'a new ztunnel process runs in the node-1 netns');

    // Ready means serving: the first request after readiness must get through (no retry).
    const mark = mesh.logMark('node-1');
    const result = await mesh.curl('mesh', 'client-a', mesh.echoUrl('mesh', 'server', marker('after-restart')));
    t.equal(result.reply?.from, mesh.pod('mesh', 'client-a').ip, `client-a reaches the server right after readiness (${result.code}: ${result.stderr.trim()})`);
    const [line] = await mesh.waitForAccess('node-1', mark, (candidate) => candidate.direction === 'outbound' && candidate['src.addr'].startsWith(`${mesh.pod('mesh', 'client-a').ip}:`), 'client-a -> server after the restart');
    t.match(line, { msg: 'connection complete', 'dst.addr': `${mesh.pod('mesh', 'server').ip}:${HBONE_PORT}`, 'src.identity': spiffeId('mesh', 'client-a') }, 'through the new ztunnel, as HBONE');
    await unchanged(t, before);
  });

  finished = { mesh, pids: [...(await clusterPids(mesh.names)), mesh.cluster.up.pid ?? 0] };
});

t.test('nothing of the cluster is left after teardown', async (t) => {
  if (!finished) throw new Error('the cluster test did not get far enough to record its processes');
  const { mesh, pids } = finished;
  const left = await leftovers(mesh.names, mesh.cluster.stateDir, pids);
  t.same(left.netns, [], 'no netns of the cluster remains');
  t.same(left.processes, [], 'no process of the cluster remains');
  t.ok(mesh.capturePids.length > 0 && mesh.capturePids.every(processGone), 'every tcpdump the test started has exited');
  t.notOk(fs.existsSync(mesh.cluster.stateDir), 'the state dir is gone');
});
