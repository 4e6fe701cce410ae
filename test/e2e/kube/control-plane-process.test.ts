// The control-plane process as daemonset/ runs it on Kubernetes, started with the manifest's own args against the fake API
// server (real client library, real HTTP): it syncs informers, leads through the Lease, deploys a waypoint, serves delta
// xDS and certificates to callers proven by TokenReview, calls only what its RBAC grants, and hands the Lease back on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { KubeConnection } from '../../../src/kube/connection';
import { installManifests } from '../../../src/kube/install';
import { requestCertificate, spiffeIdFor } from '../../../src/pki';
import { silentLogger } from '../../../src/telemetry/logger';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, decodeAddress, decodeAuthorization, DeltaXdsClient, xdsType } from '../../../src/xds';
import { FakeKubeApiServer, type KubeObject } from '../../fakes/kube-apiserver';
import { grants, resourceOf, serviceAccountGrants } from '../../helpers/rbac-grants';
import { REPO_ROOT } from '../../helpers/repo';
import { until as untilWithin } from '../../helpers/until';

const IMAGE = 'registry.example/ambit:e2e';
/** A process start-up is slower than an in-process change: 20 s bounds, polled every 50 ms. */
const until = (what: string, check: () => boolean | Promise<boolean>): Promise<void> => untilWithin(what, check, 20_000, 50);
const CONTROL_PLANE_USER = 'system:serviceaccount:istio-system:ambit-controlplane';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function getJson(port: number, urlPath: string): Promise<unknown> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, timeout: 2000 }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body));
          } catch {
            resolve(undefined);
          }
        });
      })
      .on('error', () => resolve(undefined))
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy();
      });
  });
}


function pod(namespace: string, name: string, node: string, serviceAccount: string, ip: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { nodeName: node, serviceAccountName: serviceAccount, containers: [{ name: 'main', image: 'example/app:1' }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/** The manifest's container args, with the in-cluster addresses and mount paths swapped for this test's. */
function argsFromManifest(deployment: KubeObject, overrides: Record<string, string>): string[] {
  const container = (deployment.spec as { template: { spec: { containers: { command: string[]; args: string[] }[] } } }).template.spec.containers[0];
  const args = container.args.map((arg) => {
    const name = /^--([^=]+)=/.exec(arg)?.[1];
    return name !== undefined && name in overrides ? `--${name}=${overrides[name]}` : arg;
  });
  for (const [name, value] of Object.entries(overrides)) if (!args.some((arg) => arg.startsWith(`--${name}=`))) args.push(`--${name}=${value}`);
  return [container.command[1].replace(/^\/app\//, `${REPO_ROOT}/`), ...args];
}

t.test('the control-plane process on Kubernetes, started as the manifest starts it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-cp-process-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fake = await FakeKubeApiServer.start();
  t.teardown(() => fake.close());
  const admin = await KubeConnection.open({ kubeconfig: fake.writeKubeconfig(dir) });
  await installManifests(admin, { image: IMAGE });

  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bookinfo', labels: { 'istio.io/dataplane-mode': 'ambient' } } });
  const ztunnelA = fake.seed(pod('istio-system', 'ztunnel-a', 'node-a', 'ztunnel', '10.0.0.11', { app: 'ztunnel' }));
  fake.seed(pod('bookinfo', 'reviews-1', 'node-a', 'reviews', '10.44.1.2', { app: 'reviews' }));
  fake.seed(pod('bookinfo', 'ratings-1', 'node-b', 'ratings', '10.44.2.2', { app: 'ratings' }));
  fake.seed({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'bookinfo' }, spec: { clusterIP: '10.96.0.30', selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] } });
  fake.seed({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'waypoint', namespace: 'bookinfo' },
    spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  });

  // What kubelet would mount: the cacerts Secret's keys as files, and a token for the pod's service account.
  const cacerts = path.join(dir, 'cacerts');
  fs.mkdirSync(cacerts);
  const secret = fake.get('v1', 'Secret', 'istio-system', 'cacerts');
  for (const [key, value] of Object.entries((secret?.data ?? {}) as Record<string, string>)) fs.writeFileSync(path.join(cacerts, key), Buffer.from(value, 'base64'));
  const mounted = fs.readdirSync(cacerts).sort();
  t.ok(mounted.includes('root-cert.pem'), `cacerts holds ${mounted.join(', ')}`);
  const controlPlaneToken = fake.issueServiceAccountToken({ namespace: 'istio-system', serviceAccount: 'ambit-controlplane', audiences: ['https://kubernetes.default.svc'] });
  const [grpcPort, debugPort] = [await freePort(), await freePort()];
  const deployment = fake.get('apps/v1', 'Deployment', 'istio-system', 'ambit-controlplane');
  t.ok(deployment, 'ambit install made the control-plane Deployment');
  const args = argsFromManifest(deployment as KubeObject, {
    'state-dir': cacerts,
    listen: `127.0.0.1:${grpcPort}`,
    'debug-port': String(debugPort),
    kubeconfig: fake.writeKubeconfig(dir, controlPlaneToken, 'istio-system'),
  });
  const env: NodeJS.ProcessEnv = { ...process.env, POD_NAME: 'ambit-controlplane-7d9f-x1', POD_NAMESPACE: 'istio-system', POD_IP: '127.0.0.1', AMBIT_IMAGE: IMAGE, LOG_LEVEL: 'warn' };
  delete env.NODE_OPTIONS;
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  await until('the control plane to be ready', async () => ((await getJson(debugPort, '/ready')) as { ready?: boolean } | undefined)?.ready === true).catch((error: Error) => {
    throw new Error(`${error.message}; its output:\n${output}`);
  });

  t.test('it leads through the Lease and deploys the waypoint from the templates', async (t) => {
    await until('the Lease', () => String((fake.get('coordination.k8s.io/v1', 'Lease', 'istio-system', 'ambit-controlplane')?.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? '').startsWith('ambit-controlplane-7d9f-x1_'));
    await until('the waypoint Deployment', () => fake.get('apps/v1', 'Deployment', 'bookinfo', 'waypoint') !== undefined);
    const waypoint = fake.get('apps/v1', 'Deployment', 'bookinfo', 'waypoint') as KubeObject;
    t.match(waypoint.metadata.ownerReferences, [{ kind: 'Gateway', name: 'waypoint', controller: true }]);
    t.match(JSON.stringify(waypoint.spec), `"image":"${IMAGE}"`, 'waypoints run the image the install chose');
    t.ok(fake.get('v1', 'Service', 'bookinfo', 'waypoint'), 'and its Service');
    await until('the Gateway status', () => JSON.stringify(fake.get('gateway.networking.k8s.io/v1', 'Gateway', 'bookinfo', 'waypoint')?.status ?? {}).includes('"Programmed"'));
  });

  const rootPems = [fs.readFileSync(path.join(cacerts, 'root-cert.pem'), 'utf8')];
  const ztunnelToken = fake.issueServiceAccountToken({ namespace: 'istio-system', serviceAccount: 'ztunnel', audiences: ['istio-ca'], podName: 'ztunnel-a', podUid: ztunnelA.metadata.uid });

  t.test('a ztunnel proven by TokenReview gets the mesh over delta xDS, and edits as deltas', async (t) => {
    const addresses = new Set<string>();
    const authorizations = new Set<string>();
    const client = new DeltaXdsClient({
      address: `127.0.0.1:${grpcPort}`,
      credentials: grpc.credentials.createSsl(Buffer.from(rootPems[0])),
      channelOptions: { 'grpc.ssl_target_name_override': 'ambit-controlplane', 'grpc.default_authority': 'ambit-controlplane' },
      node: { id: 'ztunnel~10.0.0.11~ztunnel-a.istio-system~istio-system.svc.cluster.local' },
      metadataForCall: () => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${ztunnelToken}`);
        return metadata;
      },
      types: [
        xdsType({ typeUrl: ADDRESS_TYPE_URL, decode: decodeAddress, apply: (update) => { for (const name of update.upserts.keys()) addresses.add(name); for (const name of update.removals) addresses.delete(name); } }),
        xdsType({ typeUrl: AUTHORIZATION_TYPE_URL, decode: decodeAuthorization, apply: (update) => { for (const name of update.upserts.keys()) authorizations.add(name); for (const name of update.removals) authorizations.delete(name); } }),
      ],
      backoff: { initialMs: 50, maxMs: 500 },
      logger: silentLogger(),
    });
    t.teardown(() => client.close());
    client.start();
    await client.synced(ADDRESS_TYPE_URL);
    t.ok(['Kubernetes//Pod/bookinfo/reviews-1', 'Kubernetes//Pod/bookinfo/ratings-1', 'bookinfo/reviews.bookinfo.svc.cluster.local'].every((name) => addresses.has(name)), 'workloads and the service');
    fake.seed({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'deny-ratings', namespace: 'bookinfo' },
      spec: { selector: { matchLabels: { app: 'reviews' } }, action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/bookinfo/sa/ratings'] } }] }] },
    });
    await until('the policy to arrive', () => authorizations.has('bookinfo/deny-ratings'));
    fake.unseed('v1', 'Pod', 'bookinfo', 'ratings-1');
    await until('the pod removal to arrive', () => !addresses.has('Kubernetes//Pod/bookinfo/ratings-1'));
    t.pass('policy and pod edits arrived as deltas');
  });

  t.test('certificates: the ztunnel for its node\'s pods only; a waypoint for itself only', async (t) => {
    const address = `127.0.0.1:${grpcPort}`;
    const reviews = spiffeIdFor('cluster.local', 'bookinfo', 'reviews');
    const ratings = spiffeIdFor('cluster.local', 'bookinfo', 'ratings');
    const issued = await requestCertificate({ address, rootPems, token: ztunnelToken, identity: reviews });
    t.equal(issued.certChainPems.length >= 1, true, 'reviews runs on node-a');
    fake.seed(pod('bookinfo', 'ratings-2', 'node-b', 'ratings', '10.44.2.3', { app: 'ratings' }));
    const refusedCode = (identity: typeof ratings, token: string) =>
      requestCertificate({ address, rootPems, token, identity }).then(
        () => 'issued',
        (error: { grpcCode?: number }) => error.grpcCode,
      );
    t.equal(await refusedCode(ratings, ztunnelToken), grpc.status.PERMISSION_DENIED, 'ratings runs on node-b only');

    const waypointPod = fake.seed(pod('bookinfo', 'waypoint-5c7d-q2', 'node-b', 'waypoint', '10.44.2.9'));
    const waypointToken = fake.issueServiceAccountToken({ namespace: 'bookinfo', serviceAccount: 'waypoint', audiences: ['istio-ca'], podName: 'waypoint-5c7d-q2', podUid: waypointPod.metadata.uid });
    const own = await requestCertificate({ address, rootPems, token: waypointToken, identity: spiffeIdFor('cluster.local', 'bookinfo', 'waypoint') });
    t.ok(own.certChainPems.length >= 1, 'the waypoint gets its own identity');
    t.equal(await refusedCode(ratings, waypointToken), grpc.status.PERMISSION_DENIED, 'and nothing else');
  });

  t.test('SIGTERM: a clean exit that hands the Lease back', async (t) => {
    child.kill('SIGTERM');
    t.equal(await exited, 0, 'exit code 0');
    const lease = fake.get('coordination.k8s.io/v1', 'Lease', 'istio-system', 'ambit-controlplane');
    t.notOk(String((lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? '').startsWith('ambit-controlplane-7d9f-x1_'), 'the Lease is released for the next replica');
    t.same(fs.readdirSync(cacerts).sort(), mounted, 'nothing was written into the mounted Secret');
  });

  t.test('every API call the process made is granted by daemonset/ RBAC', async (t) => {
    const grantList = serviceAccountGrants('10-controlplane-rbac.yaml', 'istio-system', 'ambit-controlplane');
    const calls = fake.requests.filter((call) => call.user === CONTROL_PLANE_USER && !call.nonResource);
    t.ok(calls.length > 20, `the process made ${calls.length} API calls`);
    const denied = new Set<string>();
    for (const call of calls) {
      for (const verb of [call.verb, ...call.alsoAuthorizes]) {
        if (!grantList.some((grant) => grants(grant, call, verb))) denied.add(`${verb} ${call.group || 'core'}/${resourceOf(call)}${call.namespace ? ` in ${call.namespace}` : ''}`);
      }
    }
    t.same([...denied], [], 'no call outside the ClusterRole/Role');
  });
});
