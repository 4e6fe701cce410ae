// Leader election on a Lease in the fake API server: one leader among replicas, a clean hand-over on stop, and a leader
// that cannot renew steps down before anyone else may take over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { LeaseElector } from '../../../../src/controlplane/leader';
import { KubeConnection } from '../../../../src/kube/connection';
import { silentLogger } from '../../../../src/telemetry/logger';
import { FakeKubeApiServer } from '../../../fakes/kube-apiserver';
import { until } from '../../../helpers/until';

const TIMING = { leaseDurationMs: 900, renewDeadlineMs: 400, retryPeriodMs: 60 };


async function replicas(t: { teardown(fn: () => void | Promise<void>): void }, count: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-lease-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fake = await FakeKubeApiServer.start();
  t.teardown(() => fake.close());
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
  const electors: LeaseElector[] = [];
  const history: string[] = [];
  let overlap = false;
  for (let i = 1; i <= count; i++) {
    // Each replica gets its own user so faults can be aimed at one of them.
    fake.addUser(`replica-${i}-token`, { username: `replica-${i}` });
    const connection = await KubeConnection.open({ kubeconfig: fake.writeKubeconfig(dir, `replica-${i}-token`) });
    const elector = new LeaseElector({ connection, namespace: 'istio-system', name: 'ambit-controlplane', identity: `replica-${i}`, logger: silentLogger(), ...TIMING });
    elector.onLeadershipChange((leading) => {
      history.push(`replica-${i} ${leading ? 'leads' : 'follows'}`);
      if (electors.filter((candidate) => candidate.isLeader()).length > 1) overlap = true;
    });
    electors.push(elector);
  }
  t.teardown(() => Promise.all(electors.map((elector) => elector.stop())).then(() => undefined));
  const lease = () => fake.get('coordination.k8s.io/v1', 'Lease', 'istio-system', 'ambit-controlplane') as { spec?: { holderIdentity?: string; leaseTransitions?: number; renewTime?: string } } | undefined;
  return { fake, electors, history, lease, overlapped: () => overlap, leaders: () => electors.filter((elector) => elector.isLeader()) };
}

t.test('among three replicas exactly one leads, and the Lease names it', async (t) => {
  const r = await replicas(t, 3);
  r.electors.forEach((elector) => elector.start());
  await until('a leader', () => r.leaders().length === 1);
  const leader = r.electors.indexOf(r.leaders()[0]) + 1;
  t.equal(r.lease()?.spec?.holderIdentity, `replica-${leader}`);
  t.equal(r.lease()?.spec?.leaseTransitions, 0, 'created by the first to ask');
  t.match(r.lease()?.spec?.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'renewTime is a MicroTime');
  const renewedAt = r.lease()?.spec?.renewTime;
  await until('a renewal', () => r.lease()?.spec?.renewTime !== renewedAt);
  t.equal(r.leaders().length, 1, 'still one leader after renewals');
  t.equal(r.fake.calls({ resource: 'leases', verb: 'create' }).filter((call) => call.status === 201).length, 1, 'one create won');
  const verbs = new Set(r.fake.calls({ resource: 'leases' }).map((call) => call.verb));
  t.same([...verbs].sort(), ['create', 'get', 'update'], 'only get, create and update on leases');
  t.notOk(r.overlapped());
});

t.test('a leader that stops releases the Lease and another replica takes over', async (t) => {
  const r = await replicas(t, 2);
  r.electors.forEach((elector) => elector.start());
  await until('a leader', () => r.leaders().length === 1);
  const first = r.leaders()[0];
  const other = r.electors.find((elector) => elector !== first) as LeaseElector;
  await first.stop();
  t.notOk(first.isLeader());
  await until('the other replica to lead', () => other.isLeader());
  t.equal(r.lease()?.spec?.holderIdentity, `replica-${r.electors.indexOf(other) + 1}`);
  t.equal(r.lease()?.spec?.leaseTransitions, 1);
  t.notOk(r.overlapped(), 'never two leaders');
});

t.test('a leader that cannot renew steps down, and only then does another take over', async (t) => {
  const r = await replicas(t, 2);
  r.electors[0].start();
  await until('replica-1 to lead', () => r.electors[0].isLeader());
  r.electors[1].start();
  r.fake.inject({ user: 'replica-1', resource: 'leases' }, 500, 1_000_000);
  await until('replica-2 to lead', () => r.electors[1].isLeader());
  t.notOk(r.electors[0].isLeader(), 'replica-1 gave up');
  t.same(r.history, ['replica-1 leads', 'replica-1 follows', 'replica-2 leads'], 'stepped down before the other took over');
  t.notOk(r.overlapped(), 'never two leaders');
  t.equal(r.lease()?.spec?.holderIdentity, 'replica-2');
});
