import t from 'tap';
import { validateResource } from '../../../../src/api/validate';
import { baseService, objectErrors, withFields } from '../helpers';

const S = 't.yaml:0: Service bookinfo/reviews';

t.test('a valid service gets type, protocol and targetPort defaults', async (t) => {
  const { located, errors } = validateResource(baseService(), { file: 'f', line: 0 });
  t.same(errors, []);
  t.same(located?.resource.spec, { type: 'ClusterIP', selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080, protocol: 'TCP', targetPort: 9080 }] });
  t.same(objectErrors(withFields(baseService(), { 'spec.ports': undefined, 'spec.clusterIP': 'None' })), [], 'headless needs no ports');
  t.same(objectErrors(withFields(baseService(), { 'spec.ports[0].targetPort': 'http', 'spec.ports[0].appProtocol': 'http', 'spec.clusterIP': '10.96.0.10' })), []);
  t.same(objectErrors(withFields(baseService(), { 'spec.ports[0].name': undefined })), [], 'a single port needs no name');
});

t.test('service rules', async (t) => {
  const rows: [string, Record<string, unknown>, string[]][] = [
    ['type in local mode', { 'spec.type': 'LoadBalancer' }, [`${S}: spec.type: "LoadBalancer" is not supported in local mode; use ClusterIP`]],
    ['type enum', { 'spec.type': 'Internal' }, [`${S}: spec.type: must be one of ClusterIP, NodePort, LoadBalancer, ExternalName (got "Internal")`]],
    ['clusterIP', { 'spec.clusterIP': '10.96.0.300' }, [`${S}: spec.clusterIP: "10.96.0.300" is not a valid IP address`]],
    ['ports needed', { 'spec.ports': undefined }, [`${S}: spec.ports: must have at least one port (or set clusterIP: None for a headless Service)`]],
    ['port required', { 'spec.ports[0].port': undefined }, [`${S}: spec.ports[0].port: required field is missing`]],
    ['port range', { 'spec.ports[0].port': 0 }, [`${S}: spec.ports[0].port: must be between 1 and 65535 (got 0)`]],
    ['targetPort number', { 'spec.ports[0].targetPort': 65536 }, [`${S}: spec.ports[0].targetPort: must be between 1 and 65535 (got 65536)`]],
    ['targetPort name', { 'spec.ports[0].targetPort': 'HTTP' }, [
      `${S}: spec.ports[0].targetPort: "HTTP" is not a valid port name (at most 15 lower case letters, digits and '-', with at least one letter)`,
    ]],
    ['targetPort type', { 'spec.ports[0].targetPort': true }, [`${S}: spec.ports[0].targetPort: must be an integer or a string (got true)`]],
    ['protocol', { 'spec.ports[0].protocol': 'HTTP' }, [`${S}: spec.ports[0].protocol: must be one of TCP, UDP, SCTP (got "HTTP")`]],
    ['names required with several ports', { 'spec.ports': [{ name: 'http', port: 80 }, { port: 81 }] }, [`${S}: spec.ports[1].name: required field is missing`]],
    ['names unique', { 'spec.ports': [{ name: 'http', port: 80 }, { name: 'http', port: 81 }] }, [`${S}: spec.ports[1].name: duplicate name "http" (also used by spec.ports[0])`]],
    ['port name is a DNS label', { 'spec.ports[0].name': 'HTTP' }, [
      `${S}: spec.ports[0].name: "HTTP" is not a valid DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
    ]],
    ['selector values', { 'spec.selector.app': 5 }, [`${S}: spec.selector.app: must be a string (got 5)`]],
    ['service name is a DNS-1035 label', { 'metadata.name': '1reviews' }, [
      `t.yaml:0: Service bookinfo/1reviews: metadata.name: "1reviews" is not a valid DNS-1035 label (lower case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters)`,
    ]],
    ['spec required', { spec: undefined }, [`${S}: spec: required field is missing`]],
  ];
  for (const [name, edits, want] of rows) t.same(objectErrors(withFields(baseService(), edits)), want, name);
});

t.test('kubernetes mode accepts every service type', async (t) => {
  t.same(objectErrors(withFields(baseService(), { 'spec.type': 'NodePort', 'spec.ports[0].nodePort': 30080 }), { mode: 'kubernetes' }), []);
  t.same(objectErrors(withFields(baseService(), { 'spec.type': 'ExternalName', 'spec.ports': undefined, 'spec.selector': undefined }), { mode: 'kubernetes' }), [
    `${S}: spec.externalName: required field is missing`,
  ]);
});
