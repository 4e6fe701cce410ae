import t from 'tap';
import { objectErrors, withFields, type Obj } from '../helpers';

const S = 't.yaml:0: ServiceEntry bookinfo/external-api';

function base(): Obj {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: 'external-api', namespace: 'bookinfo' },
    spec: {
      hosts: ['api.example.com'],
      location: 'MESH_EXTERNAL',
      ports: [{ number: 443, name: 'https', protocol: 'TLS' }, { number: 80, name: 'http', protocol: 'http', targetPort: 8080 }],
      resolution: 'DNS',
    },
  };
}

t.test('valid service entries', async (t) => {
  t.same(objectErrors(base()), []);
  t.same(objectErrors(withFields(base(), {
    'spec.hosts': ['db.internal'], 'spec.addresses': ['10.10.0.0/16', '10.20.0.1'], 'spec.resolution': 'STATIC', 'spec.location': 'MESH_INTERNAL',
    'spec.endpoints': [{ address: '10.10.0.5', ports: { https: 8443 }, labels: { app: 'db' } }, { address: 'unix:///var/run/db.sock' }],
  })), []);
  t.same(objectErrors(withFields(base(), { 'spec.resolution': 'STATIC', 'spec.workloadSelector': { labels: { app: 'vm' } } })), []);
  t.same(objectErrors(withFields(base(), { 'spec.hosts': ['*.example.com'], 'spec.resolution': 'NONE' })), []);
});

t.test('service entry rules', async (t) => {
  const rows: [string, Record<string, unknown>, string[]][] = [
    ['hosts required', { 'spec.hosts': undefined }, [`${S}: spec.hosts: required field is missing`]],
    ['"*" host', { 'spec.hosts': ['*'], 'spec.resolution': 'NONE' }, [`${S}: spec.hosts[0]: "*" is not allowed in a ServiceEntry; name the hosts it adds`]],
    ['wildcard with DNS', { 'spec.hosts': ['*.example.com'] }, [
      `${S}: spec.hosts[0]: wildcard host "*.example.com" cannot be resolved with DNS; add endpoints or use resolution NONE`,
    ]],
    ['addresses', { 'spec.addresses': ['10.0.0.0/40'] }, [`${S}: spec.addresses[0]: "10.0.0.0/40" is not a valid IP address or CIDR`]],
    ['port number required', { 'spec.ports[0].number': undefined }, [`${S}: spec.ports[0].number: required field is missing`]],
    ['port name required', { 'spec.ports[0].name': undefined }, [`${S}: spec.ports[0].name: required field is missing`]],
    ['port protocol', { 'spec.ports[0].protocol': 'QUIC' }, [
      `${S}: spec.ports[0].protocol: unknown protocol "QUIC" (supported: HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, MONGO, MYSQL, REDIS, TCP, TLS, UDP, THRIFT)`,
    ]],
    ['port names unique', { 'spec.ports[1].name': 'https' }, [`${S}: spec.ports[1].name: duplicate name "https" (also used by spec.ports[0])`]],
    ['port numbers unique', { 'spec.ports[1].number': 443 }, [`${S}: spec.ports[1].number: duplicate port 443 (also used by ports[0])`]],
    ['location', { 'spec.location': 'EXTERNAL' }, [`${S}: spec.location: must be one of MESH_EXTERNAL, MESH_INTERNAL (got "EXTERNAL")`]],
    ['resolution', { 'spec.resolution': 'DNS_RR' }, [`${S}: spec.resolution: must be one of NONE, STATIC, DNS, DNS_ROUND_ROBIN (got "DNS_RR")`]],
    ['STATIC needs endpoints', { 'spec.resolution': 'STATIC' }, [`${S}: spec.endpoints: resolution STATIC needs endpoints (or a workloadSelector)`]],
    ['endpoints or workloadSelector', { 'spec.endpoints': [{ address: '1.2.3.4' }], 'spec.workloadSelector': { labels: { a: 'b' } } }, [
      `${S}: spec: only one of endpoints, workloadSelector may be set (found endpoints, workloadSelector)`,
    ]],
    ['endpoint address', { 'spec.endpoints': [{ address: 'not an address' }] }, [`${S}: spec.endpoints[0].address: "not an address" is not an IP address, host name or unix:// path`]],
    ['endpoint ports', { 'spec.endpoints': [{ address: '1.2.3.4', ports: { https: 0 } }] }, [`${S}: spec.endpoints[0].ports.https: must be between 1 and 65535 (got 0)`]],
  ];
  for (const [name, edits, want] of rows) t.same(objectErrors(withFields(base(), edits)), want, name);
});
