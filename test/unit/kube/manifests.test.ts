// The install manifests (daemonset/), the waypoint templates (waypoint/), the CNI conflist and the Dockerfile: each parses,
// names one image, and passes a structural check of what Kubernetes and ambit's processes need from it.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import type { Resource } from '../../../src/api';
import { manifest } from '../../../src/cli/commands/manifest';
import { containersOf, defaultImage, imagesOf, IMAGE_REPOSITORY, renderManifests } from '../../../src/kube/manifests';
import { WaypointTemplates } from '../../../src/kube/waypoint';
import { REPO_ROOT } from '../../helpers/repo';
import { runCli } from '../../helpers/cli-output';

interface Probe {
  httpGet?: { path: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string; mountPropagation?: string }[];
  securityContext?: { capabilities?: { add?: string[]; drop?: string[] }; privileged?: boolean; runAsUser?: number; allowPrivilegeEscalation?: boolean };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}

interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  containers: Container[];
  initContainers?: Container[];
  volumes?: ({ name: string } & Record<string, unknown>)[];
}

interface Workload {
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

const objects = renderManifests().map(({ object }) => object);
const find = (kind: string, name: string) => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in daemonset/`);
  return found;
};
const workload = (kind: string, name: string) => find(kind, name).spec as Workload;
const container = (kind: string, name: string, containerName: string, init = false) => {
  const pod = workload(kind, name).template.spec;
  const found = (init ? pod.initContainers ?? [] : pod.containers).find((candidate) => candidate.name === containerName);
  if (!found) throw new Error(`no container ${containerName} in ${kind} ${name}`);
  return found;
};
const argValue = (c: Container, flag: string) => c.args?.find((arg) => arg.startsWith(`--${flag}=`))?.slice(flag.length + 3);
const envValue = (c: Container, name: string) => c.env?.find((variable) => variable.name === name)?.value;

/** Checks every workload for what the API server and kubelet would reject or silently ignore. */
function structuralProblems(object: Resource, all: readonly Resource[]): string[] {
  const problems: string[] = [];
  const where = `${object.kind} ${object.metadata.name}`;
  if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(object.kind) && object.metadata.namespace !== 'istio-system') problems.push(`${where}: not in istio-system`);
  if (object.kind === 'Deployment' || object.kind === 'DaemonSet') {
    const spec = object.spec as Workload;
    const pod = spec.template.spec;
    for (const [key, value] of Object.entries(spec.selector.matchLabels)) if (spec.template.metadata.labels[key] !== value) problems.push(`${where}: selector ${key}=${value} does not match the pod labels`);
    if (pod.serviceAccountName && !all.some((other) => other.kind === 'ServiceAccount' && other.metadata.name === pod.serviceAccountName)) problems.push(`${where}: no ServiceAccount ${pod.serviceAccountName}`);
    const volumes = new Set((pod.volumes ?? []).map((volume) => volume.name));
    const mounted = new Set<string>();
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      if (!c.name || !c.image || !c.command?.length) problems.push(`${where}: container ${c.name} needs a name, an image and a command`);
      for (const mount of c.volumeMounts ?? []) {
        mounted.add(mount.name);
        if (!volumes.has(mount.name)) problems.push(`${where}/${c.name}: mounts undeclared volume ${mount.name}`);
        if (!mount.mountPath.startsWith('/')) problems.push(`${where}/${c.name}: mountPath ${mount.mountPath} is not absolute`);
      }
      const ports = new Map((c.ports ?? []).map((port) => [port.name, port.containerPort]));
      for (const port of c.ports ?? []) if (port.name && port.name.length > 15) problems.push(`${where}/${c.name}: port name ${port.name} longer than 15 characters`);
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
        if (port !== undefined && !(typeof port === 'number' ? [...ports.values()].includes(port) : ports.has(port))) problems.push(`${where}/${c.name}: probe on undeclared port ${port}`);
      }
      const caps = c.securityContext?.capabilities;
      if (c.securityContext?.privileged) problems.push(`${where}/${c.name}: privileged; name the capabilities instead`);
      if (!caps?.drop?.includes('ALL')) problems.push(`${where}/${c.name}: must drop ALL capabilities and add back only what it needs`);
      for (const variable of c.env ?? []) if (variable.value === undefined && variable.valueFrom === undefined) problems.push(`${where}/${c.name}: env ${variable.name} has no value`);
      // $(VAR) in args is expanded by the kubelet only for variables the container declares.
      for (const arg of [...(c.args ?? []), ...(c.command ?? [])]) {
        for (const [, name] of arg.matchAll(/\$\((\w+)\)/g)) if (!c.env?.some((variable) => variable.name === name)) problems.push(`${where}/${c.name}: ${arg} refers to undeclared env ${name}`);
      }
    }
    for (const volume of volumes) if (!mounted.has(volume)) problems.push(`${where}: volume ${volume} is never mounted`);
  }
  if (object.kind === 'Service') {
    const spec = object.spec as { selector: Record<string, string>; ports: { name: string; port: number; targetPort: number }[] };
    const backends = all.filter((other) => (other.kind === 'Deployment' || other.kind === 'DaemonSet') && Object.entries(spec.selector).every(([key, value]) => (other.spec as Workload).template.metadata.labels[key] === value));
    if (backends.length !== 1) problems.push(`${where}: selector matches ${backends.length} workloads`);
    for (const port of spec.ports) {
      const served = backends.some((backend) => (backend.spec as Workload).template.spec.containers.some((c) => c.ports?.some((p) => p.containerPort === port.targetPort)));
      if (!served) problems.push(`${where}: port ${port.name} targets ${port.targetPort}, which no container declares`);
    }
  }
  if (object.kind === 'ClusterRoleBinding' || object.kind === 'RoleBinding') {
    const binding = object as unknown as { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] };
    if (!all.some((other) => other.kind === binding.roleRef.kind && other.metadata.name === binding.roleRef.name)) problems.push(`${where}: refers to missing ${binding.roleRef.kind} ${binding.roleRef.name}`);
    for (const subject of binding.subjects) if (!all.some((other) => other.kind === 'ServiceAccount' && other.metadata.name === subject.name && other.metadata.namespace === subject.namespace)) problems.push(`${where}: binds missing ServiceAccount ${subject.namespace}/${subject.name}`);
  }
  return problems;
}

t.test('every manifest file parses into Kubernetes objects, in apply order', async (t) => {
  const dir = path.join(REPO_ROOT, 'daemonset');
  for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.yaml'))) {
    const documents = YAML.parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8'));
    t.same(documents.flatMap((document) => document.errors.map((error) => error.message)), [], `${file} parses`);
  }
  t.same(
    objects.map((object) => `${object.kind}/${object.metadata.name}`),
    [
      'Namespace/istio-system',
      'ServiceAccount/ambit-controlplane',
      'ClusterRole/ambit-controlplane',
      'ClusterRoleBinding/ambit-controlplane',
      'Role/ambit-controlplane',
      'RoleBinding/ambit-controlplane',
      'Deployment/ambit-controlplane',
      'Service/ambit-controlplane',
      'ServiceAccount/ztunnel',
      'DaemonSet/ztunnel',
      'ServiceAccount/ambit-cni',
      'ClusterRole/ambit-cni',
      'ClusterRoleBinding/ambit-cni',
      'DaemonSet/ambit-cni',
    ],
  );
  t.notOk(objects.some((object) => object.kind === 'CustomResourceDefinition'), 'CRDs are Istio\'s and the Gateway API\'s own (docs/kubernetes.md)');
});

t.test('every manifest passes the structural check', async (t) => {
  for (const object of objects) t.same(structuralProblems(object, objects), [], `${object.kind} ${object.metadata.name}`);
});

t.test('one image everywhere, and --image replaces it everywhere', async (t) => {
  t.equal(defaultImage(), `${IMAGE_REPOSITORY}:${JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version}`);
  const images = new Set(objects.flatMap(imagesOf));
  t.same([...images], [defaultImage()], 'the files name the default image and nothing else');
  t.equal(objects.flatMap(imagesOf).length, 5, 'three containers, one init container and the control plane\'s AMBIT_IMAGE');
  const custom = renderManifests({ image: 'registry.example.com:5000/mesh/ambit:dev-1' }).map(({ object }) => object);
  t.same([...new Set(custom.flatMap(imagesOf))], ['registry.example.com:5000/mesh/ambit:dev-1']);
  t.throws(() => renderManifests({ image: 'not an image' }), { code: 'INVALID_IMAGE' });
});

t.test('`ambit manifest generate` prints parseable YAML with the chosen image', async (t) => {
  const { code, stdout } = await runCli(manifest, ['generate', '--image', 'ghcr.io/ambit-mesh/ambit:test']);
  t.equal(code, 0);
  const documents = YAML.parseAllDocuments(stdout);
  t.same(documents.flatMap((document) => document.errors), []);
  const parsed = documents.map((document) => document.toJS() as Resource).filter((object) => object !== null);
  t.equal(parsed.length, objects.length);
  t.same([...new Set(parsed.flatMap(imagesOf))], ['ghcr.io/ambit-mesh/ambit:test']);
  await t.rejects(manifest(['generate', '-o', 'xml']), { code: 'USAGE' });
  await t.rejects(manifest(['print']), { code: 'USAGE' });
});

t.test('the control plane: xDS/CA on 15012, monitoring on 15014, ready only when synced, CA from cacerts', async (t) => {
  const c = container('Deployment', 'ambit-controlplane', 'controlplane');
  t.same(c.ports?.map((port) => [port.name, port.containerPort]), [['grpc-xds', 15012], ['http-monitoring', 15014]]);
  t.same(c.readinessProbe?.httpGet, { path: '/ready', port: 15014 });
  t.same(c.args, ['--source=kubernetes', '--state-dir=/etc/cacerts', '--listen=0.0.0.0:15012', '--debug-port=15014', '--trust-domain=cluster.local']);
  t.same(c.securityContext?.capabilities, { drop: ['ALL'] }, 'no capabilities at all');
  const pod = workload('Deployment', 'ambit-controlplane').template.spec;
  t.match(pod.volumes?.find((volume) => volume.name === 'cacerts'), { secret: { secretName: 'cacerts' } });
  t.ok((find('Deployment', 'ambit-controlplane').spec as { replicas: number }).replicas >= 2, 'several replicas serve reads');
  t.same((find('Service', 'ambit-controlplane').spec as { ports: { port: number }[] }).ports.map((port) => port.port), [15012, 15014]);
});

t.test('the ztunnel: in-pod redirection capabilities and host paths, readiness 15021, metrics 15020, projected token', async (t) => {
  const c = container('DaemonSet', 'ztunnel', 'ztunnel');
  t.same(c.securityContext?.capabilities, { drop: ['ALL'], add: ['NET_ADMIN', 'SYS_ADMIN', 'NET_RAW'] });
  t.same(c.readinessProbe?.httpGet, { path: '/healthz/ready', port: 15021 });
  t.ok(c.ports?.some((port) => port.containerPort === 15020 && port.name === 'http-monitoring'), 'metrics on 15020');
  const pod = workload('DaemonSet', 'ztunnel').template.spec;
  const hostPaths = Object.fromEntries((pod.volumes ?? []).filter((volume) => 'hostPath' in volume).map((volume) => [volume.name, (volume.hostPath as { path: string }).path]));
  t.same(hostPaths, { 'cni-ztunnel-sock-dir': '/var/run/ztunnel', netns: '/var/run/netns' });
  t.equal(c.volumeMounts?.find((mount) => mount.name === 'netns')?.mountPropagation, 'HostToContainer', 'netns files made after start are visible');
  t.match(pod.volumes?.find((volume) => volume.name === 'istio-token'), { projected: { sources: [{ serviceAccountToken: { audience: 'istio-ca', path: 'istio-token' } }] } });
  t.equal(argValue(c, 'token-file'), '/var/run/secrets/tokens/istio-token');
  t.equal(pod.automountServiceAccountToken, false, 'no API token: the ztunnel talks only to the control plane');
  t.equal(pod.serviceAccountName, 'ztunnel', 'istio-system/ztunnel, the account TokenReview trusts');
  t.equal(argValue(c, 'control-plane'), 'ambit-controlplane.istio-system.svc:15012');
});

t.test('the CNI DaemonSet installs the plugin and a chained conflist, then runs the agent on the shared sockets', async (t) => {
  const install = container('DaemonSet', 'ambit-cni', 'install-cni', true);
  const agent = container('DaemonSet', 'ambit-cni', 'cni-agent');
  t.same(install.command, ['/app/cni/install-cni.sh', 'install']);
  t.same(agent.lifecycle?.preStop?.exec?.command, ['/app/cni/install-cni.sh', 'uninstall'], 'stopping the agent takes the plugin out of the chain');
  const pod = workload('DaemonSet', 'ambit-cni').template.spec;
  t.equal(pod.hostNetwork, true);
  const hostPaths = Object.fromEntries((pod.volumes ?? []).filter((volume) => 'hostPath' in volume).map((volume) => [volume.name, (volume.hostPath as { path: string }).path]));
  t.same(hostPaths, { 'cni-bin-dir': '/opt/cni/bin', 'cni-net-dir': '/etc/cni/net.d', 'cni-socket-dir': '/var/run/ambit', 'cni-ztunnel-sock-dir': '/var/run/ztunnel', netns: '/var/run/netns' });
  const conflist = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cni', 'ambit-cni.conflist'), 'utf8')) as { plugins: { type: string; agentSocket: string }[] };
  const socket = conflist.plugins.find((plugin) => plugin.type === 'ambit-cni')?.agentSocket;
  t.equal(envValue(install, 'AGENT_SOCKET'), socket, 'the conflist tells the plugin the socket the agent listens on');
  t.equal(argValue(agent, 'agent-socket'), socket);
  t.equal(argValue(agent, 'ztunnel-socket'), argValue(container('DaemonSet', 'ztunnel', 'ztunnel'), 'enrollment-socket'), 'agent and ztunnel meet on one socket');
  t.same(agent.securityContext?.capabilities, { drop: ['ALL'], add: ['NET_ADMIN', 'SYS_ADMIN', 'NET_RAW'] });
});

t.test('the processes the manifests start exist in the build', async (t) => {
  const entries = [...new Set(objects.flatMap((object) => containersOf(object)).flatMap((c) => (c as Container).command ?? []).filter((word) => word.startsWith('/app/')))];
  const missing = entries.filter((entry) => !fs.existsSync(path.join(REPO_ROOT, entry.slice('/app/'.length))));
  t.ok(entries.includes('/app/dist/src/cni/agent-main.js'), 'the CNI agent\'s Kubernetes entry point is among them');
  t.same(missing, [], 'every entry point the manifests start exists');
  const waypoint = WaypointTemplates.load().render(
    { name: 'waypoint', namespace: 'bookinfo', image: defaultImage(), controlPlaneAddress: 'ambit-controlplane.istio-system.svc:15012', trustDomain: 'cluster.local', waypointFor: 'service' },
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'waypoint', uid: 'u-1' },
  );
  const command = (waypoint[2].spec as Workload).template.spec.containers[0].command ?? [];
  const script = command.find((word) => word.startsWith('/app/')) ?? '';
  t.equal(command[0], 'node');
  t.ok(fs.existsSync(path.join(REPO_ROOT, script.slice('/app/'.length))), `the waypoint template runs ${script}`);
});

t.test('the waypoint templates render into valid objects owned by the Gateway', async (t) => {
  const rendered = WaypointTemplates.load().render(
    { name: 'reviews-wp', namespace: 'bookinfo', image: 'ghcr.io/ambit-mesh/ambit:x', controlPlaneAddress: 'cp.istio-system.svc:15012', trustDomain: 'example.org', waypointFor: 'workload' },
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'reviews-wp', uid: 'u-1' },
  );
  t.same(rendered.map((object) => `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`), ['ServiceAccount/bookinfo/reviews-wp', 'Service/bookinfo/reviews-wp', 'Deployment/bookinfo/reviews-wp']);
  for (const object of rendered) t.same(object.metadata.ownerReferences, [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'reviews-wp', uid: 'u-1', controller: true, blockOwnerDeletion: true }]);
  t.same(structuralProblems({ ...rendered[2], metadata: { ...rendered[2].metadata, namespace: 'istio-system' } }, rendered.map((object) => ({ ...object, metadata: { ...object.metadata, namespace: 'istio-system' } }))), []);
  const c = (rendered[2].spec as Workload).template.spec.containers[0];
  t.same(imagesOf(rendered[2]), ['ghcr.io/ambit-mesh/ambit:x']);
  t.ok(c.args?.includes('--trust-domain=example.org'));
  t.same(c.readinessProbe?.httpGet, { path: '/healthz/ready', port: 15021 });
  t.same((rendered[1].spec as { ports: { port: number }[] }).ports.map((port) => port.port), [15021, 15008]);
  t.equal((rendered[2].spec as Workload).template.metadata.labels['istio.io/dataplane-mode'], 'none', 'the waypoint is not captured');
  t.throws(() => WaypointTemplates.load().render({ name: 'x"; rm', namespace: 'a', image: 'i', controlPlaneAddress: 'c', trustDomain: 't', waypointFor: 'service' }, { apiVersion: 'v', kind: 'Gateway', name: 'x', uid: 'u' }), { code: 'WAYPOINT_TEMPLATE' });
});

t.test('the Dockerfile builds the one image from node:20-slim with iptables and iproute2', async (t) => {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const from = [...text.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
  t.same(from, ['node:20-slim', 'node:20-slim']);
  t.match(text, /npm ci/);
  t.match(text, /npx tsc -p tsconfig\.json/);
  t.match(text, /apt-get install -y --no-install-recommends iptables iproute2/);
  const sources = [...text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1].split(' '));
  const missing = sources.filter((source) => !fs.existsSync(path.join(REPO_ROOT, source)));
  t.same(missing, [], 'everything it copies exists in the checkout');
  for (const dir of ['daemonset', 'waypoint', 'cni']) t.ok(sources.includes(dir), `the image carries ${dir}/`);
});

t.test('scripts/rehearse-image.sh copies what the Dockerfile copies from the checkout', async (t) => {
  const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const script = fs.readFileSync(path.join(REPO_ROOT, 'scripts', 'rehearse-image.sh'), 'utf8');
  const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1].split(' '));
  t.ok(sources.length > 5, `the Dockerfile copies ${sources.join(', ')}`);
  t.same(sources.filter((source) => !script.includes(`"$repo"/${source}`)), [], 'the rehearsal copies each of them too');
  const fromBuild = [...dockerfile.matchAll(/^COPY --from=build \/app\/(\S+) /gm)].map((match) => match[1]);
  t.same(fromBuild.filter((source) => !script.includes(`"$build"/${source}`)), [], 'and each build-stage output');
});
