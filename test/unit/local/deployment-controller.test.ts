// Deployment planning (Recreate): pods per template hash, scaling, template changes, orphans, and pods nobody owns.
import t from 'tap';
import { resourceKey, type DeploymentSpec, type PodSpec, type Resource } from '../../../src/api';
import { planDeployments, SOURCE_DIR_ANNOTATION, TEMPLATE_HASH_LABEL, templateHash } from '../../../src/local/deployment-controller';
import { deployment, manifests } from './fixtures/helpers';

function storedDeployment(name: string, replicas: number, uid: string, command = 'sleep'): Resource<DeploymentSpec> {
  const resource = manifests(deployment(name, 'apps', replicas, command))[0].resource as Resource<DeploymentSpec>;
  return { ...resource, metadata: { ...resource.metadata, uid, annotations: { [SOURCE_DIR_ANNOTATION]: '/srv/app' } } };
}

function objectsOf(...objects: Resource[]): Map<string, Resource> {
  return new Map(objects.map((object) => [resourceKey(object), object]));
}

function suffixes(...values: string[]): () => string {
  const queue = [...values];
  return () => {
    const next = queue.shift();
    if (next === undefined) throw new Error('planDeployments asked for more pod names than the test expected');
    return next;
  };
}

/** Applies a plan the way the runtime does, so a test can plan again from the result. */
function applyPlan(objects: Map<string, Resource>, plan: ReturnType<typeof planDeployments>): Map<string, Resource> {
  const next = new Map(objects);
  for (const key of plan.deleteKeys) next.delete(key);
  for (const pod of plan.create) next.set(resourceKey(pod), pod);
  return next;
}

t.test('a new Deployment gets `replicas` pods of its template', async (t) => {
  const web = storedDeployment('web', 2, 'uid-web');
  const hash = templateHash(web.spec as DeploymentSpec);
  t.match(hash, /^[0-9a-f]{10}$/);
  const plan = planDeployments(objectsOf(web), suffixes('aaaaa', 'bbbbb'));
  t.same(plan.deleteKeys, []);
  t.same(plan.create.map((pod) => pod.metadata.name), [`web-${hash}-aaaaa`, `web-${hash}-bbbbb`]);
  const pod = plan.create[0];
  t.same(pod, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `web-${hash}-aaaaa`,
      namespace: 'apps',
      labels: { app: 'web', [TEMPLATE_HASH_LABEL]: hash },
      annotations: { [SOURCE_DIR_ANNOTATION]: '/srv/app' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true }],
    },
    spec: (web.spec as DeploymentSpec).template.spec,
  });
  t.not(pod.spec, (web.spec as DeploymentSpec).template.spec, 'the pod spec is a copy, not the template itself');
  t.equal(TEMPLATE_HASH_LABEL, 'pod-template-hash');
  t.equal(SOURCE_DIR_ANNOTATION, 'local.ambit.io/source-dir');
});

t.test('the default suffix is five characters of the Kubernetes alphabet', async (t) => {
  const plan = planDeployments(objectsOf(storedDeployment('web', 3, 'uid-web')));
  for (const pod of plan.create) t.match(pod.metadata.name, /^web-[0-9a-f]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
});

t.test('template annotations are kept and win over the copied source dir', async (t) => {
  const web = storedDeployment('web', 1, 'uid-web');
  const spec = web.spec as DeploymentSpec;
  spec.template.metadata = { ...spec.template.metadata, annotations: { [SOURCE_DIR_ANNOTATION]: '/elsewhere', note: 'x' } };
  const [pod] = planDeployments(objectsOf(web), suffixes('aaaaa')).create;
  t.same(pod.metadata.annotations, { [SOURCE_DIR_ANNOTATION]: '/elsewhere', note: 'x' });
  const bare = storedDeployment('bare', 1, 'uid-bare');
  delete bare.metadata.annotations;
  t.same(planDeployments(objectsOf(bare), suffixes('bbbbb')).create[0].metadata.annotations, {}, 'no source dir: nothing copied');
});

t.test('a steady state plans nothing', async (t) => {
  const web = storedDeployment('web', 2, 'uid-web');
  const objects = applyPlan(objectsOf(web), planDeployments(objectsOf(web), suffixes('aaaaa', 'bbbbb')));
  t.same(planDeployments(objects, suffixes()), { create: [], deleteKeys: [] });
});

t.test('scaling up creates the missing pods, scaling down deletes the extras', async (t) => {
  const hash = templateHash(storedDeployment('web', 1, 'uid-web').spec as DeploymentSpec);
  let objects = objectsOf(storedDeployment('web', 3, 'uid-web'));
  objects = applyPlan(objects, planDeployments(objects, suffixes('ccccc', 'aaaaa', 'bbbbb')));
  t.equal([...objects.values()].filter((o) => o.kind === 'Pod').length, 3);

  objects.set('Deployment/apps/web', storedDeployment('web', 1, 'uid-web'));
  const down = planDeployments(objects, suffixes());
  t.same(down.create, []);
  t.same(down.deleteKeys, [`Pod/apps/web-${hash}-bbbbb`, `Pod/apps/web-${hash}-ccccc`], 'the first pods by name are kept');

  objects = applyPlan(objects, down);
  objects.set('Deployment/apps/web', storedDeployment('web', 2, 'uid-web'));
  const up = planDeployments(objects, suffixes('ddddd'));
  t.same(up.deleteKeys, []);
  t.same(up.create.map((pod) => pod.metadata.name), [`web-${hash}-ddddd`]);

  objects.set('Deployment/apps/web', storedDeployment('web', 0, 'uid-web'));
  t.same([...planDeployments(applyPlan(objects, up), suffixes()).deleteKeys].sort(), [`Pod/apps/web-${hash}-aaaaa`, `Pod/apps/web-${hash}-ddddd`], 'zero replicas deletes all');
});

t.test('a template change deletes pods of the old hash and creates pods of the new one', async (t) => {
  const v1 = storedDeployment('web', 2, 'uid-web', 'sleep');
  const v2 = storedDeployment('web', 2, 'uid-web', 'yes');
  const oldHash = templateHash(v1.spec as DeploymentSpec);
  const newHash = templateHash(v2.spec as DeploymentSpec);
  t.not(oldHash, newHash);
  let objects = objectsOf(v1);
  objects = applyPlan(objects, planDeployments(objects, suffixes('aaaaa', 'bbbbb')));
  objects.set('Deployment/apps/web', v2);
  const plan = planDeployments(objects, suffixes('ccccc', 'ddddd'));
  t.same(plan.deleteKeys, [`Pod/apps/web-${oldHash}-aaaaa`, `Pod/apps/web-${oldHash}-bbbbb`]);
  t.same(plan.create.map((pod) => pod.metadata.name), [`web-${newHash}-ccccc`, `web-${newHash}-ddddd`]);
  t.same((plan.create[0].spec as PodSpec).containers[0].command, ['yes', 'infinity']);
});

t.test('pods whose owning Deployment is gone are deleted; other pods are left alone', async (t) => {
  const web = storedDeployment('web', 1, 'uid-web');
  const hash = templateHash(web.spec as DeploymentSpec);
  const ownedBy = (name: string, kind: string, uid: string, controller: boolean): Resource => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'apps', labels: { app: 'web', [TEMPLATE_HASH_LABEL]: hash }, ownerReferences: [{ apiVersion: 'apps/v1', kind, name: 'x', uid, controller }] },
    spec: { containers: [{ name: 'c', command: ['sleep', 'infinity'] }] },
  });
  const standalone: Resource = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'standalone', namespace: 'apps', labels: { app: 'web' } }, spec: { containers: [] } };
  const objects = objectsOf(
    web,
    ownedBy(`web-${hash}-aaaaa`, 'Deployment', 'uid-web', true),
    ownedBy('orphan', 'Deployment', 'uid-deleted', true),
    ownedBy('other-controller', 'ReplicaSet', 'uid-rs', true),
    ownedBy('not-controller', 'Deployment', 'uid-deleted', false),
    standalone,
  );
  const plan = planDeployments(objects, suffixes());
  t.same(plan, { create: [], deleteKeys: ['Pod/apps/orphan'] }, 'the owned pod counts, the orphan goes, the rest are untouched');
});

t.test('a Deployment not yet stored with a uid is not planned for', async (t) => {
  const web = storedDeployment('web', 2, 'uid-web');
  delete web.metadata.uid;
  t.same(planDeployments(objectsOf(web), suffixes()), { create: [], deleteKeys: [] });
});

t.test('templateHash ignores the order keys were written in', async (t) => {
  const a = manifests(deployment('web', 'apps'))[0].resource;
  const b = manifests(`apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: apps}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    spec:\n      containers: [{command: [sleep, infinity], name: main}]\n    metadata: {labels: {app: web}}\n`)[0].resource;
  t.equal(templateHash(a.spec as DeploymentSpec), templateHash(b.spec as DeploymentSpec));
});

t.test('templateHash is stable and depends only on the template', async (t) => {
  const a = storedDeployment('web', 1, 'u1').spec as DeploymentSpec;
  const b = storedDeployment('web', 5, 'u2').spec as DeploymentSpec;
  t.equal(templateHash(a), templateHash(structuredClone(a)), 'same template, same hash');
  t.equal(templateHash(a), templateHash(b), 'replicas are not part of it');
  t.equal(templateHash(a), templateHash(JSON.parse(JSON.stringify(a)) as DeploymentSpec), 'survives the store\'s JSON round trip');
  const relabeled = structuredClone(a);
  relabeled.template.metadata = { labels: { app: 'web', track: 'canary' } };
  t.not(templateHash(relabeled), templateHash(a), 'template labels are part of it');
});
