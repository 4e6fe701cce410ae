// Table tests of config document validation: a valid document reads back as itself; each kind of mistake is refused with its path.
import t from 'tap';
import { parseWaypointConfig, readWaypointConfig } from '../../../../src/waypoint/config/validate';
import { WaypointConfigInvalid } from '../../../../src/waypoint/errors';
import { compileRoutingTable } from '../../../../src/waypoint/routing/table';
import { configDoc, service, workload } from '../fixtures/harness';

const w = workload('reviews-v1-a', '10.1.0.1', { app: 'reviews', version: 'v1' });
const valid = configDoc({
  services: [
    service('reviews', '10.96.0.10', [w], {
      routes: [
        {
          name: 'r',
          source: 'VirtualService bookinfo/reviews',
          gatewaySemantics: false,
          matches: [{ uri: { prefix: '/api' }, headers: [{ name: 'end-user', match: { exact: 'jason' } }] }],
          destinations: [{ host: 'reviews.bookinfo.svc.cluster.local', subset: 'v1', weight: 100, headers: { request: { set: [['x', 'y']] } } }],
          rewrite: { prefix: '/' },
          timeoutMs: 1000,
          retries: { attempts: 2, perTryTimeoutMs: 100, retryOn: ['5xx'], retriableStatusCodes: [503] },
          fault: { delay: { fixedDelayMs: 5, percentage: 10 }, abort: { httpStatus: 500, percentage: 1 } },
          mirrors: [{ host: 'reviews.bookinfo.svc.cluster.local', percentage: 10 }],
        },
      ],
      destinationPolicy: {
        source: 'DestinationRule bookinfo/reviews',
        subsets: [{ name: 'v1', labels: { version: 'v1' } }],
        policies: [
          { port: 9080, policy: { loadBalancer: { consistentHash: { cookie: { name: 'u', ttlMs: 1000 } } }, connectionPool: { maxConnections: 1 } } },
          { port: 9080, subset: 'v1', policy: { outlierDetection: { consecutive5xxErrors: 5, consecutiveGatewayErrors: 0, intervalMs: 1, baseEjectionTimeMs: 1, maxEjectionPercent: 10, minHealthPercent: 0 } } },
        ],
      },
    }),
  ],
  workloads: [w],
  directWorkloads: [w.uid],
  policies: [{ name: 'bookinfo/p', namespace: 'bookinfo', action: 'ALLOW', dryRun: false, attachment: { kind: 'service', hostname: 'reviews.bookinfo.svc.cluster.local' }, rules: [{ from: [{ principals: ['x'] }], to: [{ methods: ['GET'] }], when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }] }] }],
});

t.test('a valid document reads back unchanged and compiles', async (t) => {
  const read = parseWaypointConfig(JSON.stringify(valid));
  t.same(read, valid);
  const table = compileRoutingTable(read, 1);
  t.ok(table.target('10.96.0.10', 9080), 'the VIP is served');
  t.ok(table.target('10.1.0.1', 1234), 'the direct workload is served on any port');
  t.notOk(table.target('10.96.0.10', 80));
  t.same([...table.clusters.keys()].sort(), ['outbound|9080|v1|reviews.bookinfo.svc.cluster.local', 'outbound|9080||reviews.bookinfo.svc.cluster.local']);
});

type Node = Record<string, unknown> | unknown[];

/** A copy of the valid document with the value at `path` ("services.0.ports.0.port") replaced, deleted (undefined) or appended to ("+"). */
function edit(path: string, value: unknown): unknown {
  const doc = structuredClone(valid) as unknown as Record<string, unknown>;
  const keys = path.split('.');
  let node = doc as Node;
  for (const key of keys.slice(0, -1)) node = (node as Record<string, unknown>)[key] as Node;
  const last = keys[keys.length - 1];
  if (last === '+') (node as unknown[]).push(value);
  else if (value === undefined) delete (node as Record<string, unknown>)[last];
  else (node as Record<string, unknown>)[last] = value;
  return doc;
}

const route0 = 'services.0.routes.0';

t.test('mistakes are refused with the path at fault', async (t) => {
  const rows: [string, unknown, RegExp][] = [
    ['not an object', [], /must be an object/],
    ['version', edit('version', 2), /version: this waypoint understands version 1/],
    ['unknown top-level field', edit('extra', 1), /extra: unknown field/],
    ['bad identity', edit('waypoint.identity', 'x'), /waypoint.identity: "x" is not spiffe/],
    ['unknown workload in endpoints', edit('services.0.endpoints.0.workload', 'nope'), /services\[0\].endpoints\[0\].workload: names workload nope/],
    ['unknown direct workload', edit('directWorkloads', ['nope']), /directWorkloads\[0\]/],
    ['two actions', edit(`${route0}.directResponse`, { status: 200 }), /routes\[0\]: must set exactly one of destinations, redirect, directResponse/],
    ['no action', edit(`${route0}.destinations`, undefined), /exactly one of destinations/],
    ['bad weight', edit(`${route0}.destinations.0.weight`, -1), /weight: must be at least 0/],
    ['bad string match', edit(`${route0}.matches.0.uri`, { exact: '/a', prefix: '/b' }), /uri: must set exactly one/],
    ['bad port', edit('services.0.ports.0.port', 70000), /ports\[0\].port: must be at most 65535/],
    ['bad app protocol', edit('services.0.ports.0.appProtocol', 'SPDY'), /appProtocol: must be one of/],
    ['abort with both', edit(`${route0}.fault.abort.grpcStatus`, 'UNAVAILABLE'), /abort: must set exactly one of httpStatus, grpcStatus/],
    ['unknown subset in policies', edit('services.0.destinationPolicy.policies.1.subset', 'v9'), /names subset v9/],
    ['two hash sources', edit('services.0.destinationPolicy.policies.0.policy.loadBalancer.consistentHash.header', 'x'), /exactly one of header, cookie/],
    ['bad attachment', edit('policies.0.attachment', { kind: 'pod' }), /attachment.kind: must be one of/],
    ['bad action', edit('policies.0.action', 'CUSTOM'), /action: must be one of ALLOW, DENY, AUDIT/],
    ['duplicate host', edit('backends.+', structuredClone(valid.services[0])), /duplicate host/],
    ['duplicate vip port', edit('services.+', { ...structuredClone(valid.services[0]), hostname: 'x.bookinfo.svc.cluster.local', routes: [] }), /is also claimed by/],
    ['routes on a backend', edit('backends.+', { ...structuredClone(valid.services[0]), hostname: 'y.bookinfo.svc.cluster.local', vips: [] }), /backends carry no routes/],
  ];
  for (const [name, doc, message] of rows) {
    t.throws(() => readWaypointConfig(doc), WaypointConfigInvalid, `${name} is a WaypointConfigInvalid`);
    t.throws(() => readWaypointConfig(doc), message, name);
  }
});

t.test('compile-time refusals: regexes RE2 would refuse', async (t) => {
  const lookbehind = edit(`${route0}.matches.0.uri`, { regex: '(?<=a)b' });
  t.throws(() => compileRoutingTable(readWaypointConfig(lookbehind), 1), /services\[0\] \(reviews.bookinfo.svc.cluster.local\) routes\[0\].*lookaround/);
  const backreference = edit(`${route0}.rewrite`, { regex: { match: '(a)\\1', rewrite: 'x' } });
  t.throws(() => compileRoutingTable(readWaypointConfig(backreference), 1), /backreferences/);
});
