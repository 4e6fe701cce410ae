import t from 'tap';
import { objectErrors, textErrors, withFields, type Obj } from '../helpers';

const G = 't.yaml:0: Gateway bookinfo/waypoint';

function base(): Obj {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'waypoint', namespace: 'bookinfo', labels: { 'istio.io/waypoint-for': 'service' } },
    spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  };
}

t.test('valid gateways', async (t) => {
  t.same(objectErrors(base()), []);
  t.same(objectErrors(withFields(base(), { apiVersion: 'gateway.networking.k8s.io/v1beta1' })), []);
  for (const v of ['service', 'workload', 'all', 'none']) t.same(objectErrors(withFields(base(), { 'metadata.labels': { 'istio.io/waypoint-for': v } })), [], v);
  t.same(objectErrors(withFields(base(), { 'metadata.labels': undefined })), [], 'the label is optional');
  t.same(objectErrors(withFields(base(), {
    'spec.gatewayClassName': 'istio',
    'spec.listeners': [{ name: 'http', port: 80, protocol: 'HTTP', hostname: '*.example.com' }, { name: 'https', port: 443, protocol: 'HTTPS', tls: { mode: 'Terminate' } }],
  })), [], 'other classes may have any listeners');
});

t.test('gateway rules', async (t) => {
  const rows: [string, Record<string, unknown>, string[]][] = [
    ['class required', { 'spec.gatewayClassName': undefined }, [`${G}: spec.gatewayClassName: required field is missing`]],
    ['listeners required', { 'spec.listeners': undefined }, [`${G}: spec.listeners: required field is missing`]],
    ['waypoint-for values', { 'metadata.labels': { 'istio.io/waypoint-for': 'services' } }, [
      `${G}: metadata.labels["istio.io/waypoint-for"]: must be one of service, workload, all, none (got "services")`,
    ]],
    ['waypoint port', { 'spec.listeners[0].port': 15001 }, [`${G}: spec.listeners[0].port: must be 15008 for a waypoint (gatewayClassName istio-waypoint) (got 15001)`]],
    ['waypoint protocol', { 'spec.listeners[0].protocol': 'HTTP' }, [`${G}: spec.listeners[0].protocol: must be HBONE for a waypoint (gatewayClassName istio-waypoint) (got "HTTP")`]],
    ['waypoint has one listener', { 'spec.listeners[1]': { name: 'http', port: 80, protocol: 'HTTP' } }, [
      `${G}: spec.listeners: a waypoint (gatewayClassName istio-waypoint) must have exactly one listener, {port: 15008, protocol: HBONE} (got 2)`,
    ]],
    ['listener name required', { 'spec.listeners[0].name': undefined }, [`${G}: spec.listeners[0].name: required field is missing`]],
    ['listener names unique', { 'spec.gatewayClassName': 'istio', 'spec.listeners[1]': { name: 'mesh', port: 80, protocol: 'HTTP' } }, [
      `${G}: spec.listeners[1].name: duplicate name "mesh" (also used by spec.listeners[0])`,
    ]],
    ['listener port range', { 'spec.listeners[0].port': 0 }, [`${G}: spec.listeners[0].port: must be between 1 and 65535 (got 0)`]],
    ['listener hostname', { 'spec.gatewayClassName': 'istio', 'spec.listeners[0].hostname': '10.0.0.1' }, [
      `${G}: spec.listeners[0].hostname: "10.0.0.1" is not a valid hostname (lower case DNS name, optionally with a "*." prefix; no IP address or port)`,
    ]],
    ['listeners not empty', { 'spec.listeners': [] }, [`${G}: spec.listeners: must not be empty`]],
  ];
  for (const [name, edits, want] of rows) t.same(objectErrors(withFields(base(), edits)), want, name);
});

t.test('a waypoint listener error points at its line', async (t) => {
  const text = 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: waypoint\nspec:\n  gatewayClassName: istio-waypoint\n  listeners:\n  - name: mesh\n    port: 15008\n    protocol: HTTP\n';
  t.same(textErrors(text), ['m.yaml:10: Gateway default/waypoint: spec.listeners[0].protocol: must be HBONE for a waypoint (gatewayClassName istio-waypoint) (got "HTTP")']);
});
