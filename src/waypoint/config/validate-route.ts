// Reads one HTTP route of the waypoint config document (matches, destinations, redirect, rewrite, headers, timeout, retries, fault, mirrors).
import { defined, type JsonReader } from './reader';
import type {
  FaultDoc,
  HeaderOpsDoc,
  HeaderRulesDoc,
  HttpRouteDoc,
  MirrorDoc,
  NamedMatchDoc,
  RedirectDoc,
  RetryDoc,
  RewriteDoc,
  RouteDestinationDoc,
  RouteMatchDoc,
  StringMatchDoc,
} from './types';

const STRING_MATCH_KINDS = ['exact', 'prefix', 'pathPrefix', 'regex', 'present'] as const;

export function readStringMatch(reader: JsonReader): StringMatchDoc {
  const keys = reader.object().only(STRING_MATCH_KINDS).keys();
  if (keys.length !== 1) reader.fail(`must set exactly one of ${STRING_MATCH_KINDS.join(', ')}`);
  const [kind] = keys as (typeof STRING_MATCH_KINDS)[number][];
  if (kind === 'present') {
    if (reader.at('present').value !== true) reader.at('present').fail('must be true');
    return { present: true };
  }
  const value = reader.at(kind).string();
  switch (kind) {
    case 'exact':
      return { exact: value };
    case 'prefix':
      return { prefix: value };
    case 'pathPrefix':
      return { pathPrefix: value };
    default:
      return { regex: value };
  }
}

function readNamedMatches(reader: JsonReader, lowerCase: boolean): NamedMatchDoc[] | undefined {
  return reader.optionalArray()?.map((item) => {
    item.object().only(['name', 'match']);
    const name = item.at('name').string({ nonEmpty: true });
    return { name: lowerCase ? name.toLowerCase() : name, match: readStringMatch(item.at('match')) };
  });
}

function readMatch(reader: JsonReader): RouteMatchDoc {
  reader.object().only(['name', 'uri', 'ignoreUriCase', 'method', 'authority', 'scheme', 'headers', 'withoutHeaders', 'queryParams', 'port', 'sourceLabels', 'sourceNamespace']);
  const optionalMatch = (key: string): StringMatchDoc | undefined => (reader.at(key).present ? readStringMatch(reader.at(key)) : undefined);
  return defined({
    name: reader.at('name').optionalString(),
    uri: optionalMatch('uri'),
    ignoreUriCase: reader.at('ignoreUriCase').optionalBoolean(),
    method: optionalMatch('method'),
    authority: optionalMatch('authority'),
    scheme: optionalMatch('scheme'),
    headers: readNamedMatches(reader.at('headers'), true),
    withoutHeaders: readNamedMatches(reader.at('withoutHeaders'), true),
    queryParams: readNamedMatches(reader.at('queryParams'), false),
    port: reader.at('port').optionalPort(),
    sourceLabels: reader.at('sourceLabels').optionalStringMap(),
    sourceNamespace: reader.at('sourceNamespace').optionalString({ nonEmpty: true }),
  });
}

function readPairs(reader: JsonReader): (readonly [string, string])[] | undefined {
  return reader.optionalArray()?.map((pair) => {
    const [name, value] = pair.array();
    if (pair.array().length !== 2 || name === undefined || value === undefined) pair.fail('must be [name, value]');
    return [name.string({ nonEmpty: true }).toLowerCase(), value.string()] as const;
  });
}

function readHeaderOps(reader: JsonReader): HeaderOpsDoc | undefined {
  if (!reader.present) return undefined;
  reader.object().only(['set', 'add', 'remove']);
  return defined({
    set: readPairs(reader.at('set')),
    add: readPairs(reader.at('add')),
    remove: reader.at('remove').optionalStrings()?.map((name) => name.toLowerCase()),
  });
}

export function readHeaderRules(reader: JsonReader): HeaderRulesDoc | undefined {
  if (!reader.present) return undefined;
  reader.object().only(['request', 'response']);
  return defined({ request: readHeaderOps(reader.at('request')), response: readHeaderOps(reader.at('response')) });
}

function readDestination(reader: JsonReader): RouteDestinationDoc {
  reader.object().only(['host', 'subset', 'port', 'weight', 'headers']);
  return defined({
    host: reader.at('host').string({ nonEmpty: true }).toLowerCase(),
    subset: reader.at('subset').optionalString({ nonEmpty: true }),
    port: reader.at('port').optionalPort(),
    weight: reader.at('weight').number({ min: 0, integer: true }),
    headers: readHeaderRules(reader.at('headers')),
  });
}

function readRedirect(reader: JsonReader): RedirectDoc {
  reader.object().only(['path', 'prefix', 'authority', 'port', 'derivePort', 'scheme', 'status']);
  return defined({
    path: reader.at('path').optionalString(),
    prefix: reader.at('prefix').optionalString(),
    authority: reader.at('authority').optionalString({ nonEmpty: true }),
    port: reader.at('port').optionalPort(),
    derivePort: reader.at('derivePort').present ? reader.at('derivePort').oneOf(['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT'] as const) : undefined,
    scheme: reader.at('scheme').optionalString({ nonEmpty: true }),
    status: reader.at('status').number({ min: 300, max: 399, integer: true }),
  });
}

function readRewrite(reader: JsonReader): RewriteDoc {
  reader.object().only(['prefix', 'fullPath', 'regex', 'authority']);
  const regex = reader.at('regex');
  return defined({
    prefix: reader.at('prefix').optionalString(),
    fullPath: reader.at('fullPath').optionalString(),
    regex: regex.present ? { match: regex.object().only(['match', 'rewrite']).at('match').string({ nonEmpty: true }), rewrite: regex.at('rewrite').string() } : undefined,
    authority: reader.at('authority').optionalString({ nonEmpty: true }),
  });
}

function readRetries(reader: JsonReader): RetryDoc {
  reader.object().only(['attempts', 'perTryTimeoutMs', 'retryOn', 'retriableStatusCodes']);
  return defined({
    attempts: reader.at('attempts').number({ min: 0, max: 100, integer: true }),
    perTryTimeoutMs: reader.at('perTryTimeoutMs').optionalNumber({ min: 1 }),
    retryOn: reader.at('retryOn').optionalStrings() ?? [],
    retriableStatusCodes: (reader.at('retriableStatusCodes').optionalArray() ?? []).map((code) => code.number({ min: 100, max: 599, integer: true })),
  });
}

const percentage = (reader: JsonReader): number => (reader.present ? reader.number({ min: 0, max: 100 }) : 100);

function readFault(reader: JsonReader): FaultDoc {
  reader.object().only(['delay', 'abort']);
  const delay = reader.at('delay');
  const abort = reader.at('abort');
  const fault: FaultDoc = defined({
    delay: delay.present
      ? { fixedDelayMs: delay.object().only(['fixedDelayMs', 'percentage']).at('fixedDelayMs').number({ min: 0 }), percentage: percentage(delay.at('percentage')) }
      : undefined,
    abort: abort.present
      ? defined({
          httpStatus: abort.object().only(['httpStatus', 'grpcStatus', 'percentage']).at('httpStatus').optionalNumber({ min: 200, max: 599, integer: true }),
          grpcStatus: abort.at('grpcStatus').optionalString({ nonEmpty: true }),
          percentage: percentage(abort.at('percentage')),
        })
      : undefined,
  });
  if (fault.abort && (fault.abort.httpStatus === undefined) === (fault.abort.grpcStatus === undefined)) abort.fail('must set exactly one of httpStatus, grpcStatus');
  return fault;
}

function readMirror(reader: JsonReader): MirrorDoc {
  reader.object().only(['host', 'subset', 'port', 'percentage']);
  return defined({
    host: reader.at('host').string({ nonEmpty: true }).toLowerCase(),
    subset: reader.at('subset').optionalString({ nonEmpty: true }),
    port: reader.at('port').optionalPort(),
    percentage: percentage(reader.at('percentage')),
  });
}

export function readRoute(reader: JsonReader): HttpRouteDoc {
  reader
    .object()
    .only(['name', 'source', 'gatewaySemantics', 'matches', 'destinations', 'redirect', 'directResponse', 'rewrite', 'headers', 'timeoutMs', 'retries', 'fault', 'mirrors']);
  const direct = reader.at('directResponse');
  const route: HttpRouteDoc = defined({
    name: reader.at('name').optionalString() ?? '',
    source: reader.at('source').optionalString() ?? '',
    gatewaySemantics: reader.at('gatewaySemantics').optionalBoolean() ?? false,
    matches: (reader.at('matches').optionalArray() ?? []).map(readMatch),
    destinations: reader.at('destinations').optionalArray()?.map(readDestination),
    redirect: reader.at('redirect').present ? readRedirect(reader.at('redirect')) : undefined,
    directResponse: direct.present
      ? defined({ status: direct.object().only(['status', 'body']).at('status').number({ min: 200, max: 599, integer: true }), body: direct.at('body').optionalString() })
      : undefined,
    rewrite: reader.at('rewrite').present ? readRewrite(reader.at('rewrite')) : undefined,
    headers: readHeaderRules(reader.at('headers')),
    timeoutMs: reader.at('timeoutMs').optionalNumber({ min: 0 }),
    retries: reader.at('retries').present ? readRetries(reader.at('retries')) : undefined,
    fault: reader.at('fault').present ? readFault(reader.at('fault')) : undefined,
    mirrors: reader.at('mirrors').optionalArray()?.map(readMirror),
  });
  const actions = [route.destinations, route.redirect, route.directResponse].filter((a) => a !== undefined).length;
  if (actions !== 1) reader.fail('must set exactly one of destinations, redirect, directResponse');
  return route;
}
