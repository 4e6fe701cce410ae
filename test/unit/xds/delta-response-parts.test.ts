// A DeltaDiscoveryResponse assembled from pre-encoded Resources decodes exactly as one encoded whole, field for field.
import t from 'tap';
import { decodeDeltaResponse, encodeAddress, encodeDeltaResponse, ADDRESS_TYPE_URL, type DeltaDiscoveryResponse } from '../../../src/xds';
import { assembleDeltaResponse, encodeResourceMessage } from '../../../src/xds/delta-response-parts';
import { EncodedResources } from '../../../src/controlplane/push/encoded-resources';

const workload = encodeAddress({ workload: { uid: 'Kubernetes//Pod/apps/web-1', name: 'web-1', namespace: 'apps', addresses: [Buffer.from([10, 44, 1, 2])], serviceAccount: 'web', node: 'node-1' } } as never);
const resources = [
  { name: 'Kubernetes//Pod/apps/web-1', version: 'v7', aliases: ['/10.44.1.2'], typeUrl: ADDRESS_TYPE_URL, value: workload },
  { name: 'apps/empty', version: '', aliases: [], typeUrl: ADDRESS_TYPE_URL, value: new Uint8Array() },
];

t.test('assembled and whole encodings decode to the same response', async (t) => {
  const content = { systemVersionInfo: '12', typeUrl: ADDRESS_TYPE_URL, nonce: '3-9', removedResources: ['apps/gone', 'apps/old'] };
  const whole = encodeDeltaResponse({
    ...content,
    resources: resources.map((r) => ({ name: r.name, version: r.version, aliases: [...r.aliases], resource: { typeUrl: r.typeUrl, value: r.value } })),
  } as DeltaDiscoveryResponse);
  const assembled = assembleDeltaResponse({ ...content, resources: resources.map(encodeResourceMessage) });
  t.same(decodeDeltaResponse(assembled), decodeDeltaResponse(whole));
  t.equal(assembled.length, whole.length, 'and they are the same size');
  const decoded = decodeDeltaResponse(assembled);
  t.same(decoded.resources.map((r) => [r.name, r.version, r.aliases]), [['Kubernetes//Pod/apps/web-1', 'v7', ['/10.44.1.2']], ['apps/empty', '', []]]);
  t.same(Buffer.from(decoded.resources[0].resource?.value ?? []), Buffer.from(workload), 'the resource bytes pass through untouched');
});

t.test('an empty response is still a valid response', async (t) => {
  const decoded = decodeDeltaResponse(assembleDeltaResponse({ systemVersionInfo: '', typeUrl: ADDRESS_TYPE_URL, nonce: '1-1', resources: [], removedResources: [] }));
  t.match(decoded, { typeUrl: ADDRESS_TYPE_URL, nonce: '1-1', resources: [], removedResources: [] });
});

t.test('the encoded-resource cache encodes a catalog entry once, per name', async (t) => {
  const cache = new EncodedResources();
  const entry = { version: 'v1', resource: workload };
  const first = cache.bytes(ADDRESS_TYPE_URL, 'a', entry);
  t.equal(cache.bytes(ADDRESS_TYPE_URL, 'a', entry), first, 'the same bytes object on the second push');
  t.same([cache.hits, cache.misses], [1, 1]);
  t.not(cache.bytes(ADDRESS_TYPE_URL, 'b', entry), first, 'a different name is a different Resource');
  t.same(Buffer.from(cache.bytes(ADDRESS_TYPE_URL, 'a', { version: 'v2', resource: workload })), Buffer.from(encodeResourceMessage({ name: 'a', version: 'v2', aliases: [], typeUrl: ADDRESS_TYPE_URL, value: workload })), 'a new entry (version) is encoded afresh');
});
