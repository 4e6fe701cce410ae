// Reads the policy parts of the waypoint config document: merged DestinationRule policies and L7 AuthorizationPolicies.
import { defined, type JsonReader } from './reader';
import type {
  AuthorizationConditionDoc,
  AuthorizationDoc,
  AuthorizationOperationDoc,
  AuthorizationRuleDoc,
  AuthorizationSourceDoc,
  ConnectionPoolDoc,
  DestinationPolicyDoc,
  LoadBalancerDoc,
  OutlierDetectionDoc,
  PolicyAttachmentDoc,
  TrafficPolicyDoc,
} from './types';

function readLoadBalancer(reader: JsonReader): LoadBalancerDoc {
  const keys = reader.object().only(['simple', 'consistentHash']).keys();
  if (keys.length !== 1) reader.fail('must set exactly one of simple, consistentHash');
  if (keys[0] === 'simple') return { simple: reader.at('simple').oneOf(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM'] as const) };
  const hash = reader.at('consistentHash').object().only(['header', 'cookie', 'sourceIp', 'queryParameter', 'minimumRingSize']);
  const cookie = hash.at('cookie');
  const consistentHash = defined({
    header: hash.at('header').optionalString({ nonEmpty: true })?.toLowerCase(),
    cookie: cookie.present
      ? defined({
          name: cookie.object().only(['name', 'ttlMs', 'path']).at('name').string({ nonEmpty: true }),
          ttlMs: cookie.at('ttlMs').optionalNumber({ min: 0 }),
          path: cookie.at('path').optionalString(),
        })
      : undefined,
    sourceIp: hash.at('sourceIp').optionalBoolean() === true ? (true as const) : undefined,
    queryParameter: hash.at('queryParameter').optionalString({ nonEmpty: true }),
    minimumRingSize: hash.at('minimumRingSize').optionalNumber({ min: 1, max: 8_388_608, integer: true }),
  });
  const sources = ['header', 'cookie', 'sourceIp', 'queryParameter'].filter((key) => key in consistentHash);
  if (sources.length !== 1) hash.fail('must set exactly one of header, cookie, sourceIp, queryParameter');
  return { consistentHash };
}

function readConnectionPool(reader: JsonReader): ConnectionPoolDoc {
  reader.object().only(['maxConnections', 'connectTimeoutMs', 'http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries', 'idleTimeoutMs']);
  const count = (key: string): number | undefined => reader.at(key).optionalNumber({ min: 0, integer: true });
  return defined({
    maxConnections: count('maxConnections'),
    connectTimeoutMs: reader.at('connectTimeoutMs').optionalNumber({ min: 1 }),
    http1MaxPendingRequests: count('http1MaxPendingRequests'),
    http2MaxRequests: count('http2MaxRequests'),
    maxRequestsPerConnection: count('maxRequestsPerConnection'),
    maxRetries: count('maxRetries'),
    idleTimeoutMs: reader.at('idleTimeoutMs').optionalNumber({ min: 1 }),
  });
}

function readOutlierDetection(reader: JsonReader): OutlierDetectionDoc {
  reader.object().only(['consecutive5xxErrors', 'consecutiveGatewayErrors', 'intervalMs', 'baseEjectionTimeMs', 'maxEjectionPercent', 'minHealthPercent']);
  return {
    consecutive5xxErrors: reader.at('consecutive5xxErrors').number({ min: 0, integer: true }),
    consecutiveGatewayErrors: reader.at('consecutiveGatewayErrors').number({ min: 0, integer: true }),
    intervalMs: reader.at('intervalMs').number({ min: 1 }),
    baseEjectionTimeMs: reader.at('baseEjectionTimeMs').number({ min: 1 }),
    maxEjectionPercent: reader.at('maxEjectionPercent').number({ min: 0, max: 100 }),
    minHealthPercent: reader.at('minHealthPercent').number({ min: 0, max: 100 }),
  };
}

export function readTrafficPolicy(reader: JsonReader): TrafficPolicyDoc {
  reader.object().only(['loadBalancer', 'connectionPool', 'outlierDetection']);
  return defined({
    loadBalancer: reader.at('loadBalancer').present ? readLoadBalancer(reader.at('loadBalancer')) : undefined,
    connectionPool: reader.at('connectionPool').present ? readConnectionPool(reader.at('connectionPool')) : undefined,
    outlierDetection: reader.at('outlierDetection').present ? readOutlierDetection(reader.at('outlierDetection')) : undefined,
  });
}

export function readDestinationPolicy(reader: JsonReader): DestinationPolicyDoc {
  reader.object().only(['source', 'subsets', 'policies']);
  const subsets = (reader.at('subsets').optionalArray() ?? []).map((subset) => {
    subset.object().only(['name', 'labels']);
    return { name: subset.at('name').string({ nonEmpty: true }), labels: subset.at('labels').optionalStringMap() ?? {} };
  });
  const names = new Set(subsets.map((s) => s.name));
  const policies = (reader.at('policies').optionalArray() ?? []).map((entry) => {
    entry.object().only(['port', 'subset', 'policy']);
    const subset = entry.at('subset').optionalString({ nonEmpty: true });
    if (subset !== undefined && !names.has(subset)) entry.at('subset').fail(`names subset ${subset}, which is not in subsets`);
    return defined({ port: entry.at('port').port(), subset, policy: readTrafficPolicy(entry.at('policy')) });
  });
  return { source: reader.at('source').optionalString() ?? '', subsets, policies };
}

const SOURCE_KEYS = [
  'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces',
  'serviceAccounts', 'notServiceAccounts', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks',
] as const;
const OPERATION_KEYS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

function readStringLists<K extends string>(reader: JsonReader, keys: readonly K[]): Partial<Record<K, string[]>> {
  reader.object().only(keys);
  const out: Partial<Record<K, string[]>> = {};
  for (const key of keys) {
    const values = reader.at(key).optionalStrings();
    if (values !== undefined) out[key] = values;
  }
  return out;
}

function readRule(reader: JsonReader): AuthorizationRuleDoc {
  reader.object().only(['from', 'to', 'when']);
  const from = reader.at('from').optionalArray()?.map((source): AuthorizationSourceDoc => readStringLists(source, SOURCE_KEYS));
  const to = reader.at('to').optionalArray()?.map((operation): AuthorizationOperationDoc => readStringLists(operation, OPERATION_KEYS));
  const when = reader.at('when').optionalArray()?.map((condition): AuthorizationConditionDoc => {
    condition.object().only(['key', 'values', 'notValues']);
    return defined({ key: condition.at('key').string({ nonEmpty: true }), values: condition.at('values').optionalStrings(), notValues: condition.at('notValues').optionalStrings() });
  });
  return defined({ from, to, when });
}

function readAttachment(reader: JsonReader): PolicyAttachmentDoc {
  const kind = reader.object().only(['kind', 'hostname']).at('kind').oneOf(['gateway', 'service', 'termination'] as const);
  if (kind === 'service') return { kind, hostname: reader.at('hostname').string({ nonEmpty: true }).toLowerCase() };
  return { kind };
}

export function readAuthorization(reader: JsonReader): AuthorizationDoc {
  reader.object().only(['name', 'namespace', 'action', 'dryRun', 'attachment', 'rules']);
  return defined({
    name: reader.at('name').string({ nonEmpty: true }),
    namespace: reader.at('namespace').string({ nonEmpty: true }),
    action: reader.at('action').oneOf(['ALLOW', 'DENY', 'AUDIT'] as const),
    dryRun: reader.at('dryRun').optionalBoolean() ?? false,
    attachment: readAttachment(reader.at('attachment')),
    rules: reader.at('rules').optionalArray()?.map(readRule),
  });
}
