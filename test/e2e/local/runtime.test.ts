// End to end on a real 2-node local cluster: pod networking across nodes, ClusterIP load balancing, DNS names, env, restarts.
import fs from 'node:fs';
import t from 'tap';
import { runCommand, startCluster, waitFor } from '../../helpers/cluster';
import { fixture } from '../../helpers/repo';

interface EchoReply {
  pod: string;
  namespace: string;
  node: string;
  ip: string;
  serviceAccount: string;
  greeting?: string;
  from: string;
}

t.test('a local cluster runs pods that reach each other across nodes', async (t) => {
  const cluster = await startCluster(t, { config: fixture('local', 'cluster.yaml') });
  const curl = async (namespace: string, url: string) => {
    const result = await cluster.exec('client', namespace, ['curl', '-s', '-m', '5', url]);
    return { ...result, reply: result.code === 0 ? (JSON.parse(result.stdout) as EchoReply) : undefined };
  };
  const pods = new Map((await cluster.pods('apps')).map((pod) => [pod.name, pod]));
  const client = pods.get('client');
  const echoA = pods.get('echo-a');
  const echoB = pods.get('echo-b');
  if (!client || !echoA || !echoB) throw new Error(`missing pods: ${[...pods.keys()].join(',')}`);

  t.test('pods run on their pinned nodes with addresses from that node\'s range', async (t) => {
    t.equal(echoA.node, 'node-1');
    t.equal(echoB.node, 'node-2');
    t.match(echoA.ip, /^10\.44\.1\.\d+$/);
    t.match(echoB.ip, /^10\.44\.2\.\d+$/);
    t.ok(echoA.ready && echoB.ready, 'echo pods report Ready once they accept connections');
  });

  t.test('a pod on node-1 reaches a pod on node-2 by its address, without NAT', async (t) => {
    const { reply, stderr } = await curl('apps', `http://${echoB.ip}:8080/direct`);
    t.ok(reply, stderr);
    t.equal(reply?.node, 'node-2');
    t.equal(reply?.from, client.ip, 'the server sees the client pod address');
  });

  t.test('a ClusterIP reaches ready endpoints on both nodes, and targetPort names resolve', async (t) => {
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < 2; i++) {
      const { reply } = await curl('apps', 'http://echo.apps.svc.cluster.local/');
      if (reply) seen.add(reply.pod);
    }
    t.same([...seen].sort(), ['echo-a', 'echo-b']);
  });

  t.test('service names resolve as svc, svc.ns and svc.ns.svc.cluster.local inside the namespace', async (t) => {
    for (const host of ['echo', 'echo.apps', 'echo.apps.svc.cluster.local']) {
      const { reply, stderr } = await curl('apps', `http://${host}/`);
      t.equal(reply?.namespace, 'apps', `${host} resolves (${stderr})`);
    }
  });

  t.test('from another namespace the short name does not resolve but svc.ns does', async (t) => {
    const short = await curl('other', 'http://echo/');
    t.equal(short.code, 6, 'curl: could not resolve host');
    const qualified = await curl('other', 'http://echo.apps/');
    t.equal(qualified.reply?.namespace, 'apps');
  });

  t.test('containers get the pod environment and $(VAR) expansion', async (t) => {
    const { reply } = await curl('apps', `http://${echoA.ip}:8080/`);
    t.equal(reply?.pod, 'echo-a');
    t.equal(reply?.serviceAccount, 'echo');
    t.equal(reply?.ip, echoA.ip);
    t.equal(reply?.greeting, 'hello from echo-a');
  });

  t.test('exec passes the exit code through', async (t) => {
    const result = await cluster.exec('client', 'apps', ['sh', '-c', 'exit 7']);
    t.equal(result.code, 7);
  });

  t.test('a crashing container is restarted with backoff and its output kept', async (t) => {
    const applied = await cluster.ambit(['apply', '-f', fixture('local', 'crasher.yaml')]);
    t.equal(applied.code, 0, applied.stderr);
    await waitFor(async () => ((await cluster.pods('apps')).find((pod) => pod.name === 'crasher')?.restarts ?? 0) >= 2, 30_000, () => 'crasher never restarted twice');
    const logs = await cluster.ambit(['logs', 'crasher', '-n', 'apps']);
    t.match(logs.stdout, /started crasher on node-\d/);
    t.ok(logs.stdout.split('\n').filter((line) => line.startsWith('started')).length >= 2, 'each run appends to the log');
  });

  t.test('deleting a pod stops its processes and removes its netns', async (t) => {
    const netns = `/var/run/netns/${cluster.name}-pod-apps.crasher`;
    t.ok(fs.existsSync(netns), 'crasher has a netns');
    const deleted = await cluster.ambit(['delete', 'pod', 'crasher', '-n', 'apps']);
    t.equal(deleted.code, 0, deleted.stderr);
    await waitFor(() => !fs.existsSync(netns), 15_000, () => `${netns} still exists`);
    t.notOk(fs.existsSync(netns));
  });

  t.test('the host netns gets no address or route in the cluster ranges', async (t) => {
    const addresses = await runCommand('ip', ['-4', 'addr', 'show']);
    const routes = await runCommand('ip', ['-4', 'route', 'show', 'table', 'all']);
    for (const range of ['10.44.', '10.96.', '10.99.', '169.254.1.1']) {
      t.notOk(addresses.stdout.includes(range), `no host address in ${range}`);
      t.notOk(routes.stdout.includes(range), `no host route to ${range}`);
    }
  });
});
