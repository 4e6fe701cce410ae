// The control-plane benchmark: a synthetic mesh in a local store, the real ControlPlane in a child process,
// and a fleet of delta-xDS proxies in this process; measures the first full push, single edits and memory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resourceKey, type Resource } from '../../src/api';
import { NodeTokenAuthenticator } from '../../src/controlplane/ca';
import { DirectoryStore } from '../../src/local/store/directory-store';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../src/xds';
import { summarizeCpuProfile } from '../lib/cpu-profile';
import type { Benchmark, BenchOptions } from '../lib/benchmark';
import type { BenchReport } from '../lib/report';
import { median } from '../lib/stats';
import { epochNow } from './child-protocol';
import { ControlPlaneProcess } from './control-plane-process';
import { measureEdit, uniqueMarker, type EditContext, type EditSample } from './edit-measurement';
import { buildMesh, countKinds, FULL_SIZE, QUICK_SIZE, TRUST_DOMAIN, type MeshFixture, type MeshSize } from './mesh-fixture';
import { ProxyFleet } from './proxy-fleet';
import { pushTotals } from './push-totals';
import { allFirstResponsesQueuedAt, loggedPushes } from './server-log';
import { controlPlaneReport, type ControlPlaneResults, type FirstPush, type MemoryFigures } from './results-report';

const SETTLE_MS = 300;
const EDIT_TIMEOUT_MS = 60_000;
const MAX_RECEIVE_BYTES = 256 * 1024 * 1024;

interface AuthorizationPolicyShape {
  rules?: { from?: { source?: { principals?: string[] } }[] }[];
}

function rulePrincipals(policy: Resource): string[] {
  const principals = (policy.spec as AuthorizationPolicyShape | undefined)?.rules?.[0]?.from?.[0]?.source?.principals;
  if (!principals || principals.length === 0) throw new Error(`${resourceKey(policy)} has no principal to edit`);
  return principals;
}

function resourceCounts(view: unknown): { addresses: number; authorizations: number } {
  const counts = view as Record<string, unknown>;
  const addresses = counts[ADDRESS_TYPE_URL];
  const authorizations = counts[AUTHORIZATION_TYPE_URL];
  return { addresses: typeof addresses === 'number' ? addresses : 0, authorizations: typeof authorizations === 'number' ? authorizations : 0 };
}

async function writeStore(dir: string, fixture: MeshFixture): Promise<{ store: DirectoryStore; writeMs: number }> {
  const store = DirectoryStore.open(dir);
  const started = performance.now();
  store.mutate((objects) => {
    for (const object of fixture.objects) objects.set(resourceKey(object), object);
  });
  return { store, writeMs: performance.now() - started };
}

async function nodeTokens(stateDir: string, clients: number): Promise<Map<string, string>> {
  const authenticator = new NodeTokenAuthenticator(stateDir);
  const tokens = new Map<string, string>();
  for (let i = 1; i <= clients; i++) tokens.set(`node-${i}`, await authenticator.tokenFor(`node-${i}`));
  return tokens;
}

async function firstFullPush(controlPlane: ControlPlaneProcess, fleet: ProxyFleet, expected: { addresses: number; authorizations: number }, timeoutMs: number): Promise<FirstPush> {
  const pushedBefore = await controlPlane.debug('/debug/push_stats');
  const cpuBefore = controlPlane.cpuSeconds();
  const selfCpuBefore = process.cpuUsage();
  const startedEpoch = epochNow();
  const started = performance.now();
  fleet.start();
  const wait = await fleet.waitForHolding(new Map([[ADDRESS_TYPE_URL, expected.addresses], [AUTHORIZATION_TYPE_URL, expected.authorizations]]), 'first full push', timeoutMs);
  const doneMs = wait.doneAt.map((at) => at - started);
  const controlPlaneCpuS = controlPlane.cpuSeconds() - cpuBefore;
  const selfCpu = process.cpuUsage(selfCpuBefore);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const pushedAfter = await controlPlane.debug('/debug/push_stats');
  const perType = (typeUrl: string) => {
    const before = pushTotals(pushedBefore, typeUrl);
    const after = pushTotals(pushedAfter, typeUrl);
    return { bytes: (after.bytes - before.bytes) / fleet.size, pushes: (after.pushes - before.pushes) / fleet.size };
  };
  const queuedAt = allFirstResponsesQueuedAt(loggedPushes(controlPlane.logFile), startedEpoch, [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL], fleet.size);
  const addresses = fleet.held(ADDRESS_TYPE_URL);
  const authorizations = fleet.held(AUTHORIZATION_TYPE_URL);
  return {
    allMs: Math.max(...doneMs),
    serverQueuedMs: queuedAt === undefined ? undefined : queuedAt - startedEpoch,
    firstMs: Math.min(...doneMs),
    medianMs: median(doneMs),
    addressesPerProxy: median(addresses),
    authorizationsPerProxy: median(authorizations),
    address: perType(ADDRESS_TYPE_URL),
    authorization: perType(AUTHORIZATION_TYPE_URL),
    controlPlaneCpuS,
    proxiesCpuS: (selfCpu.user + selfCpu.system) / 1e6,
  };
}

async function runEdits(context: EditContext, fixture: MeshFixture, authorizationsPushed: boolean, log: (line: string) => void): Promise<{ policy: EditSample[]; pod: EditSample[] }> {
  const policy: EditSample[] = [];
  for (const [i, key] of fixture.editablePolicies.entries()) {
    const marker = uniqueMarker('bench-edit', i);
    policy.push(
      await measureEdit(context, {
        step: `policy edit ${i + 1} (${key})`,
        typeUrl: AUTHORIZATION_TYPE_URL,
        marker: authorizationsPushed ? marker : undefined,
        edit: (objects) => {
          const object = objects.get(key) as Resource;
          const principals = rulePrincipals(object);
          principals[0] = `${TRUST_DOMAIN}/ns/${object.metadata.namespace}/sa/${marker}`;
        },
      }),
    );
  }
  log(`${policy.length} policy edits done`);
  const pod: EditSample[] = [];
  for (const [i, key] of fixture.editablePods.entries()) {
    const marker = uniqueMarker('edit', i);
    pod.push(
      await measureEdit(context, {
        step: `pod label edit ${i + 1} (${key})`,
        typeUrl: ADDRESS_TYPE_URL,
        marker,
        edit: (objects) => {
          const object = objects.get(key) as Resource;
          object.metadata.labels = { ...object.metadata.labels, version: marker };
        },
      }),
    );
  }
  log(`${pod.length} pod label edits done`);
  return { policy, pod };
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const size: MeshSize = options.quick ? QUICK_SIZE : FULL_SIZE;
  const { log } = options;
  const loadAtStart = os.loadavg()[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-bench-cp-'));
  let controlPlane: ControlPlaneProcess | undefined;
  let fleet: ProxyFleet | undefined;
  try {
    const buildStarted = performance.now();
    const fixture = buildMesh(size);
    const buildMs = performance.now() - buildStarted;
    log(`built ${fixture.objects.length} objects in ${Math.round(buildMs)} ms`);
    const { store, writeMs } = await writeStore(path.join(dir, 'store'), fixture);
    log(`wrote the store in ${Math.round(writeMs)} ms`);
    const stateDir = path.join(dir, 'cp');
    const tokens = await nodeTokens(stateDir, size.clients);

    controlPlane = await ControlPlaneProcess.start({
      storeDir: store.dir,
      stateDir,
      debugSocket: path.join(dir, 'debug.sock'),
      logFile: path.join(dir, 'controlplane.log'),
      trustDomain: TRUST_DOMAIN,
      profileDir: options.profileDir,
      startTimeoutMs: options.quick ? 60_000 : 300_000,
    });
    const expected = resourceCounts(await controlPlane.debug('/debug/resources'));
    log(`control plane ready in ${Math.round(controlPlane.ready.startMs)} ms: ${expected.addresses} addresses, ${expected.authorizations} authorizations`);
    const rssBeforeClients = controlPlane.memory().rssBytes;

    fleet = new ProxyFleet({ address: `127.0.0.1:${controlPlane.ready.port}`, rootPem: fs.readFileSync(path.join(stateDir, 'root-cert.pem'), 'utf8'), tokens, maxReceiveBytes: MAX_RECEIVE_BYTES });
    const firstPush = await firstFullPush(controlPlane, fleet, expected, options.quick ? 120_000 : 600_000);
    log(`first full push to ${fleet.size} proxies in ${Math.round(firstPush.allMs)} ms`);
    const afterPush = controlPlane.memory();
    const heapAfterPush = await controlPlane.heap(false);
    const heapAfterGc = await controlPlane.heap(true);
    const afterGc = controlPlane.memory();
    const benchRssAfterPush = process.memoryUsage().rss;

    const edits = await runEdits({ store, controlPlane, fleet, timeoutMs: EDIT_TIMEOUT_MS, settleMs: SETTLE_MS }, fixture, expected.authorizations > 0, log);
    const afterEdits = controlPlane.memory();
    const nacks = fleet.nackMessages();
    const ready = controlPlane.ready;
    fleet.close();
    fleet = undefined;
    // What the control plane keeps once every proxy is gone tells per-connection memory from the model's own.
    await new Promise((resolve) => setTimeout(resolve, 2 * SETTLE_MS));
    const heapAfterDisconnect = await controlPlane.heap(true);
    const afterDisconnect = controlPlane.memory();
    const memory: MemoryFigures = {
      rssBeforeClients,
      rssAfterFirstPush: afterPush.rssBytes,
      heapUsedAfterFirstPush: heapAfterPush.heapUsed,
      externalAfterFirstPush: heapAfterPush.external,
      rssAfterGc: afterGc.rssBytes,
      heapUsedAfterGc: heapAfterGc.heapUsed,
      externalAfterGc: heapAfterGc.external,
      rssAfterEdits: afterEdits.rssBytes,
      peakRss: afterEdits.peakRssBytes,
      rssAfterDisconnect: afterDisconnect.rssBytes,
      heapUsedAfterDisconnect: heapAfterDisconnect.heapUsed,
      externalAfterDisconnect: heapAfterDisconnect.external,
      benchRssAfterFirstPush: benchRssAfterPush,
    };
    await controlPlane.stop();
    controlPlane = undefined;

    const profileFile = options.profileDir ? path.join(options.profileDir, 'controlplane.cpuprofile') : undefined;
    const results: ControlPlaneResults = {
      size,
      kinds: countKinds(fixture.objects),
      buildMs,
      bulkWriteMs: writeMs,
      storeBytes: ready.storeBytes,
      storeReadMs: ready.storeReadMs,
      startMs: ready.startMs,
      expected,
      firstPush,
      memory,
      policyEdits: edits.policy,
      podEdits: edits.pod,
      nacks,
      cpus: os.cpus().length,
      load: [loadAtStart, os.loadavg()[0]],
      profile: profileFile && fs.existsSync(profileFile) ? summarizeCpuProfile(profileFile) : undefined,
    };
    return controlPlaneReport(results);
  } finally {
    fleet?.close();
    await controlPlane?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const controlPlaneBenchmark: Benchmark = {
  name: 'controlplane',
  description: 'store -> MeshIndex -> delta xDS to N proxies: first full push, single policy/pod edits, control-plane memory',
  run,
};
