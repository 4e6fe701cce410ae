// The local address plan: node and pod ranges, pod IP allocation, ClusterIP allocation and CIDR membership.
import t from 'tap';
import { addressPlan, allocateClusterIp, ipInCidr, MAX_NODES, PodIpAllocator } from '../../../src/local/address-plan';

t.test('addressPlan for one node', async (t) => {
  t.same(addressPlan(1), {
    underlayCidr: '10.99.0.0/24',
    underlayPrefixLength: 24,
    controlPlaneIp: '10.99.0.2',
    serviceCidr: '10.96.0.0/16',
    nodes: [{ name: 'node-1', underlayIp: '10.99.0.11', podCidr: '10.44.1.0/24', podPrefix: '10.44.1' }],
    podGateway: '169.254.1.1',
    podGatewayMac: 'ee:ee:ee:ee:ee:ee',
  });
});

t.test('addressPlan for three nodes numbers each node and its pod range', async (t) => {
  t.same(addressPlan(3).nodes, [
    { name: 'node-1', underlayIp: '10.99.0.11', podCidr: '10.44.1.0/24', podPrefix: '10.44.1' },
    { name: 'node-2', underlayIp: '10.99.0.12', podCidr: '10.44.2.0/24', podPrefix: '10.44.2' },
    { name: 'node-3', underlayIp: '10.99.0.13', podCidr: '10.44.3.0/24', podPrefix: '10.44.3' },
  ]);
});

t.test('the largest plan stays inside its ranges', async (t) => {
  t.equal(MAX_NODES, 50);
  const plan = addressPlan(MAX_NODES);
  t.equal(plan.nodes.length, 50);
  const last = plan.nodes[49];
  t.same(last, { name: 'node-50', underlayIp: '10.99.0.60', podCidr: '10.44.50.0/24', podPrefix: '10.44.50' });
  for (const node of plan.nodes) {
    t.ok(ipInCidr(node.underlayIp, plan.underlayCidr), `${node.name} underlay in ${plan.underlayCidr}`);
    t.not(node.underlayIp, plan.controlPlaneIp);
  }
});

t.test('addressPlan refuses node counts outside 1..MAX_NODES', async (t) => {
  for (const count of [0, -1, 51, 1.5, Number.NaN]) {
    t.throws(() => addressPlan(count), new RangeError(`--nodes must be an integer from 1 to 50, got ${count}`), String(count));
  }
});

t.test('PodIpAllocator hands out .2 upwards, reuses released addresses, and says when the node is full', async (t) => {
  const node = addressPlan(2).nodes[1];
  const allocator = new PodIpAllocator(node);
  t.equal(allocator.allocate(), '10.44.2.2');
  t.equal(allocator.allocate(), '10.44.2.3');
  t.equal(allocator.allocate(), '10.44.2.4');
  allocator.release('10.44.2.3');
  t.equal(allocator.allocate(), '10.44.2.3', 'the lowest free address comes first');
  t.equal(allocator.allocate(), '10.44.2.5');
  allocator.release('10.44.2.200');
  t.equal(allocator.allocate(), '10.44.2.6', 'releasing an address never given out changes nothing');

  const full = new PodIpAllocator(node);
  const all = new Set<string>();
  for (let i = 0; i < 253; i++) all.add(full.allocate());
  t.equal(all.size, 253, 'every address from .2 to .254 once');
  t.ok(all.has('10.44.2.254') && !all.has('10.44.2.1') && !all.has('10.44.2.255'));
  t.throws(() => full.allocate(), { message: 'node node-2 has no free pod address left in 10.44.2.0/24' });
  full.release('10.44.2.77');
  t.equal(full.allocate(), '10.44.2.77');
});

t.test('allocateClusterIp starts at .0.10, skips taken addresses and .0/.255 hosts', async (t) => {
  const rows: { name: string; taken: string[]; want: string }[] = [
    { name: 'empty', taken: [], want: '10.96.0.10' },
    { name: 'first taken', taken: ['10.96.0.10'], want: '10.96.0.11' },
    { name: 'gap', taken: ['10.96.0.10', '10.96.0.12'], want: '10.96.0.11' },
    { name: 'addresses below .10 do not matter', taken: ['10.96.0.1', '10.96.0.9'], want: '10.96.0.10' },
    { name: 'first third octet full', taken: Array.from({ length: 245 }, (_, i) => `10.96.0.${10 + i}`), want: '10.96.1.1' },
  ];
  for (const row of rows) t.equal(allocateClusterIp('10.96.0.0/16', new Set(row.taken)), row.want, row.name);
  t.equal(allocateClusterIp('10.200.0.0/16', new Set()), '10.200.0.10', 'follows the CIDR it is given');
});

t.test('allocateClusterIp says when the range is exhausted', async (t) => {
  const taken = new Set<string>();
  for (let third = 0; third < 256; third++) for (let fourth = 1; fourth < 255; fourth++) taken.add(`10.96.${third}.${fourth}`);
  t.throws(() => allocateClusterIp('10.96.0.0/16', taken), { message: 'service CIDR 10.96.0.0/16 is exhausted' });
});

t.test('ipInCidr', async (t) => {
  const rows: [string, string, boolean][] = [
    ['10.96.0.10', '10.96.0.0/16', true],
    ['10.96.255.255', '10.96.0.0/16', true],
    ['10.97.0.1', '10.96.0.0/16', false],
    ['10.95.255.255', '10.96.0.0/16', false],
    ['10.44.1.7', '10.44.1.0/24', true],
    ['10.44.2.7', '10.44.1.0/24', false],
    ['192.168.1.1', '192.168.0.0/16', true],
    ['192.169.1.1', '192.168.0.0/16', false],
    ['255.255.255.255', '255.255.255.0/24', true],
    ['200.1.2.3', '0.0.0.0/0', true],
    ['1.2.3.4', '1.2.3.4/32', true],
    ['1.2.3.5', '1.2.3.4/32', false],
    ['172.31.0.1', '172.16.0.0/12', true],
    ['172.32.0.1', '172.16.0.0/12', false],
  ];
  for (const [ip, cidr, want] of rows) t.equal(ipInCidr(ip, cidr), want, `${ip} in ${cidr}`);
});
