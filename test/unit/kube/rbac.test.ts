// Every API call the control plane makes, recorded by the fake API server during a run that exercises all of it
// (informers, 410 relists, TokenReview, leader election, waypoint writes), checked against the RBAC in daemonset/:
// each call is granted, and every grant is used: nothing broader, no wildcards, no secrets.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { kubernetesControlPlane } from '../../../src/kube/control-plane-wiring';
import { waypointGateway } from '../../../src/cli/commands/waypoint';
import { applyWaypoint } from '../../../src/kube/waypoint';
import { KubeConnection } from '../../../src/kube/connection';
import { silentLogger } from '../../../src/telemetry/logger';
import { FakeKubeApiServer, type RequestRecord } from '../../fakes/kube-apiserver';
import { grants, resourceOf, serviceAccountGrants } from '../../helpers/rbac-grants';
import { until } from '../../helpers/until';

const CONTROL_PLANE_USER = 'system:serviceaccount:istio-system:ambit-controlplane';


/** Runs every part of the Kubernetes control plane against the fake and returns the requests it made. */
async function recordControlPlaneCalls(t: { teardown(fn: () => void | Promise<void>): void }): Promise<{ calls: RequestRecord[]; caller: unknown }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-rbac-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fake = await FakeKubeApiServer.start();
  t.teardown(() => fake.close());
  for (const name of ['istio-system', 'bookinfo']) fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const admin = await KubeConnection.open({ kubeconfig: fake.writeKubeconfig(dir) });
  const token = fake.issueServiceAccountToken({ namespace: 'istio-system', serviceAccount: 'ambit-controlplane', audiences: ['https://kubernetes.default.svc'] });
  const kube = await kubernetesControlPlane({ kubeconfig: fake.writeKubeconfig(dir, token), trustDomain: 'cluster.local', logger: silentLogger(), namespace: 'istio-system', identity: 'controlplane-0' });
  t.teardown(() => kube.source.stop());
  await kube.source.start();
  kube.start();
  t.teardown(() => kube.stop());
  await until('leadership', () => kube.elector.isLeader());

  // Waypoints: apply (create), status, and re-apply of existing objects (patch).
  await applyWaypoint(admin, waypointGateway({ name: 'waypoint', namespace: 'bookinfo' }));
  const programmed = () => JSON.stringify(fake.get('gateway.networking.k8s.io/v1', 'Gateway', 'bookinfo', 'waypoint')?.status ?? {}).includes('"Programmed"');
  await until('the waypoint to be programmed', programmed);
  await kube.waypoints.idle();
  await applyWaypoint(admin, waypointGateway({ name: 'waypoint', namespace: 'bookinfo', for: 'all' }));
  await until('the re-apply', () => fake.get('apps/v1', 'Deployment', 'bookinfo', 'waypoint')?.metadata.labels?.['istio.io/waypoint-for'] === 'all');

  // A ztunnel the informer cache has not seen yet: TokenReview, then the pod read from the API.
  fake.pauseWatches();
  const pod = fake.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ztunnel-a', namespace: 'istio-system' }, spec: { nodeName: 'node-a', containers: [{ name: 'z', image: 'i' }] } });
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${fake.issueServiceAccountToken({ namespace: 'istio-system', serviceAccount: 'ztunnel', audiences: ['istio-ca'], podName: 'ztunnel-a', podUid: pod.metadata.uid })}`);
  const caller = await kube.authenticate(metadata);

  // Watches that expired: every informer relists.
  fake.resumeWatches();
  fake.compact();
  fake.expireWatches();
  await until('the relists', () => fake.calls({ user: CONTROL_PLANE_USER, verb: 'list', resource: 'pods' }).length === 2);
  // Stopping releases the Lease (get, update).
  await kube.stop();
  return { calls: fake.requests.filter((call) => call.user === CONTROL_PLANE_USER), caller };
}

t.test('the control plane ClusterRole and Role grant every call it makes, and nothing it does not make', async (t) => {
  const { calls, caller } = await recordControlPlaneCalls(t);
  t.same(caller, { node: 'node-a', caller: 'istio-system/ztunnel (pod ztunnel-a)' }, 'the run authenticated a ztunnel');
  const grantList = serviceAccountGrants('10-controlplane-rbac.yaml', 'istio-system', 'ambit-controlplane');
  const resourceCalls = calls.filter((call) => !call.nonResource);
  t.ok(resourceCalls.length > 30, `recorded ${resourceCalls.length} API calls`);

  const denied: string[] = [];
  const used = new Set<string>();
  for (const call of resourceCalls) {
    for (const verb of [call.verb, ...call.alsoAuthorizes]) {
      const grant = grantList.find((candidate) => grants(candidate, call, verb));
      if (!grant) denied.push(`${verb} ${call.group || 'core'}/${resourceOf(call)}${call.namespace ? ` in ${call.namespace}` : ''}${call.name ? ` named ${call.name}` : ''}`);
      else used.add(`${grantList.indexOf(grant)}|${call.group ?? ''}|${resourceOf(call)}|${verb}`);
    }
  }
  t.same([...new Set(denied)], [], 'every call is granted');

  const unused: string[] = [];
  for (const [index, grant] of grantList.entries()) {
    for (const group of grant.rule.apiGroups ?? []) {
      for (const resource of grant.rule.resources ?? []) {
        for (const verb of grant.rule.verbs) {
          // A rule's permission is needed when some call was granted by it, or by nothing else.
          const needed = used.has(`${index}|${group}|${resource}|${verb}`) || resourceCalls.some((call) => call.group === group && resourceOf(call) === resource && [call.verb, ...call.alsoAuthorizes].includes(verb));
          if (!needed) unused.push(`${grant.from}: ${verb} ${group || 'core'}/${resource}`);
        }
      }
    }
  }
  t.same(unused, [], 'every granted verb on every resource is used');

  for (const grant of grantList) {
    const { rule } = grant;
    t.notOk([...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs].includes('*'), `${grant.from}: no wildcards`);
    t.notOk(rule.nonResourceURLs, `${grant.from}: no non-resource URLs`);
    t.notOk(rule.resources?.includes('secrets'), `${grant.from}: no secrets (the CA arrives as a mounted Secret)`);
    t.notOk(rule.verbs.some((verb) => ['escalate', 'bind', 'impersonate', 'delete', 'deletecollection'].includes(verb)), `${grant.from}: no escalation or deletion verbs`);
  }

  // Discovery (the generic client finding where a kind lives) is allowed to every authenticated user by the
  // default system:discovery ClusterRole; it must stay read-only discovery.
  const discovery = calls.filter((call) => call.nonResource);
  t.ok(discovery.every((call) => call.method === 'GET' && /^\/(api|apis)(\/[^/]+){0,2}$|^\/version$/.test(call.path)), 'non-resource calls are discovery GETs only');

  const watched = new Set(resourceCalls.filter((call) => call.verb === 'watch').map((call) => `${call.group || 'core'}/${call.resource}`));
  t.same([...watched].sort(), [
    'core/namespaces',
    'core/nodes',
    'core/pods',
    'core/services',
    'discovery.k8s.io/endpointslices',
    'gateway.networking.k8s.io/gateways',
    'gateway.networking.k8s.io/httproutes',
    'networking.istio.io/destinationrules',
    'networking.istio.io/serviceentries',
    'networking.istio.io/virtualservices',
    'security.istio.io/authorizationpolicies',
    'security.istio.io/peerauthentications',
  ], 'the run watched every kind the model reads');
});
