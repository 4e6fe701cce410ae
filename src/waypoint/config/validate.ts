// Reads a pushed waypoint config document: parses the JSON, checks every field's type and range, and returns the typed document (or throws WaypointConfigInvalid).
import { WaypointConfigInvalid } from '../errors';
import { defined, JsonReader } from './reader';
import {
  WAYPOINT_CONFIG_VERSION,
  type AppProtocolDoc,
  type EndpointDoc,
  type ServiceDoc,
  type ServicePortDoc,
  type WaypointConfigDoc,
  type WorkloadDoc,
} from './types';
import { readAuthorization, readDestinationPolicy } from './validate-policy';
import { readRoute } from './validate-route';

const APP_PROTOCOLS: readonly AppProtocolDoc[] = ['UNKNOWN', 'HTTP11', 'HTTP2', 'GRPC', 'TCP', 'TLS'];

/** Parses and checks a config document; references between its parts are checked here too. */
export function parseWaypointConfig(json: string): WaypointConfigDoc {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new WaypointConfigInvalid(`the document is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return readWaypointConfig(value);
}

/** Checks an already parsed document. */
export function readWaypointConfig(value: unknown): WaypointConfigDoc {
  const root = new JsonReader(value, '').object();
  const version = root.at('version');
  if (version.value !== WAYPOINT_CONFIG_VERSION) {
    version.fail(`this waypoint understands version ${WAYPOINT_CONFIG_VERSION} (got ${JSON.stringify(version.value)}); upgrade the waypoint or the control plane so they agree`);
  }
  root.only(['version', 'waypoint', 'services', 'backends', 'directWorkloads', 'workloads', 'policies']);
  const self = root.at('waypoint').object().only(['name', 'namespace', 'identity', 'trustDomain']);
  const doc: WaypointConfigDoc = {
    version: 1,
    waypoint: {
      name: self.at('name').string({ nonEmpty: true }),
      namespace: self.at('namespace').string({ nonEmpty: true }),
      identity: spiffe(self.at('identity')),
      trustDomain: self.at('trustDomain').string({ nonEmpty: true }),
    },
    services: (root.at('services').optionalArray() ?? []).map(readService),
    backends: (root.at('backends').optionalArray() ?? []).map(readService),
    directWorkloads: root.at('directWorkloads').optionalStrings() ?? [],
    workloads: (root.at('workloads').optionalArray() ?? []).map(readWorkload),
    policies: (root.at('policies').optionalArray() ?? []).map(readAuthorization),
  };
  checkReferences(doc, root);
  return doc;
}

function spiffe(reader: JsonReader): string {
  const value = reader.string({ nonEmpty: true });
  if (!/^spiffe:\/\/[^/]+\/ns\/[^/]+\/sa\/[^/]+$/.test(value)) reader.fail(`${JSON.stringify(value)} is not spiffe://<trust domain>/ns/<namespace>/sa/<service account>`);
  return value;
}

function readWorkload(reader: JsonReader): WorkloadDoc {
  reader.object().only(['uid', 'name', 'namespace', 'ips', 'identity', 'labels', 'healthy', 'workloadName', 'canonicalName', 'canonicalRevision']);
  return {
    uid: reader.at('uid').string({ nonEmpty: true }),
    name: reader.at('name').string({ nonEmpty: true }),
    namespace: reader.at('namespace').string({ nonEmpty: true }),
    ips: reader.at('ips').strings(),
    identity: spiffe(reader.at('identity')),
    labels: reader.at('labels').optionalStringMap() ?? {},
    healthy: reader.at('healthy').boolean(),
    workloadName: reader.at('workloadName').optionalString() ?? '',
    canonicalName: reader.at('canonicalName').optionalString() ?? '',
    canonicalRevision: reader.at('canonicalRevision').optionalString() ?? '',
  };
}

function readPort(reader: JsonReader): ServicePortDoc {
  reader.object().only(['port', 'targetPort', 'appProtocol']);
  return {
    port: reader.at('port').port(),
    targetPort: reader.at('targetPort').number({ min: 0, max: 65535, integer: true }),
    appProtocol: reader.at('appProtocol').present ? reader.at('appProtocol').oneOf(APP_PROTOCOLS) : 'UNKNOWN',
  };
}

function readEndpoint(reader: JsonReader): EndpointDoc {
  reader.object().only(['workload', 'ip', 'ports']);
  const ports: Record<string, number> = {};
  const portsReader = reader.at('ports');
  for (const key of portsReader.keys()) {
    if (!/^[0-9]+$/.test(key)) portsReader.at(key).fail('keys must be service port numbers');
    ports[key] = portsReader.at(key).port();
  }
  return { workload: reader.at('workload').string({ nonEmpty: true }), ip: reader.at('ip').string({ nonEmpty: true }), ports };
}

function readService(reader: JsonReader): ServiceDoc {
  reader.object().only(['hostname', 'namespace', 'name', 'vips', 'ports', 'endpoints', 'routes', 'destinationPolicy']);
  return defined({
    hostname: reader.at('hostname').string({ nonEmpty: true }).toLowerCase(),
    namespace: reader.at('namespace').string({ nonEmpty: true }),
    name: reader.at('name').string({ nonEmpty: true }),
    vips: reader.at('vips').optionalStrings() ?? [],
    ports: (reader.at('ports').optionalArray() ?? []).map(readPort),
    endpoints: (reader.at('endpoints').optionalArray() ?? []).map(readEndpoint),
    routes: (reader.at('routes').optionalArray() ?? []).map(readRoute),
    destinationPolicy: reader.at('destinationPolicy').present ? readDestinationPolicy(reader.at('destinationPolicy')) : undefined,
  });
}

/** Uids must resolve, hosts must be unique, and a VIP:port may belong to one service only. */
function checkReferences(doc: WaypointConfigDoc, root: JsonReader): void {
  const uids = new Set<string>();
  doc.workloads.forEach((workload, i) => {
    if (uids.has(workload.uid)) root.at('workloads').at(i).at('uid').fail(`duplicate workload ${workload.uid}`);
    uids.add(workload.uid);
  });
  doc.directWorkloads.forEach((uid, i) => {
    if (!uids.has(uid)) root.at('directWorkloads').at(i).fail(`names workload ${uid}, which is not in workloads`);
  });
  const hosts = new Set<string>();
  const vipPorts = new Map<string, string>();
  for (const [list, services] of [['services', doc.services], ['backends', doc.backends]] as const) {
    services.forEach((service, i) => {
      const at = root.at(list).at(i);
      if (hosts.has(service.hostname)) at.at('hostname').fail(`duplicate host ${service.hostname}`);
      hosts.add(service.hostname);
      service.endpoints.forEach((endpoint, j) => {
        if (!uids.has(endpoint.workload)) at.at('endpoints').at(j).at('workload').fail(`names workload ${endpoint.workload}, which is not in workloads`);
      });
      if (list === 'backends' && service.routes.length > 0) at.at('routes').fail('backends carry no routes (only served services do)');
      if (list !== 'services') return;
      for (const vip of service.vips) {
        for (const port of service.ports) {
          const key = `${vip}:${port.port}`;
          const owner = vipPorts.get(key);
          if (owner !== undefined) at.at('vips').fail(`${key} is also claimed by ${owner}`);
          vipPorts.set(key, service.hostname);
        }
      }
    });
  }
}
