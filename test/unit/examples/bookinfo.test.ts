// Checks the bookinfo sample without the local runtime: the manifest parses
// into the objects the README promises, and the four programs, started on
// loopback ports, render a complete product page and degrade as designed.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

const BOOKINFO_DIR = findBookinfoDir(__dirname);

function findBookinfoDir(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'examples', 'bookinfo');
    if (existsSync(path.join(candidate, 'bookinfo.yaml'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`examples/bookinfo not found above ${start}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Follows a path of keys / indexes through parsed YAML or JSON. */
function at(value: unknown, ...keys: (string | number)[]): unknown {
  let current = value;
  for (const key of keys) {
    if (typeof key === 'number') current = Array.isArray(current) ? current[key] : undefined;
    else current = isRecord(current) ? current[key] : undefined;
  }
  return current;
}

interface RunningProgram {
  port: number;
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts app/<program>.js on a free loopback port and waits for its "listening" line. */
function startProgram(
  tt: Test,
  program: string,
  env: Record<string, string>,
): Promise<RunningProgram> {
  const child = spawn(process.execPath, [`app/${program}.js`], {
    cwd: BOOKINFO_DIR,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  tt.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        child.stdout?.off('data', onData);
        child.stdout?.on('data', (more: Buffer) => { output += more.toString('utf8'); });
        resolve({ port: Number(match[1]), child, output: () => output, exited });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
    child.once('exit', (code) => reject(new Error(`${program} exited (${code}) before listening:\n${output}`)));
  });
}

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string }

function get(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** A loopback HTTP server owned by the test, closed at teardown. */
async function startStub(tt: Test, handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tt.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** A loopback port with nothing listening on it (bound once, then released). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts details, ratings, reviews (given version) and productpage, each with its own pod/node names. */
async function startBookinfo(tt: Test, reviewsVersion: string): Promise<{ productpage: RunningProgram; ratings: RunningProgram }> {
  const ratings = await startProgram(tt, 'ratings', { POD_NAME: 'ratings-v1-r1', NODE_NAME: 'node-1', SERVICE_VERSION: 'v1' });
  const details = await startProgram(tt, 'details', { POD_NAME: 'details-v1-d1', NODE_NAME: 'node-2', SERVICE_VERSION: 'v1' });
  const reviews = await startProgram(tt, 'reviews', {
    POD_NAME: `reviews-${reviewsVersion}-w1`,
    NODE_NAME: 'node-3',
    SERVICE_VERSION: reviewsVersion,
    RATINGS_URL: `http://127.0.0.1:${ratings.port}`,
  });
  const productpage = await startProgram(tt, 'productpage', {
    POD_NAME: 'productpage-v1-p1',
    NODE_NAME: 'node-1',
    SERVICE_VERSION: 'v1',
    DETAILS_URL: `http://127.0.0.1:${details.port}`,
    REVIEWS_URL: `http://127.0.0.1:${reviews.port}/`,
  });
  return { productpage, ratings };
}

const REVIEW_TEXTS = [
  'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!',
  'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.',
];

t.test('bookinfo.yaml holds the namespace, accounts, services and deployments of the sample', async (tt) => {
  const text = readFileSync(path.join(BOOKINFO_DIR, 'bookinfo.yaml'), 'utf8');
  const docs = parseAllDocuments(text);
  for (const doc of docs) tt.same(doc.errors.map((e) => e.message), [], 'document parses');
  const objects = docs.map((d) => d.toJS() as unknown);
  const names = (kind: string): string[] => objects
    .filter((o) => at(o, 'kind') === kind)
    .map((o) => String(at(o, 'metadata', 'name')));

  tt.same(names('Namespace'), ['bookinfo']);
  tt.same(at(objects.find((o) => at(o, 'kind') === 'Namespace'), 'metadata', 'labels'), undefined, 'namespace starts outside the mesh');
  tt.same(names('ServiceAccount'), ['bookinfo-productpage', 'bookinfo-details', 'bookinfo-reviews', 'bookinfo-ratings', 'curl']);
  tt.same(names('Service'), ['productpage', 'details', 'reviews', 'ratings']);
  tt.same(names('Deployment'), ['productpage-v1', 'details-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'curl']);
  for (const o of objects) {
    if (at(o, 'kind') !== 'Namespace') tt.equal(at(o, 'metadata', 'namespace'), 'bookinfo', `${String(at(o, 'metadata', 'name'))} is in bookinfo`);
  }

  const deployments = objects.filter((o) => at(o, 'kind') === 'Deployment');
  for (const svc of objects.filter((o) => at(o, 'kind') === 'Service')) {
    const name = String(at(svc, 'metadata', 'name'));
    tt.equal(at(svc, 'apiVersion'), 'v1');
    tt.equal(at(svc, 'spec', 'type'), 'ClusterIP');
    tt.same(at(svc, 'spec', 'selector'), { app: name }, `${name} selects app=${name}`);
    tt.same(at(svc, 'spec', 'ports'), [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }]);
    tt.ok(deployments.some((d) => at(d, 'spec', 'template', 'metadata', 'labels', 'app') === name), `a deployment backs ${name}`);
  }

  const accounts = new Set(names('ServiceAccount'));
  for (const d of deployments) {
    const name = String(at(d, 'metadata', 'name'));
    tt.equal(at(d, 'apiVersion'), 'apps/v1');
    tt.equal(at(d, 'spec', 'replicas'), 1);
    const matchLabels = at(d, 'spec', 'selector', 'matchLabels');
    tt.same(at(d, 'spec', 'template', 'metadata', 'labels'), matchLabels, `${name} selector matches its template`);
    const account = at(d, 'spec', 'template', 'spec', 'serviceAccountName');
    tt.ok(typeof account === 'string' && accounts.has(account), `${name} runs as a declared account (${String(account)})`);
    const containers = at(d, 'spec', 'template', 'spec', 'containers');
    tt.ok(Array.isArray(containers) && containers.length === 1, `${name} has one container`);
    const image = at(containers, 0, 'image');
    tt.ok(typeof image === 'string' && image.startsWith('docker.io/'), `${name} names a real image`);
    const command = at(containers, 0, 'command');
    if (name === 'curl') {
      tt.same(command, ['sleep', 'infinity']);
      tt.equal(account, 'curl');
      continue;
    }
    const app = String(at(matchLabels, 'app'));
    const version = String(at(matchLabels, 'version'));
    tt.equal(name, `${app}-${version}`);
    tt.equal(account, `bookinfo-${app}`);
    tt.same(command, ['node', `app/${app}.js`]);
    tt.ok(existsSync(path.join(BOOKINFO_DIR, 'app', `${app}.js`)), `app/${app}.js exists`);
    tt.same(at(containers, 0, 'env'), [{ name: 'SERVICE_VERSION', value: version }]);
    tt.same(at(containers, 0, 'ports'), [{ containerPort: 9080 }]);
  }
});

t.test('productpage with reviews v2 shows details, black-star reviews and who served each part', async (tt) => {
  const { productpage } = await startBookinfo(tt, 'v2');
  const page = await get(productpage.port, '/productpage');
  tt.equal(page.status, 200);
  tt.match(page.headers['content-type'], /text\/html/);
  for (const expected of [
    'Book Details', 'Book Reviews', 'William Shakespeare', 'PublisherA', ...REVIEW_TEXTS,
    'reviews version: v2', '★★★★★', 'ratings: 5', '★★★★☆', 'ratings: 4', 'color: black',
    'productpage-v1-p1', 'details-v1-d1', 'reviews-v2-w1', 'ratings-v1-r1', 'node-1', 'node-2', 'node-3',
  ]) {
    tt.ok(page.body.includes(expected), `page includes ${expected}`);
  }
  tt.notOk(page.body.includes('Error fetching'), 'no backend errors');

  const api = await get(productpage.port, '/api/v1/products/0');
  tt.equal(api.status, 200);
  const view = JSON.parse(api.body) as unknown;
  tt.match(view, { pod: 'productpage-v1-p1', node: 'node-1', version: 'v1', title: 'The Comedy of Errors' });
  tt.same(at(view, 'servedBy'), {
    productpage: { pod: 'productpage-v1-p1', node: 'node-1', version: 'v1' },
    details: { pod: 'details-v1-d1', node: 'node-2', version: 'v1' },
    reviews: { pod: 'reviews-v2-w1', node: 'node-3', version: 'v2' },
    ratings: { pod: 'ratings-v1-r1', node: 'node-1', version: 'v1' },
  });
  tt.same(at(view, 'reviews', 'reviews', 0, 'rating'), { stars: 5, color: 'black' });
  tt.equal(at(view, 'details', 'ISBN-10'), '1234567890');

  const health = JSON.parse((await get(productpage.port, '/health')).body) as unknown;
  tt.match(health, { pod: 'productpage-v1-p1', node: 'node-1' });
  tt.equal((await get(productpage.port, '/nope')).status, 404);
  tt.match(productpage.output(), /GET \/productpage 200 [\d.]+ms/, 'one log line per request');
});

t.test('reviews v1 shows no stars and never calls ratings; v3 shows red stars', async (tt) => {
  const v1 = await startBookinfo(tt, 'v1');
  const page = await get(v1.productpage.port, '/productpage');
  tt.ok(page.body.includes('reviews version: v1'), 'page names reviews v1');
  for (const text of REVIEW_TEXTS) tt.ok(page.body.includes(text), `page includes review: ${text.slice(0, 30)}...`);
  tt.notOk(page.body.includes('★'), 'v1 has no stars');
  tt.ok(page.body.includes('not called'), 'served-by says ratings was not called');
  tt.notMatch(v1.ratings.output(), /GET \/ratings/, 'ratings got no request');

  const v3 = await startBookinfo(tt, 'v3');
  const red = await get(v3.productpage.port, '/productpage');
  tt.ok(red.body.includes('reviews version: v3'), 'page names reviews v3');
  tt.ok(red.body.includes('color: red'), 'v3 stars are red');
  tt.ok(red.body.includes('★★★★★'), 'v3 shows five stars for Reviewer1');
  tt.ok(red.body.includes('reviews-v3-w1'), 'served-by names the v3 pod');
});

t.test('trace and end-user headers travel productpage -> reviews -> ratings', async (tt) => {
  const seen: http.IncomingHttpHeaders[] = [];
  const stubPort = await startStub(tt, (req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 0, ratings: { Reviewer1: 3, Reviewer2: 1 }, pod: 'stub-ratings', node: 'stub-node', version: 'v9' }));
  });
  const details = await startProgram(tt, 'details', {});
  const reviews = await startProgram(tt, 'reviews', { SERVICE_VERSION: 'v3', RATINGS_URL: `http://127.0.0.1:${stubPort}` });
  const productpage = await startProgram(tt, 'productpage', {
    DETAILS_URL: `http://127.0.0.1:${details.port}`,
    REVIEWS_URL: `http://127.0.0.1:${reviews.port}`,
  });
  const sent = {
    'end-user': 'jason',
    'x-request-id': 'req-42',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
    b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1',
    'user-agent': 'bookinfo-test',
    'x-not-forwarded': 'secret',
  };
  const page = await get(productpage.port, '/productpage', sent);
  tt.ok(page.body.includes('signed in as jason'), 'productpage saw end-user');
  tt.ok(page.body.includes('★★★☆☆'), 'stars come from the stub ratings');
  tt.ok(page.body.includes('stub-ratings'), 'served-by names the stub ratings pod');
  tt.equal(seen.length, 1, 'ratings called once');
  const { 'x-not-forwarded': _dropped, ...forwarded } = sent;
  tt.match(seen[0], forwarded, 'forwarded headers arrive at ratings unchanged');
  tt.equal(seen[0]?.['x-not-forwarded'], undefined, 'other headers are not forwarded');
});

t.test('a backend that is down or hangs shows as an error line, not a failed page', async (tt) => {
  const hangingPort = await startStub(tt, () => { /* never answers */ });
  const productpage = await startProgram(tt, 'productpage', {
    DETAILS_URL: `http://127.0.0.1:${await closedPort()}`,
    REVIEWS_URL: `http://127.0.0.1:${hangingPort}`,
  });
  const page = await get(productpage.port, '/productpage');
  tt.equal(page.status, 200);
  tt.ok(page.body.includes('Book Details'), 'details section still rendered');
  tt.ok(page.body.includes('Book Reviews'), 'reviews section still rendered');
  tt.match(page.body, /Error fetching product details: connect ECONNREFUSED/);
  tt.match(page.body, /Error fetching product reviews: timed out after 2500 ms/);

  const reviews = await get(productpage.port, '/api/v1/products/0/reviews');
  tt.equal(reviews.status, 503);
  tt.match(JSON.parse(reviews.body), { error: /Error fetching product reviews/ });
});

t.test('a program exits cleanly on SIGTERM even with a request in flight', async (tt) => {
  let reached: () => void = () => undefined;
  const backendReached = new Promise<void>((resolve) => { reached = resolve; });
  const hangingPort = await startStub(tt, () => reached());
  const productpage = await startProgram(tt, 'productpage', {
    DETAILS_URL: `http://127.0.0.1:${hangingPort}`,
    REVIEWS_URL: `http://127.0.0.1:${hangingPort}`,
  });
  const inFlight = get(productpage.port, '/productpage').then(() => 'answered', () => 'aborted');
  await backendReached;
  productpage.child.kill('SIGTERM');
  tt.same(await productpage.exited, { code: 0, signal: null }, 'exit code 0');
  tt.equal(await inFlight, 'aborted', 'the in-flight request is cut rather than holding shutdown');
  tt.match(productpage.output(), /SIGTERM, shutting down/);

  const ratings = await startProgram(tt, 'ratings', {});
  ratings.child.kill('SIGINT');
  tt.same(await ratings.exited, { code: 0, signal: null }, 'SIGINT also exits 0');
});
