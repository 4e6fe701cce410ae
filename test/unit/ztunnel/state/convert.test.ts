// xDS Address -> the ztunnel's state: the fields the outbound planner needs for locality-aware choice survive decoding.
import t from 'tap';
import { addressState } from '../../../../src/ztunnel/state/convert';
import { decodeAddress, encodeAddress, ipToBytes, type AddressInput } from '../../../../src/xds';

function roundTrip(input: AddressInput) {
  return addressState('r', decodeAddress(encodeAddress(input)));
}

t.test('workload locality, network and cluster; service load balancing', async (t) => {
  const workload = roundTrip({
    workload: { uid: 'Kubernetes//Pod/apps/web-1', name: 'web-1', namespace: 'apps', addresses: [ipToBytes('10.44.1.2')], node: 'node-1', clusterId: 'Kubernetes', locality: { region: 'r1', zone: 'z1', subzone: '' } },
  } as AddressInput);
  t.match(workload, { kind: 'workload', workload: { node: 'node-1', network: '', clusterId: 'Kubernetes', locality: { region: 'r1', zone: 'z1', subzone: '' } } });
  const bare = roundTrip({ workload: { uid: 'u', name: 'n', namespace: 'apps', addresses: [ipToBytes('10.44.1.3')] } } as AddressInput);
  t.match(bare, { workload: { locality: { region: '', zone: '', subzone: '' } } }, 'no locality: empty scopes');

  const service = roundTrip({
    service: { name: 'web', namespace: 'apps', hostname: 'web.apps.svc.cluster.local', addresses: [{ network: '', address: ipToBytes('10.96.0.5') }], ports: [], loadBalancing: { routingPreference: ['NODE'], mode: 'STRICT', healthPolicy: 'ONLY_HEALTHY' } },
  } as AddressInput);
  t.match(service, { kind: 'service', service: { loadBalancing: { routingPreference: ['NODE'], mode: 'STRICT' } } });
  const plain = roundTrip({ service: { name: 'web', namespace: 'apps', hostname: 'web.apps.svc.cluster.local', addresses: [], ports: [] } } as AddressInput);
  t.equal(plain.kind === 'service' ? plain.service.loadBalancing : 'x', undefined, 'no preference: none');
  t.throws(() => addressState('r', {} as never), { code: 'INVALID_ADDRESS_RESOURCE', message: 'resource r: Address has neither workload nor service' });
});
