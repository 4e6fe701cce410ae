// Which pods are captured, by Istio's default enablement rules: the whole table of pod label x namespace label x sidecar x host network.
import t from 'tap';
import { ambientDecision, isAmbientPod, type AmbientReason, type Labels } from '../../../src/cni/ambient';

const MODE = 'istio.io/dataplane-mode';
const SIDECAR = { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' };

interface Case {
  readonly name: string;
  readonly pod: Labels;
  readonly ns: Labels;
  readonly annotations?: Labels;
  readonly hostNetwork?: boolean;
  readonly ambient: boolean;
  readonly reason: AmbientReason;
}

const CASES: readonly Case[] = [
  { name: 'namespace ambient, pod unlabelled', pod: {}, ns: { [MODE]: 'ambient' }, ambient: true, reason: 'namespace-label' },
  { name: 'namespace ambient, pod opts out with none', pod: { [MODE]: 'none' }, ns: { [MODE]: 'ambient' }, ambient: false, reason: 'pod-opted-out' },
  { name: 'namespace ambient, pod label has another value', pod: { [MODE]: 'sidecar' }, ns: { [MODE]: 'ambient' }, ambient: true, reason: 'namespace-label' },
  { name: 'namespace unlabelled, pod ambient', pod: { [MODE]: 'ambient' }, ns: {}, ambient: true, reason: 'pod-label' },
  { name: 'namespace none, pod ambient: the pod label wins', pod: { [MODE]: 'ambient' }, ns: { [MODE]: 'none' }, ambient: true, reason: 'pod-label' },
  { name: 'nothing labelled', pod: {}, ns: {}, ambient: false, reason: 'not-enrolled' },
  { name: 'pod none in an unlabelled namespace', pod: { [MODE]: 'none' }, ns: {}, ambient: false, reason: 'pod-opted-out' },
  { name: 'namespace label with another value', pod: {}, ns: { [MODE]: 'Ambient' }, ambient: false, reason: 'not-enrolled' },
  { name: 'unrelated labels only', pod: { app: 'web', 'istio-injection': 'enabled' }, ns: { 'istio-injection': 'enabled' }, ambient: false, reason: 'not-enrolled' },
  { name: 'sidecar-injected pod in an ambient namespace', pod: {}, ns: { [MODE]: 'ambient' }, annotations: SIDECAR, ambient: false, reason: 'sidecar-injected' },
  { name: 'sidecar-injected pod labelled ambient', pod: { [MODE]: 'ambient' }, ns: {}, annotations: SIDECAR, ambient: false, reason: 'sidecar-injected' },
  { name: 'sidecar status annotation present but empty', pod: { [MODE]: 'ambient' }, ns: {}, annotations: { 'sidecar.istio.io/status': '' }, ambient: false, reason: 'sidecar-injected' },
  { name: 'other istio annotations do not matter', pod: {}, ns: { [MODE]: 'ambient' }, annotations: { 'sidecar.istio.io/inject': 'false' }, ambient: true, reason: 'namespace-label' },
  { name: 'host-network pod labelled ambient', pod: { [MODE]: 'ambient' }, ns: { [MODE]: 'ambient' }, hostNetwork: true, ambient: false, reason: 'host-network' },
  { name: 'host-network and sidecar: host network is reported', pod: {}, ns: { [MODE]: 'ambient' }, annotations: SIDECAR, hostNetwork: true, ambient: false, reason: 'host-network' },
];

t.test('the ambient decision table', async (t) => {
  for (const c of CASES) {
    t.same(ambientDecision(c.pod, c.ns, c.annotations ?? {}, c.hostNetwork), { ambient: c.ambient, reason: c.reason }, c.name);
    t.equal(isAmbientPod(c.pod, c.ns, c.annotations ?? {}, c.hostNetwork), c.ambient, `${c.name} (isAmbientPod)`);
  }
});

t.test('labels inherited from Object.prototype are not read as annotations', async (t) => {
  t.equal(isAmbientPod({}, { [MODE]: 'ambient' }, Object.create({ 'sidecar.istio.io/status': 'x' }) as Labels), true);
});
