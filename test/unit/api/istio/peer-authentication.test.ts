import t from 'tap';
import { objectErrors, textErrors, withFields, type Obj } from '../helpers';

const P = 't.yaml:0: PeerAuthentication bookinfo/strict';

function base(): Obj {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'strict', namespace: 'bookinfo' },
    spec: { selector: { matchLabels: { app: 'reviews' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'PERMISSIVE' } } },
  };
}

t.test('peer authentication rules', async (t) => {
  t.same(objectErrors(base()), []);
  t.same(objectErrors(withFields(base(), { apiVersion: 'security.istio.io/v1beta1', 'spec.selector': undefined, 'spec.portLevelMtls': undefined })), [], 'namespace-wide');
  const rows: [string, Record<string, unknown>, string[]][] = [
    ['mode enum', { 'spec.mtls.mode': 'ON' }, [`${P}: spec.mtls.mode: must be one of UNSET, DISABLE, PERMISSIVE, STRICT (got "ON")`]],
    ['port-level mode enum', { 'spec.portLevelMtls': { '8080': { mode: 'strict' } } }, [`${P}: spec.portLevelMtls["8080"].mode: must be one of UNSET, DISABLE, PERMISSIVE, STRICT (got "strict")`]],
    ['port keys are ports', { 'spec.portLevelMtls': { http: { mode: 'DISABLE' } } }, [`${P}: spec.portLevelMtls.http: "http" is not a port number (1-65535)`]],
    ['port key range', { 'spec.portLevelMtls': { '0': { mode: 'DISABLE' } } }, [`${P}: spec.portLevelMtls["0"]: "0" is not a port number (1-65535)`]],
    ['port-level needs a selector', { 'spec.selector': undefined }, [
      `${P}: spec.portLevelMtls: requires a selector with matchLabels: port-level settings apply only to selected workloads`,
    ]],
    ['unknown mtls field', { 'spec.mtls.mdoe': 'STRICT' }, [`${P}: spec.mtls: unknown field "mdoe" (did you mean "mode"?)`]],
  ];
  for (const [name, edits, want] of rows) t.same(objectErrors(withFields(base(), edits)), want, name);
});

t.test('numeric YAML map keys are port numbers and point at their line', async (t) => {
  const text = 'apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata:\n  name: pa\nspec:\n  selector:\n    matchLabels: {app: a}\n  portLevelMtls:\n    8080:\n      mode: DISABLE\n    99999:\n      mode: DISABLE\n';
  t.same(textErrors(text), ['m.yaml:11: PeerAuthentication default/pa: spec.portLevelMtls["99999"]: "99999" is not a port number (1-65535)']);
});
