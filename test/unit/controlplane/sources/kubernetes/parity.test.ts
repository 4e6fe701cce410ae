// The Kubernetes source and the local store source, fed the same objects, make the control plane push the same things:
// on enrolment by namespace label, pod churn, policy edits, and after a forced 410 Gone that makes the informers relist.
import t from 'tap';
import type { Resource } from '../../../../../src/api';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../../../../src/xds';
import { namespace, pod, service, TwinClusters } from './fixtures/twin-clusters';

const AMBIENT = { 'istio.io/dataplane-mode': 'ambient' };

function initialObjects(): Resource[] {
  return [
    namespace('apps'),
    namespace('istio-system'),
    service('web', 'apps', '10.96.0.20', { app: 'web' }),
    service('db', 'apps', '10.96.0.21', { app: 'db' }, 5432, 5432),
    pod('web-1', 'apps', 'node-a', '10.44.1.2', { app: 'web' }, 'web'),
    pod('web-2', 'apps', 'node-b', '10.44.2.2', { app: 'web' }, 'web'),
    pod('db-1', 'apps', 'node-b', '10.44.2.3', { app: 'db' }, 'db'),
  ];
}

function denyPolicy(name: string, principal: string): Resource {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace: 'apps' },
    spec: { selector: { matchLabels: { app: 'db' } }, action: 'DENY', rules: [{ from: [{ source: { principals: [principal] } }] }] },
  };
}

t.test('both sources start from the same catalog', async (t) => {
  const twins = await TwinClusters.start(t, initialObjects());
  const catalog = twins.kube.catalog();
  t.same(catalog, twins.local.catalog());
  t.same(Object.keys(catalog[ADDRESS_TYPE_URL]).sort(), [
    'Kubernetes//Pod/apps/db-1',
    'Kubernetes//Pod/apps/web-1',
    'Kubernetes//Pod/apps/web-2',
    'apps/db.apps.svc.cluster.local',
    'apps/web.apps.svc.cluster.local',
  ]);
});

t.test('enrolling a namespace by label pushes the same workloads from both', async (t) => {
  const twins = await TwinClusters.start(t, initialObjects());
  const pushes = await twins.change((edit) => edit.put(namespace('apps', AMBIENT)));
  t.same(pushes.kube, pushes.local);
  t.same(pushes.kube[ADDRESS_TYPE_URL], { upserts: ['Kubernetes//Pod/apps/db-1', 'Kubernetes//Pod/apps/web-1', 'Kubernetes//Pod/apps/web-2'], removals: [] });

  const off = await twins.change((edit) => edit.put(namespace('apps')));
  t.same(off.kube, off.local, 'and the same when it is unenrolled');
  t.equal(off.kube[ADDRESS_TYPE_URL].upserts.length, 3);
  t.same(twins.kube.catalog(), twins.local.catalog());
});

t.test('pod churn pushes the same deltas from both', async (t) => {
  const twins = await TwinClusters.start(t, [...initialObjects().slice(0, 1).map(() => namespace('apps', AMBIENT)), ...initialObjects().slice(1)]);
  const added = await twins.change((edit) => edit.put(pod('web-3', 'apps', 'node-a', '10.44.1.9', { app: 'web' }, 'web')));
  t.same(added.kube, added.local);
  t.same(added.kube[ADDRESS_TYPE_URL], { upserts: ['Kubernetes//Pod/apps/web-3'], removals: [] });

  const removed = await twins.change((edit) => edit.remove('Pod', 'apps', 'web-1'));
  t.same(removed.kube, removed.local);
  t.same(removed.kube[ADDRESS_TYPE_URL], { upserts: [], removals: ['Kubernetes//Pod/apps/web-1'] });

  const churn = await twins.change((edit) => {
    edit.remove('Pod', 'apps', 'web-2');
    edit.put(pod('web-4', 'apps', 'node-b', '10.44.2.7', { app: 'web' }, 'web'));
    edit.put(pod('db-1', 'apps', 'node-b', '10.44.2.3', { app: 'db', version: 'v2' }, 'db'));
  });
  t.same(churn.kube, churn.local, 'a mixed burst of adds, deletes and relabels');
  t.same(churn.kube[ADDRESS_TYPE_URL], { upserts: ['Kubernetes//Pod/apps/db-1', 'Kubernetes//Pod/apps/web-4'], removals: ['Kubernetes//Pod/apps/web-2'] });

  const moved = await twins.change((edit) => edit.put(pod('web-3', 'apps', 'node-b', '10.44.2.9', { app: 'web' }, 'web')));
  t.same(moved.kube, moved.local, 'a pod rescheduled with a new IP');
  t.same(twins.kube.catalog(), twins.local.catalog());
});

t.test('policy edits push the same authorizations from both', async (t) => {
  const twins = await TwinClusters.start(t, initialObjects());
  const created = await twins.change((edit) => edit.put(denyPolicy('deny-one', 'cluster.local/ns/apps/sa/a')));
  t.same(created.kube, created.local);
  t.same(created.kube[AUTHORIZATION_TYPE_URL], { upserts: ['apps/deny-one'], removals: [] });
  t.same(created.kube[ADDRESS_TYPE_URL], { upserts: ['Kubernetes//Pod/apps/db-1'], removals: [] }, 'the selected workload lists the policy');

  const edited = await twins.change((edit) => edit.put(denyPolicy('deny-one', 'cluster.local/ns/apps/sa/b')));
  t.same(edited.kube, edited.local);
  t.same(edited.kube, { [ADDRESS_TYPE_URL]: { upserts: [], removals: [] }, [AUTHORIZATION_TYPE_URL]: { upserts: ['apps/deny-one'], removals: [] } });

  const strict = await twins.change((edit) =>
    edit.put({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'istio-system' }, spec: { mtls: { mode: 'STRICT' } } }),
  );
  t.same(strict.kube, strict.local, 'a mesh-wide PeerAuthentication');

  const deleted = await twins.change((edit) => edit.remove('AuthorizationPolicy', 'apps', 'deny-one'));
  t.same(deleted.kube, deleted.local);
  t.same(deleted.kube[AUTHORIZATION_TYPE_URL], { upserts: [], removals: ['apps/deny-one'] });
  t.same(twins.kube.catalog(), twins.local.catalog());
});

t.test('after a forced 410 Gone the informers relist and push what they missed, the same as the local source', async (t) => {
  const twins = await TwinClusters.start(t, [...initialObjects(), denyPolicy('deny-one', 'cluster.local/ns/apps/sa/a')]);
  const podLists = twins.fake.calls({ resource: 'pods', verb: 'list' }).length;
  const policyLists = twins.fake.calls({ resource: 'authorizationpolicies', verb: 'list' }).length;
  const pushes = await twins.change(
    (edit) => {
      // The open watches miss these: delivery is paused, as for a watcher that fell behind.
      twins.fake.pauseWatches();
      edit.remove('Pod', 'apps', 'web-1');
      edit.put(pod('web-5', 'apps', 'node-a', '10.44.1.5', { app: 'web' }, 'web'));
      edit.put(namespace('apps', AMBIENT));
      edit.put(denyPolicy('deny-one', 'cluster.local/ns/apps/sa/z'));
    },
    {
      kubeOnlyAfter: () => {
        // Compaction makes every resourceVersion the informers hold too old; dropping the watches makes them resume.
        twins.fake.compact();
        twins.fake.resumeWatches();
        twins.fake.dropWatches();
      },
    },
  );
  t.same(pushes.kube, pushes.local);
  t.same(pushes.kube[ADDRESS_TYPE_URL].removals, ['Kubernetes//Pod/apps/web-1']);
  t.ok(pushes.kube[ADDRESS_TYPE_URL].upserts.includes('Kubernetes//Pod/apps/web-5'));
  t.same(pushes.kube[AUTHORIZATION_TYPE_URL], { upserts: ['apps/deny-one'], removals: [] });
  t.same(twins.kube.catalog(), twins.local.catalog());

  const podWatches = () => twins.fake.calls({ resource: 'pods', verb: 'watch' }).map((call) => Number(call.query.resourceVersion));
  while (podWatches().length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
  const [first, resumed, afterRelist] = podWatches();
  t.equal(resumed, first, 'the pod informer first tried to resume its watch where it was');
  t.ok(afterRelist > first, 'and watched from a newer resourceVersion after relisting');
  t.equal(twins.fake.calls({ resource: 'pods', verb: 'list' }).length, podLists + 1, 'the 410 made the pod informer relist once');
  t.equal(twins.fake.calls({ resource: 'authorizationpolicies', verb: 'list' }).length, policyLists + 1, 'and the policy informer');
  const counts = twins.kubeSource.informerCounts();
  t.equal(counts.Pod.expired, 1, 'the pod informer saw one 410');
});
