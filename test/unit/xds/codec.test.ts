// Wire-compatibility of ambit's xDS protos with Istio's: encode known values and read the raw tags back with a
// bare protobuf Reader, so a wrong field number in a .proto fails here rather than against a real ztunnel.
import t from 'tap';
import * as protobuf from 'protobufjs';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  WAYPOINT_TYPE_URL,
  addressFromAny,
  addressToAny,
  authorizationToAny,
  decodeAddress,
  decodeAuthorization,
  decodeDeltaRequest,
  decodeWaypointConfig,
  encodeAddress,
  encodeAuthorization,
  encodeDeltaRequest,
  encodeDeltaResponse,
  encodeWaypointConfig,
  waypointConfigFromAny,
  waypointConfigToAny,
  XdsDecodeError,
  XdsEncodeError,
} from '../../../src/xds';

interface RawField {
  readonly wire: number;
  readonly varint?: number;
  readonly bytes?: Uint8Array;
}

/** Field number -> occurrences, read with nothing but protobuf's wire rules. */
function rawFields(bytes: Uint8Array): Map<number, RawField[]> {
  const reader = protobuf.Reader.create(bytes);
  const out = new Map<number, RawField[]>();
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    let entry: RawField;
    if (wire === 0) entry = { wire, varint: reader.uint32() };
    else if (wire === 2) entry = { wire, bytes: reader.bytes() };
    else {
      reader.skipType(wire);
      entry = { wire };
    }
    out.set(field, [...(out.get(field) ?? []), entry]);
  }
  return out;
}

function one(fields: Map<number, RawField[]>, n: number): RawField {
  const entries = fields.get(n);
  if (!entries || entries.length !== 1) throw new Error(`expected field ${n} exactly once, got ${entries?.length ?? 0}`);
  return entries[0]!;
}

function str(fields: Map<number, RawField[]>, n: number): string {
  return Buffer.from(one(fields, n).bytes ?? []).toString('utf8');
}

function sub(fields: Map<number, RawField[]>, n: number): Map<number, RawField[]> {
  return rawFields(one(fields, n).bytes ?? new Uint8Array());
}

function varint(fields: Map<number, RawField[]>, n: number): number | undefined {
  return one(fields, n).varint;
}

/** Packed repeated varints (proto3 default for repeated scalars). */
function packed(fields: Map<number, RawField[]>, n: number): number[] {
  const reader = protobuf.Reader.create(one(fields, n).bytes ?? new Uint8Array());
  const out: number[] = [];
  while (reader.pos < reader.len) out.push(reader.uint32());
  return out;
}

const IP_10_0_0_5 = new Uint8Array([10, 0, 0, 5]);
const IP_10_0_0_9 = new Uint8Array([10, 0, 0, 9]);

t.test('Workload fields carry Istio ztunnel field numbers', async (t) => {
  const bytes = encodeAddress({
    workload: {
      uid: 'Kubernetes//Pod/default/productpage-1',
      name: 'productpage-1',
      namespace: 'default',
      addresses: [IP_10_0_0_5],
      hostname: 'pp.example',
      network: 'net-a',
      tunnelProtocol: 'HBONE',
      trustDomain: 'example.org',
      serviceAccount: 'bookinfo-productpage',
      waypoint: { address: { network: 'net-a', address: IP_10_0_0_9 }, hboneMtlsPort: 15008 },
      networkGateway: { hostname: { namespace: 'istio-system', hostname: 'eastwest.example' }, hboneMtlsPort: 15009 },
      node: 'node-1',
      canonicalName: 'productpage',
      canonicalRevision: 'v1',
      workloadType: 'POD',
      workloadName: 'productpage-v1',
      nativeTunnel: true,
      applicationTunnel: { protocol: 'PROXY', port: 15088 },
      services: { 'default/productpage.default.svc.cluster.local': { ports: [{ servicePort: 9080, targetPort: 9081, appProtocol: 'HTTP11' }] } },
      authorizationPolicies: ['default/allow-reviews'],
      status: 'UNHEALTHY',
      clusterId: 'Kubernetes',
      locality: { region: 'r1', zone: 'z1', subzone: 's1' },
      networkMode: 'HOST_NETWORK',
      extensions: [{ name: 'ext', config: { typeUrl: 'type.googleapis.com/x.Y', value: new Uint8Array([1]) } }],
      capacity: 3,
    },
  });
  const address = rawFields(bytes);
  t.same([...address.keys()], [1], 'Address.workload is field 1');
  const w = sub(address, 1);
  t.equal(str(w, 20), 'Kubernetes//Pod/default/productpage-1', 'uid = 20');
  t.equal(str(w, 1), 'productpage-1', 'name = 1');
  t.equal(str(w, 2), 'default', 'namespace = 2');
  t.same([...(one(w, 3).bytes ?? [])], [10, 0, 0, 5], 'addresses = 3 (raw IP bytes)');
  t.equal(str(w, 21), 'pp.example', 'hostname = 21');
  t.equal(str(w, 4), 'net-a', 'network = 4');
  t.equal(varint(w, 5), 1, 'tunnel_protocol = 5, HBONE = 1');
  t.equal(str(w, 6), 'example.org', 'trust_domain = 6');
  t.equal(str(w, 7), 'bookinfo-productpage', 'service_account = 7');
  const waypoint = sub(w, 8);
  t.equal(varint(waypoint, 3), 15008, 'waypoint = 8, hbone_mtls_port = 3');
  const waypointAddress = sub(waypoint, 2);
  t.equal(str(waypointAddress, 1), 'net-a', 'GatewayAddress.address = 2, NetworkAddress.network = 1');
  t.same([...(one(waypointAddress, 2).bytes ?? [])], [10, 0, 0, 9], 'NetworkAddress.address = 2');
  const gateway = sub(w, 19);
  const gatewayHost = sub(gateway, 1);
  t.equal(str(gatewayHost, 1), 'istio-system', 'network_gateway = 19, hostname = 1, NamespacedHostname.namespace = 1');
  t.equal(str(gatewayHost, 2), 'eastwest.example', 'NamespacedHostname.hostname = 2');
  t.equal(str(w, 9), 'node-1', 'node = 9');
  t.equal(str(w, 10), 'productpage', 'canonical_name = 10');
  t.equal(str(w, 11), 'v1', 'canonical_revision = 11');
  t.equal(varint(w, 12), 2, 'workload_type = 12, POD = 2');
  t.equal(str(w, 13), 'productpage-v1', 'workload_name = 13');
  t.equal(varint(w, 14), 1, 'native_tunnel = 14');
  const appTunnel = sub(w, 23);
  t.equal(varint(appTunnel, 1), 1, 'application_tunnel = 23, protocol PROXY = 1');
  t.equal(varint(appTunnel, 2), 15088, 'ApplicationTunnel.port = 2');
  const serviceEntry = sub(w, 22);
  t.equal(str(serviceEntry, 1), 'default/productpage.default.svc.cluster.local', 'services = 22 (map key = 1)');
  const port = sub(sub(serviceEntry, 2), 1);
  t.equal(varint(port, 1), 9080, 'PortList.ports = 1, Port.service_port = 1');
  t.equal(varint(port, 2), 9081, 'Port.target_port = 2');
  t.equal(varint(port, 3), 1, 'Port.app_protocol = 3, HTTP11 = 1');
  t.equal(str(w, 16), 'default/allow-reviews', 'authorization_policies = 16');
  t.equal(varint(w, 17), 1, 'status = 17, UNHEALTHY = 1');
  t.equal(str(w, 18), 'Kubernetes', 'cluster_id = 18');
  const locality = sub(w, 24);
  t.same([str(locality, 1), str(locality, 2), str(locality, 3)], ['r1', 'z1', 's1'], 'locality = 24 {region 1, zone 2, subzone 3}');
  t.equal(varint(w, 25), 1, 'network_mode = 25, HOST_NETWORK = 1');
  const extension = sub(w, 26);
  t.equal(str(extension, 1), 'ext', 'extensions = 26, Extension.name = 1');
  t.equal(str(sub(extension, 2), 1), 'type.googleapis.com/x.Y', 'Extension.config = 2 (Any.type_url = 1)');
  t.equal(varint(sub(w, 27), 1), 3, 'capacity = 27 (UInt32Value.value = 1)');
  t.notOk(w.has(15), 'field 15 (reserved) never used');

  const decoded = decodeAddress(bytes);
  t.ok(decoded.workload, 'decodes back to a workload');
  t.equal(decoded.workload?.uid, 'Kubernetes//Pod/default/productpage-1');
  t.equal(decoded.workload?.tunnelProtocol, 'HBONE');
  t.equal(decoded.workload?.capacity, 3);
  t.same([...(decoded.workload?.addresses[0] ?? [])], [10, 0, 0, 5]);
  t.same(decoded.workload?.services['default/productpage.default.svc.cluster.local']?.ports, [
    { servicePort: 9080, targetPort: 9081, appProtocol: 'HTTP11' },
  ]);
  t.same(decoded.workload?.waypoint?.hboneMtlsPort, 15008);
  t.equal(decoded.workload?.waypoint?.hostname, undefined, 'unset oneof member stays absent');
  t.equal(decoded.workload?.extensions[0]?.config?.typeUrl, 'type.googleapis.com/x.Y');
});

t.test('Service fields carry Istio ztunnel field numbers', async (t) => {
  const bytes = encodeAddress({
    service: {
      name: 'reviews',
      namespace: 'default',
      hostname: 'reviews.default.svc.cluster.local',
      addresses: [{ network: 'net-a', address: new Uint8Array([10, 96, 0, 10]) }],
      ports: [{ servicePort: 9080, targetPort: 9080, appProtocol: 'HTTP2' }],
      subjectAltNames: ['spiffe://cluster.local/ns/default/sa/reviews'],
      waypoint: { hostname: { namespace: 'default', hostname: 'waypoint.default.svc.cluster.local' }, hboneMtlsPort: 15008 },
      loadBalancing: { routingPreference: ['NETWORK', 'ZONE'], mode: 'FAILOVER', healthPolicy: 'ALLOW_ALL' },
      ipFamilies: 'DUAL',
      canonical: true,
      ingressUseWaypoint: true,
    },
  });
  const address = rawFields(bytes);
  t.same([...address.keys()], [2], 'Address.service is field 2');
  const s = sub(address, 2);
  t.equal(str(s, 1), 'reviews', 'name = 1');
  t.equal(str(s, 2), 'default', 'namespace = 2');
  t.equal(str(s, 3), 'reviews.default.svc.cluster.local', 'hostname = 3');
  const vip = sub(s, 4);
  t.equal(str(vip, 1), 'net-a', 'addresses = 4 (network = 1)');
  t.same([...(one(vip, 2).bytes ?? [])], [10, 96, 0, 10], 'NetworkAddress.address = 2');
  const port = sub(s, 5);
  t.same([varint(port, 1), varint(port, 2), varint(port, 3)], [9080, 9080, 2], 'ports = 5 {service_port, target_port, app_protocol HTTP2 = 2}');
  t.equal(str(s, 6), 'spiffe://cluster.local/ns/default/sa/reviews', 'subject_alt_names = 6');
  t.equal(str(sub(sub(s, 7), 1), 2), 'waypoint.default.svc.cluster.local', 'waypoint = 7 (hostname oneof = 1)');
  const lb = sub(s, 8);
  t.same(packed(lb, 1), [6, 2], 'load_balancing = 8, routing_preference = 1 (NETWORK 6, ZONE 2)');
  t.equal(varint(lb, 2), 2, 'LoadBalancing.mode = 2, FAILOVER = 2');
  t.equal(varint(lb, 3), 1, 'LoadBalancing.health_policy = 3, ALLOW_ALL = 1');
  t.equal(varint(s, 9), 3, 'ip_families = 9, DUAL = 3');
  t.equal(varint(s, 11), 1, 'canonical = 11');
  t.equal(varint(s, 12), 1, 'ingress_use_waypoint = 12');

  const decoded = decodeAddress(bytes);
  t.equal(decoded.service?.hostname, 'reviews.default.svc.cluster.local');
  t.same(decoded.service?.loadBalancing?.routingPreference, ['NETWORK', 'ZONE']);
  t.equal(decoded.service?.waypoint?.hostname?.hostname, 'waypoint.default.svc.cluster.local');
  t.equal(decoded.workload, undefined);
});

t.test('Authorization, Rule, Clause and Match carry Istio ztunnel field numbers', async (t) => {
  const bytes = encodeAuthorization({
    name: 'allow-frontend',
    namespace: 'default',
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    dryRun: true,
    rules: [
      {
        clauses: [
          {
            matches: [
              {
                namespaces: [{ exact: 'frontend' }],
                notNamespaces: [{ suffix: '-test' }],
                principals: [{ prefix: 'cluster.local/ns/frontend/' }],
                notPrincipals: [{ presence: {} }],
                sourceIps: [{ address: new Uint8Array([10, 1, 0, 0]), length: 16 }],
                notSourceIps: [{ address: new Uint8Array([10, 1, 2, 0]), length: 24 }],
                destinationIps: [{ address: IP_10_0_0_5, length: 32 }],
                notDestinationIps: [{ address: IP_10_0_0_9, length: 32 }],
                destinationPorts: [8080, 9090],
                notDestinationPorts: [15000],
                serviceAccounts: [{ namespace: 'frontend', serviceAccount: 'web' }],
                notServiceAccounts: [{ namespace: 'frontend', serviceAccount: 'batch' }],
              },
            ],
          },
        ],
      },
    ],
  });
  const a = rawFields(bytes);
  t.equal(str(a, 1), 'allow-frontend', 'name = 1');
  t.equal(str(a, 2), 'default', 'namespace = 2');
  t.equal(varint(a, 3), 2, 'scope = 3, WORKLOAD_SELECTOR = 2');
  t.equal(varint(a, 4), 1, 'action = 4, DENY = 1');
  t.equal(varint(a, 6), 1, 'dry_run = 6');
  const rule = sub(a, 5);
  const clause = sub(rule, 1);
  const match = sub(clause, 2);
  t.pass('rules = 5 -> Rule.clauses = 1 -> Clause.matches = 2');
  t.equal(str(sub(match, 1), 1), 'frontend', 'namespaces = 1, StringMatch.exact = 1');
  t.equal(str(sub(match, 2), 3), '-test', 'not_namespaces = 2, StringMatch.suffix = 3');
  t.equal(str(sub(match, 3), 2), 'cluster.local/ns/frontend/', 'principals = 3, StringMatch.prefix = 2');
  const presence = sub(match, 4);
  t.same([...presence.keys()], [4], 'not_principals = 4, StringMatch.presence = 4');
  t.equal(one(presence, 4).bytes?.length, 0, 'presence is an empty google.protobuf.Empty');
  const src = sub(match, 5);
  t.same([...(one(src, 1).bytes ?? [])], [10, 1, 0, 0], 'source_ips = 5, Address.address = 1');
  t.equal(varint(src, 2), 16, 'Address.length = 2');
  t.equal(varint(sub(match, 6), 2), 24, 'not_source_ips = 6');
  t.same([...(one(sub(match, 7), 1).bytes ?? [])], [10, 0, 0, 5], 'destination_ips = 7');
  t.same([...(one(sub(match, 8), 1).bytes ?? [])], [10, 0, 0, 9], 'not_destination_ips = 8');
  t.same(packed(match, 9), [8080, 9090], 'destination_ports = 9 (packed)');
  t.same(packed(match, 10), [15000], 'not_destination_ports = 10');
  const sa = sub(match, 11);
  t.same([str(sa, 1), str(sa, 2)], ['frontend', 'web'], 'service_accounts = 11 {namespace = 1, service_account = 2}');
  t.equal(str(sub(match, 12), 2), 'batch', 'not_service_accounts = 12');

  const decoded = decodeAuthorization(bytes);
  t.equal(decoded.scope, 'WORKLOAD_SELECTOR');
  t.equal(decoded.action, 'DENY');
  t.equal(decoded.dryRun, true);
  const m = decoded.rules[0]?.clauses[0]?.matches[0];
  t.same(m?.namespaces, [{ exact: 'frontend' }], 'oneof StringMatch decodes to only the set member');
  t.same(m?.notPrincipals, [{ presence: {} }]);
  t.same(m?.destinationPorts, [8080, 9090]);
  t.same(m?.serviceAccounts, [{ namespace: 'frontend', serviceAccount: 'web' }]);
});

t.test('decodes bytes written by hand with Istio field numbers (independent of our .proto)', async (t) => {
  const workload = protobuf.Writer.create();
  workload.uint32((20 << 3) | 2).string('uid-7');
  workload.uint32((1 << 3) | 2).string('pod-7');
  workload.uint32((3 << 3) | 2).bytes(IP_10_0_0_5);
  workload.uint32((7 << 3) | 2).string('sa-7');
  workload.uint32((9 << 3) | 2).string('node-7');
  workload.uint32((5 << 3) | 0).uint32(1);
  workload.uint32((99 << 3) | 2).string('a field from a newer istiod');
  const address = protobuf.Writer.create();
  address.uint32((1 << 3) | 2).bytes(workload.finish());
  const decoded = decodeAddress(address.finish());
  t.equal(decoded.workload?.uid, 'uid-7');
  t.equal(decoded.workload?.name, 'pod-7');
  t.equal(decoded.workload?.serviceAccount, 'sa-7');
  t.equal(decoded.workload?.node, 'node-7');
  t.equal(decoded.workload?.tunnelProtocol, 'HBONE');
  t.same([...(decoded.workload?.addresses[0] ?? [])], [10, 0, 0, 5]);
  t.equal(decoded.workload?.namespace, '', 'absent scalar decodes to the proto3 default');
  t.equal(decoded.workload?.waypoint, undefined, 'absent message stays absent');
});

t.test('delta discovery messages carry Envoy field numbers', async (t) => {
  const request = rawFields(
    encodeDeltaRequest({
      node: { id: 'ztunnel~10.0.0.2~ztunnel-x.istio-system~istio-system.svc.cluster.local', cluster: 'c1', metadata: { NAME: 'ztunnel-x' } },
      typeUrl: ADDRESS_TYPE_URL,
      resourceNamesSubscribe: ['a'],
      resourceNamesUnsubscribe: ['b'],
      initialResourceVersions: { c: 'v1' },
      responseNonce: 'n1',
      errorDetail: { code: 3, message: 'bad' },
    }),
  );
  const node = sub(request, 1);
  t.match(str(node, 1), /^ztunnel~/, 'node = 1, Node.id = 1');
  t.equal(str(node, 2), 'c1', 'Node.cluster = 2');
  t.ok(node.has(3), 'Node.metadata = 3');
  t.equal(str(request, 2), ADDRESS_TYPE_URL, 'type_url = 2');
  t.equal(str(request, 3), 'a', 'resource_names_subscribe = 3');
  t.equal(str(request, 4), 'b', 'resource_names_unsubscribe = 4');
  const initial = sub(request, 5);
  t.same([str(initial, 1), str(initial, 2)], ['c', 'v1'], 'initial_resource_versions = 5 (map)');
  t.equal(str(request, 6), 'n1', 'response_nonce = 6');
  const status = sub(request, 7);
  t.same([varint(status, 1), str(status, 2)], [3, 'bad'], 'error_detail = 7 {code = 1, message = 2}');

  const roundTrip = decodeDeltaRequest(
    encodeDeltaRequest({ node: { id: 'n', metadata: { A: 'x', B: 2, C: true, D: ['y'], E: { F: null } } }, typeUrl: 't' }),
  );
  t.same(roundTrip.node?.metadata, { A: 'x', B: 2, C: true, D: ['y'], E: { F: null } }, 'Struct metadata round-trips as JSON');
  t.equal(roundTrip.errorDetail, undefined, 'no error_detail means no NACK');

  const response = rawFields(
    encodeDeltaResponse({
      systemVersionInfo: 's1',
      typeUrl: WAYPOINT_TYPE_URL,
      nonce: 'n2',
      removedResources: ['gone'],
      resources: [{ name: 'r', aliases: ['net/1.2.3.4'], version: 'v9', resource: { typeUrl: WAYPOINT_TYPE_URL, value: new Uint8Array([1]) } }],
    }),
  );
  t.equal(str(response, 1), 's1', 'system_version_info = 1');
  t.equal(str(response, 4), WAYPOINT_TYPE_URL, 'type_url = 4');
  t.equal(str(response, 5), 'n2', 'nonce = 5');
  t.equal(str(response, 6), 'gone', 'removed_resources = 6');
  const resource = sub(response, 2);
  t.equal(str(resource, 3), 'r', 'resources = 2, Resource.name = 3');
  t.equal(str(resource, 4), 'net/1.2.3.4', 'Resource.aliases = 4');
  t.equal(str(resource, 1), 'v9', 'Resource.version = 1');
  t.equal(str(sub(resource, 2), 1), WAYPOINT_TYPE_URL, 'Resource.resource = 2 (Any)');
});

t.test('Any helpers and waypoint config', async (t) => {
  const any = addressToAny({ workload: { uid: 'u1' } });
  t.equal(any.typeUrl, ADDRESS_TYPE_URL);
  t.equal(addressFromAny(any).workload?.uid, 'u1');
  t.equal(authorizationToAny({ name: 'p' }).typeUrl, AUTHORIZATION_TYPE_URL);
  t.throws(() => addressFromAny(authorizationToAny({ name: 'p' })), XdsDecodeError, 'type URL mismatch is a decode error');

  const config = { name: 'waypoint', namespace: 'default', json: '{"routes":[]}' };
  t.same(decodeWaypointConfig(encodeWaypointConfig(config)), config);
  t.same(waypointConfigFromAny(waypointConfigToAny(config)), config);
  t.equal(waypointConfigToAny(config).typeUrl, 'type.googleapis.com/ambit.waypoint.v1.WaypointConfig');
  const raw = rawFields(encodeWaypointConfig(config));
  t.same([str(raw, 1), str(raw, 2), str(raw, 3)], ['waypoint', 'default', '{"routes":[]}'], 'name = 1, namespace = 2, json = 3');
});

t.test('codec rejects what it cannot represent faithfully', async (t) => {
  t.throws(
    () => encodeAddress({ workload: { tunnelProtocol: 'QUIC' as 'HBONE' } }),
    XdsEncodeError,
    'unknown enum name on encode',
  );
  const w = protobuf.Writer.create();
  w.uint32((5 << 3) | 0).uint32(42);
  const address = protobuf.Writer.create();
  address.uint32((1 << 3) | 2).bytes(w.finish());
  t.throws(() => decodeAddress(address.finish()), /tunnelProtocol has value 42/, 'unknown enum value on decode');
  t.throws(() => decodeAddress(new Uint8Array(0)), /neither workload nor service/, 'empty Address');
  t.throws(() => decodeAddress(new Uint8Array([0x0a, 0xff])), XdsDecodeError, 'truncated bytes');
});
