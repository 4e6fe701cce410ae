// End to end on a real 2-node ambient cluster with a waypoint applied by the CLI: traffic splitting and matching, L7 authorization and resilience features, measured from inside client pods.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startCluster, waitFor } from '../../helpers/cluster';
import { fixture } from '../../helpers/repo';

const NS = 'wp';

/** What test/fixtures/waypoint/load.js prints. */
interface LoadResult {
  readonly statuses: Record<string, number>;
  readonly versions: Record<string, number>;
  readonly bodies: Record<string, number>;
  readonly overloaded: number;
  readonly minMs: number;
  readonly maxMs: number;
}

interface CurlReply {
  readonly status: number;
  readonly body: string;
}

/** What test/fixtures/waypoint/http-server.js answers on GET /__count. */
interface CountReply {
  readonly served: number;
  readonly byHost: Record<string, number>;
}

/** The fields of a waypoint access line the test reads. */
interface AccessLine {
  readonly method?: string;
  readonly authority?: string;
  readonly responseCode?: number;
}

const count = (record: Record<string, number>, key: string): number => record[key] ?? 0;

t.test('L7 traffic management through a waypoint', async (t) => {
  const cluster = await startCluster(t, { config: fixture('waypoint', 'cluster.yaml') });

  const load = async (client: string, url: string, requests: number, concurrency = 1, method = 'GET', headers: readonly string[] = []): Promise<LoadResult> => {
    const result = await cluster.exec(client, NS, ['node', fixture('waypoint', 'load.js'), url, String(requests), String(concurrency), method, ...headers]);
    if (result.code !== 0) throw new Error(`load.js in ${client} failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as LoadResult;
  };
  const curl = async (client: string, url: string, method = 'GET'): Promise<CurlReply> => {
    const result = await cluster.exec(client, NS, ['curl', '-s', '-S', '-m', '10', '-X', method, '-w', '\n%{http_code}', url]);
    const at = result.stdout.lastIndexOf('\n');
    return { status: Number(result.stdout.slice(at + 1)), body: result.stdout.slice(0, Math.max(at, 0)) };
  };
  const served = async (pod: string): Promise<CountReply> => {
    const ip = (await cluster.pods(NS)).find((view) => view.name === pod)?.ip;
    if (!ip) throw new Error(`no pod ${pod}`);
    return JSON.parse((await curl('client-a', `http://${ip}:8080/__count`)).body) as CountReply;
  };
  const apply = async (file: string) => {
    const result = await cluster.ambit(['apply', '-f', fixture('waypoint', file)]);
    if (result.code !== 0) throw new Error(`ambit apply -f ${file}: ${result.stderr}`);
  };

  await waitFor(async () => (await cluster.pods(NS)).filter((pod) => pod.ready).length >= 8, 30_000, () => `pods of ${NS} not ready`);
  const applied = await cluster.ambit(['waypoint', 'apply', '-n', NS, '--enroll-namespace']);
  if (applied.code !== 0) throw new Error(`ambit waypoint apply: ${applied.stderr}`);
  let listing = '';
  await waitFor(
    async () => {
      listing = (await cluster.ambit(['waypoint', 'list', '-n', NS])).stdout;
      return /^waypoint\s+\S+\s+True\b/m.test(listing);
    },
    45_000,
    () => `waypoint never Programmed:\n${listing}`,
  );
  await apply('routing.yaml');
  await apply('authz.yaml');
  // One config document per waypoint: once the last-applied policy and a route of the first file show, all of it is in force.
  await waitFor(
    async () => (await curl('client-a', 'http://guarded/x', 'DELETE')).status === 403 && (await curl('client-a', 'http://slow/?delay=3000')).status === 504,
    30_000,
    () => 'the waypoint never enforced the applied routing and policies',
  );
  const logs = path.join(cluster.stateDir, cluster.name, 'logs');
  /** The waypoint's access lines (pino JSON, target "access"). */
  const accessLines = (): AccessLine[] => {
    const file = fs.readdirSync(logs).find((name) => name.startsWith(`${NS}_waypoint`) && name.endsWith('_istio-proxy.log'));
    if (!file) return [];
    const lines: AccessLine[] = [];
    for (const line of fs.readFileSync(path.join(logs, file), 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const parsed = JSON.parse(line) as AccessLine & { target?: string };
        if (parsed.target === 'access') lines.push(parsed);
      } catch {
        // a line being written right now
      }
    }
    return lines;
  };
  const deniedDelete = (line: AccessLine) => line.method === 'DELETE' && line.responseCode === 403 && /^guarded\b/.test(line.authority ?? '');
  await waitFor(() => accessLines().some(deniedDelete), 10_000, () => `no access line for the denied DELETE to guarded in the waypoint's log (${logs})`);

  await t.test('a 90/10 weighted split lands within 5 points over 1,000 requests', async (t) => {
    const result = await load('client-a', 'http://reviews/', 1000, 4);
    t.equal(count(result.statuses, '200'), 1000, `all answered 200: ${JSON.stringify(result.statuses)}`);
    const v2 = count(result.versions, 'v2');
    t.equal(count(result.versions, 'v1') + v2, 1000, 'every reply came from v1 or v2');
    t.ok(v2 >= 50 && v2 <= 150, `v2 got ${v2} of 1000 (10% +-5 points)`);
  });

  await t.test('a header match sends end-user: jason to v2 only', async (t) => {
    const result = await load('client-a', 'http://reviews/', 50, 2, 'GET', ['end-user:jason']);
    t.same(result.versions, { v2: 50 }, 'all 50 requests went to v2');
  });

  await t.test('sourceLabels routes two clients with different labels to different subsets', async (t) => {
    t.same((await load('client-a', 'http://bysource/', 30)).versions, { v1: 30 }, 'client-a (role a) goes to v1');
    t.same((await load('client-b', 'http://bysource/', 30)).versions, { v2: 30 }, 'client-b (role b) goes to v2');
  });

  await t.test('an L7 ALLOW lets client-a only GET, and a DENY path rule refuses /admin*', async (t) => {
    const deleted = await curl('client-a', 'http://guarded/items', 'DELETE');
    t.equal(deleted.status, 403, 'DELETE is refused');
    t.equal(deleted.body, 'RBAC: access denied', 'with the RBAC body');
    const got = await curl('client-a', 'http://guarded/items');
    t.equal(got.status, 200, 'GET is allowed');
    t.match(JSON.parse(got.body), { version: 'v1', method: 'GET' }, 'and reaches the server');
    const admin = await curl('client-a', 'http://guarded/admin/users');
    t.equal(admin.status, 403, 'GET /admin/users is denied by the path rule');
    t.equal(admin.body, 'RBAC: access denied', 'with the RBAC body');
    t.equal((await curl('client-b', 'http://guarded/items')).status, 403, 'client-b, not named by the ALLOW, is refused');
  });

  await t.test('a WebSocket upgrade passes the waypoint after its policy: 101, then bytes both ways', async (t) => {
    const upgrade = async (client: string) => {
      const result = await cluster.exec(client, NS, ['node', fixture('waypoint', 'upgrade-client.js'), 'http://guarded/ws']);
      if (result.code !== 0) throw new Error(`upgrade-client.js in ${client} failed (${result.code}): ${result.stderr}`);
      return JSON.parse(result.stdout) as { status: number; echoed?: string };
    };
    const allowed = await upgrade('client-a');
    t.equal(allowed.status, 101, 'client-a (allowed to GET) is switched');
    t.match(allowed.echoed, /^ping-\d+$/, 'and its bytes come back through the waypoint');
    t.same(await upgrade('client-b'), { status: 403 }, 'client-b is refused by the L7 policy before any upgrade');
    await waitFor(() => accessLines().some((line) => line.responseCode === 101), 10_000, () => 'no access line with response code 101');
  });

  await t.test('retries turn a backend failing every other first attempt into all successes', async (t) => {
    const without = await load('client-a', 'http://noretry/', 20);
    t.equal(count(without.statuses, '503'), 10, `without retries half fail: ${JSON.stringify(without.statuses)}`);
    const withRetries = await load('client-a', 'http://flaky/', 20);
    t.same(withRetries.statuses, { 200: 20 }, 'with retries all 20 succeed');
  });

  await t.test('a 1 s route timeout answers 504 for a 3 s backend', async (t) => {
    const reply = await curl('client-a', 'http://slow/?delay=3000');
    t.equal(reply.status, 504, 'the 3 s request is cut off with 504');
    t.equal(reply.body, 'upstream request timeout', 'with the timeout body');
    t.equal((await curl('client-a', 'http://slow/?delay=0')).status, 200, 'a fast request on the same route succeeds');
  });

  await t.test('a 50% abort fault answers the configured status for half of 1,000 requests', async (t) => {
    const result = await load('client-a', 'http://faulty/', 1000, 4);
    const aborted = count(result.statuses, '418');
    t.equal(aborted + count(result.statuses, '200'), 1000, `only 418 and 200: ${JSON.stringify(result.statuses)}`);
    t.ok(aborted >= 450 && aborted <= 550, `418 for ${aborted} of 1000 (50% +-5 points)`);
  });

  await t.test('a delay fault holds every request back by at least the delay', async (t) => {
    const result = await load('client-a', 'http://delayed/', 3);
    t.same(result.statuses, { 200: 3 }, 'all 3 succeed');
    t.ok(result.minMs >= 1500, `the fastest of 3 requests took ${result.minMs} ms (fixedDelay 1500ms)`);
  });

  await t.test('a mirror gets a copy of each request and the responses are the primary ones', async (t) => {
    const before = (await served('sink')).served;
    const result = await load('client-a', 'http://mirrored/', 20);
    t.same(result.versions, { v1: 20 }, 'all 20 answered by the primary (v1)');
    let after: CountReply = { served: before, byHost: {} };
    await waitFor(async () => (after = await served('sink')).served >= before + 20, 10_000, () => `sink served ${after.served - before} mirrored copies`);
    t.equal(after.served - before, 20, 'the sink received exactly 20 copies');
    t.ok(Object.keys(after.byHost).some((host) => host.includes('-shadow')), `copies carry a -shadow host: ${JSON.stringify(after.byHost)}`);
  });

  await t.test('connection-pool overflow answers 503 with x-envoy-overloaded', async (t) => {
    const result = await load('client-a', 'http://pool/?delay=2000', 10, 10);
    t.ok(count(result.statuses, '200') >= 1, `some requests got through: ${JSON.stringify(result.statuses)}`);
    t.ok(result.overloaded >= 5, `${result.overloaded} of 10 were refused as overloaded`);
    t.equal(result.overloaded, count(result.statuses, '503'), 'every 503 is an overflow');
  });

  await t.test('an outlier pod is ejected and comes back after its ejection time', async (t) => {
    const start = (await served('outlier-bad')).served;
    const first = await load('client-a', 'http://outlier/', 20);
    const ejectedAfter = (await served('outlier-bad')).served - start;
    t.ok(ejectedAfter >= 1 && ejectedAfter <= 2, `the failing pod saw ${ejectedAfter} of 20 requests before being ejected`);
    t.ok(count(first.statuses, '200') >= 18, `the others were answered by the healthy pod: ${JSON.stringify(first.statuses)}`);
    // baseEjectionTime 4s, checked every 1s interval: the pod must be back in rotation after that.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const mid = (await served('outlier-bad')).served;
    await load('client-a', 'http://outlier/', 4);
    t.ok((await served('outlier-bad')).served > mid, 'after its ejection time the failing pod receives requests again');
  });
});
