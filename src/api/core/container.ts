// Container, probe and environment schemas shared by Pods and Deployment templates.

import { dnsLabel } from '../formats';
import { custom, enumOf, int, intOrString, list, object, opaque, portNumber, required, str, stringList, type Cursor, type Schema } from '../schema';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface FieldRef {
  fieldPath: string;
  apiVersion?: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef: FieldRef };
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: Protocol;
}

export interface HttpGetAction {
  path?: string;
  port: number | string;
  host?: string;
  scheme?: 'HTTP' | 'HTTPS';
  httpHeaders?: { name: string; value: string }[];
}

export interface Probe {
  httpGet?: HttpGetAction;
  tcpSocket?: { port: number | string; host?: string };
  exec?: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

export interface Container {
  name: string;
  image?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  ports?: ContainerPort[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  /** Accepted and not interpreted. */
  resources?: unknown;
  securityContext?: unknown;
  volumeMounts?: unknown[];
}

/** Pod fields a container may read through `valueFrom.fieldRef` (what the downward API offers for env). */
export const SUPPORTED_FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  "metadata.labels['<key>']",
  "metadata.annotations['<key>']",
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
] as const;

export function isSupportedFieldPath(path: string): boolean {
  if (/^metadata\.(labels|annotations)\['[^']+'\]$/.test(path)) return true;
  return (SUPPORTED_FIELD_PATHS as readonly string[]).includes(path);
}

/** IANA service names, which named ports must be: at most 15 of [a-z0-9-], a letter among them, no leading, trailing or doubled '-'. */
export function isPortName(s: string): boolean {
  return s.length <= 15 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');
}

export function portName(): Schema {
  return str({
    format: (s) => (isPortName(s) ? undefined : `${JSON.stringify(s)} is not a valid port name (at most 15 lower case letters, digits and '-', with at least one letter)`),
  });
}

export function protocol(): Schema {
  return enumOf(['TCP', 'UDP', 'SCTP']);
}

/** A port given by number or by the name of one of the container's ports. */
export function targetPort(): Schema {
  return intOrString(portNumber(), portName());
}

const envVar = object({
  name: required(
    str({ nonEmpty: true, format: (s) => (s.includes('=') ? `${JSON.stringify(s)} is not a valid environment variable name (it must not contain '=')` : undefined) }),
  ),
  value: str(),
  valueFrom: object({
    fieldRef: required(
      object({
        apiVersion: str(),
        fieldPath: required(
          str({
            format: (s) => (isSupportedFieldPath(s) ? undefined : `unsupported fieldPath ${JSON.stringify(s)} (supported: ${SUPPORTED_FIELD_PATHS.join(', ')})`),
          }),
        ),
      }),
    ),
    secretKeyRef: notFieldRef('secretKeyRef'),
    configMapKeyRef: notFieldRef('configMapKeyRef'),
    resourceFieldRef: notFieldRef('resourceFieldRef'),
  }),
}, { atMostOne: [['value', 'valueFrom']] });

function notFieldRef(what: string): Schema {
  return custom((_v, at) => at.fail(`${what} is not supported; only fieldRef is`));
}

const probe = object(
  {
    httpGet: object({
      path: str(),
      port: required(targetPort()),
      host: str(),
      scheme: enumOf(['HTTP', 'HTTPS']),
      httpHeaders: list(object({ name: required(str({ nonEmpty: true })), value: required(str()) })),
    }),
    tcpSocket: object({ port: required(targetPort()), host: str() }),
    exec: object({ command: required(stringList(str(), { minItems: 1 })) }),
    grpc: object({ port: required(portNumber()), service: str() }),
    initialDelaySeconds: int({ min: 0 }),
    periodSeconds: int({ min: 1 }),
    timeoutSeconds: int({ min: 1 }),
    failureThreshold: int({ min: 1 }),
    successThreshold: int({ min: 1 }),
    terminationGracePeriodSeconds: int({ min: 1 }),
  },
  { exactlyOne: [['httpGet', 'tcpSocket', 'exec', 'grpc']] },
);

const containerPort = object({
  name: portName(),
  containerPort: required(portNumber()),
  protocol: protocol(),
  hostPort: portNumber(),
  hostIP: str(),
});

/** A probe that names a port must name one the container declares. */
function checkProbePortNames(container: Container, at: Cursor): void {
  const names = new Set((container.ports ?? []).map((p) => p.name).filter((n) => n !== undefined));
  for (const probeField of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
    const p = container[probeField];
    if (p === undefined) continue;
    for (const action of ['httpGet', 'tcpSocket'] as const) {
      const port = p[action]?.port;
      if (typeof port === 'string' && !names.has(port)) {
        at.at(probeField).at(action).at('port').fail(`no port of this container is named ${JSON.stringify(port)}`);
      }
    }
  }
}

export const containerSchema: Schema = object<Container>(
  {
    name: required(dnsLabel()),
    image: str(),
    imagePullPolicy: enumOf(['Always', 'IfNotPresent', 'Never']),
    command: stringList(),
    args: stringList(),
    workingDir: str(),
    env: list(envVar),
    ports: list(containerPort, { uniqueField: 'name' }),
    readinessProbe: probe,
    livenessProbe: probe,
    startupProbe: probe,
    resources: opaque(),
    securityContext: opaque(),
    volumeMounts: list(opaque()),
    stdin: opaque(),
    tty: opaque(),
    terminationMessagePath: opaque(),
    terminationMessagePolicy: opaque(),
    lifecycle: opaque(),
  },
  { refine: checkProbePortNames },
);
