import t from 'tap';
import { validateResource } from '../../../../src/api/validate';
import { basePod, objectErrors, textErrors, withField, withFields } from '../helpers';

const P = 't.yaml:0: Pod shop/web';

t.test('a valid pod passes and gets the API server defaults', async (t) => {
  const { located, errors } = validateResource(basePod(), { file: 't.yaml', line: 0 });
  t.same(errors, []);
  t.same(located?.resource.spec, {
    containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'], ports: [{ name: 'http', containerPort: 8080 }] }],
    restartPolicy: 'Always',
    serviceAccountName: 'default',
  });
  const legacy = validateResource(withField(basePod(), 'spec.serviceAccount', 'reviews'), { file: 't.yaml', line: 0 });
  t.match(legacy.located?.resource.spec, { serviceAccountName: 'reviews' }, 'serviceAccount is copied to serviceAccountName');
});

t.test('pod spec rules', async (t) => {
  const rows: [string, Record<string, unknown>, string[]][] = [
    ['spec required', { spec: undefined }, [`${P}: spec: required field is missing`]],
    ['containers required', { 'spec.containers': undefined }, [`${P}: spec.containers: required field is missing`]],
    ['at least one container', { 'spec.containers': [] }, [`${P}: spec.containers: must have at least one container`]],
    ['container name required', { 'spec.containers[0].name': undefined }, [`${P}: spec.containers[0].name: required field is missing`]],
    ['container name is a DNS label', { 'spec.containers[0].name': 'App_1' }, [
      `${P}: spec.containers[0].name: "App_1" is not a valid DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
    ]],
    ['container names unique', { 'spec.containers[1]': { name: 'app' } }, [`${P}: spec.containers[1].name: duplicate name "app" (also used by spec.containers[0])`]],
    ['unknown container field', { 'spec.containers[0].comand': ['x'] }, [`${P}: spec.containers[0]: unknown field "comand" (did you mean "command"?)`]],
    ['command items are strings', { 'spec.containers[0].command': ['sleep', 3600] }, [`${P}: spec.containers[0].command[1]: must be a string (got 3600)`]],
    ['args is a list', { 'spec.containers[0].args': 'a b' }, [`${P}: spec.containers[0].args: must be a list (got "a b")`]],
    ['imagePullPolicy', { 'spec.containers[0].imagePullPolicy': 'Sometimes' }, [`${P}: spec.containers[0].imagePullPolicy: must be one of Always, IfNotPresent, Never (got "Sometimes")`]],
    ['workingDir string', { 'spec.containers[0].workingDir': 1 }, [`${P}: spec.containers[0].workingDir: must be a string (got 1)`]],
    ['containerPort required', { 'spec.containers[0].ports[0].containerPort': undefined }, [`${P}: spec.containers[0].ports[0].containerPort: required field is missing`]],
    ['containerPort range', { 'spec.containers[0].ports[0].containerPort': 70000 }, [`${P}: spec.containers[0].ports[0].containerPort: must be between 1 and 65535 (got 70000)`]],
    ['port protocol', { 'spec.containers[0].ports[0].protocol': 'HTTP' }, [`${P}: spec.containers[0].ports[0].protocol: must be one of TCP, UDP, SCTP (got "HTTP")`]],
    ['port name format', { 'spec.containers[0].ports[0].name': 'http-metrics-long' }, [
      `${P}: spec.containers[0].ports[0].name: "http-metrics-long" is not a valid port name (at most 15 lower case letters, digits and '-', with at least one letter)`,
    ]],
    ['port names unique', { 'spec.containers[0].ports[1]': { name: 'http', containerPort: 9090 } }, [
      `${P}: spec.containers[0].ports[1].name: duplicate name "http" (also used by spec.containers[0].ports[0])`,
    ]],
    ['env name required', { 'spec.containers[0].env': [{ value: 'x' }] }, [`${P}: spec.containers[0].env[0].name: required field is missing`]],
    ['env name without =', { 'spec.containers[0].env': [{ name: 'A=B' }] }, [
      `${P}: spec.containers[0].env[0].name: "A=B" is not a valid environment variable name (it must not contain '=')`,
    ]],
    ['env value is a string', { 'spec.containers[0].env': [{ name: 'PORT', value: 8080 }] }, [`${P}: spec.containers[0].env[0].value: must be a string (got 8080)`]],
    ['env value or valueFrom', { 'spec.containers[0].env': [{ name: 'A', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }, [
      `${P}: spec.containers[0].env[0]: only one of value, valueFrom may be set (found value, valueFrom)`,
    ]],
    ['fieldRef fieldPath supported', { 'spec.containers[0].env': [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'status.phase' } } }] }, [
      `${P}: spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: unsupported fieldPath "status.phase" (supported: metadata.name, metadata.namespace, metadata.uid, metadata.labels['<key>'], metadata.annotations['<key>'], spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP, status.podIPs)`,
    ]],
    ['secretKeyRef refused', { 'spec.containers[0].env': [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }, [
      `${P}: spec.containers[0].env[0].valueFrom.fieldRef: required field is missing`,
      `${P}: spec.containers[0].env[0].valueFrom.secretKeyRef: secretKeyRef is not supported; only fieldRef is`,
    ]],
    ['probe needs one handler', { 'spec.containers[0].readinessProbe': { periodSeconds: 5 } }, [
      `${P}: spec.containers[0].readinessProbe: exactly one of httpGet, tcpSocket, exec, grpc must be set`,
    ]],
    ['probe has only one handler', { 'spec.containers[0].livenessProbe': { httpGet: { port: 8080 }, tcpSocket: { port: 8080 } } }, [
      `${P}: spec.containers[0].livenessProbe: only one of httpGet, tcpSocket, exec, grpc may be set (found httpGet, tcpSocket)`,
    ]],
    ['probe port required', { 'spec.containers[0].readinessProbe': { httpGet: { path: '/' } } }, [`${P}: spec.containers[0].readinessProbe.httpGet.port: required field is missing`]],
    ['probe named port must exist', { 'spec.containers[0].readinessProbe': { httpGet: { path: '/', port: 'metrics' } } }, [
      `${P}: spec.containers[0].readinessProbe.httpGet.port: no port of this container is named "metrics"`,
    ]],
    ['probe exec command', { 'spec.containers[0].livenessProbe': { exec: { command: [] } } }, [`${P}: spec.containers[0].livenessProbe.exec.command: must not be empty`]],
    ['probe period', { 'spec.containers[0].livenessProbe': { tcpSocket: { port: 'http' }, periodSeconds: 0 } }, [
      `${P}: spec.containers[0].livenessProbe.periodSeconds: must be at least 1 (got 0)`,
    ]],
    ['probe initial delay', { 'spec.containers[0].livenessProbe': { tcpSocket: { port: 8080 }, initialDelaySeconds: -1 } }, [
      `${P}: spec.containers[0].livenessProbe.initialDelaySeconds: must be at least 0 (got -1)`,
    ]],
    ['restartPolicy', { 'spec.restartPolicy': 'Sometimes' }, [`${P}: spec.restartPolicy: must be one of Always, OnFailure, Never (got "Sometimes")`]],
    ['terminationGracePeriodSeconds', { 'spec.terminationGracePeriodSeconds': -5 }, [`${P}: spec.terminationGracePeriodSeconds: must be at least 0 (got -5)`]],
    ['nodeName', { 'spec.nodeName': 'Node 1' }, [
      `${P}: spec.nodeName: "Node 1" is not a valid DNS-1123 subdomain (lower case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters)`,
    ]],
    ['serviceAccountName', { 'spec.serviceAccountName': 'Reviews' }, [
      `${P}: spec.serviceAccountName: "Reviews" is not a valid DNS-1123 subdomain (lower case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters)`,
    ]],
    ['init containers in local mode', { 'spec.initContainers': [{ name: 'init' }] }, [`${P}: spec.initContainers: init containers are not supported in local mode`]],
    ['hostNetwork in local mode', { 'spec.hostNetwork': true }, [`${P}: spec.hostNetwork: hostNetwork is not supported in local mode: every pod gets its own network namespace`]],
    ['hostNetwork is a boolean', { 'spec.hostNetwork': 'yes' }, [`${P}: spec.hostNetwork: must be true or false (got "yes")`]],
    ['unknown spec field', { 'spec.contaners': [] }, [`${P}: spec: unknown field "contaners" (did you mean "containers"?)`]],
  ];
  for (const [name, edits, want] of rows) t.same(objectErrors(withFields(basePod(), edits)), want, name);
});

t.test('tolerated fields that real manifests carry are accepted', async (t) => {
  const pod = withFields(basePod(), {
    'spec.volumes': [{ name: 'tmp', emptyDir: {} }],
    'spec.securityContext': { runAsUser: 1000 },
    'spec.containers[0].volumeMounts': [{ name: 'tmp', mountPath: '/tmp' }],
    'spec.containers[0].resources': { requests: { cpu: '100m' } },
    'spec.containers[0].securityContext': { runAsNonRoot: true },
    'spec.containers[0].readinessProbe': { httpGet: { path: '/health', port: 'http' }, initialDelaySeconds: 1, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 3 },
    'spec.containers[0].env': [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }],
  });
  t.same(objectErrors(pod), []);
  t.same(objectErrors(withField(basePod(), 'spec.initContainers', [{ name: 'init' }]), { mode: 'kubernetes' }), []);
  t.same(objectErrors(withField(basePod(), 'spec.hostNetwork', true), { mode: 'kubernetes' }), []);
});

t.test('pod errors in YAML point at the offending line', async (t) => {
  const text = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    ports:
    - containerPort: 80
      protocol: tcp
  - name: app
`;
  t.same(textErrors(text), [
    'm.yaml:10: Pod default/web: spec.containers[0].ports[0].protocol: must be one of TCP, UDP, SCTP (got "tcp")',
  ]);
  t.same(textErrors(text.replace('protocol: tcp', 'protocol: TCP')), [
    'm.yaml:11: Pod default/web: spec.containers[1].name: duplicate name "app" (also used by spec.containers[0])',
  ]);
});
