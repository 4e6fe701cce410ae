// Host-visible names of a local cluster: what it creates, what it claims when sweeping, and which cluster names it accepts.
import t from 'tap';
import { ClusterNames, InvalidClusterName } from '../../../src/local/cluster-names';

t.test('names derived from the cluster name', async (t) => {
  const names = new ClusterNames('ambit');
  t.equal(names.cluster, 'ambit');
  t.equal(names.fabric, 'ambit-fabric');
  t.equal(names.controlPlane, 'ambit-controlplane');
  t.equal(names.node(2), 'node-2');
  t.equal(names.nodeNetns('node-2'), 'ambit-node-2');
  t.equal(names.podNetns('apps', 'web-1'), 'ambit-pod-apps.web-1');
  t.not(names.podNetns('a-b', 'c'), names.podNetns('a', 'b-c'), 'pods in different namespaces never share a netns name');
  t.equal(ClusterNames.etcNetnsDir('ambit-pod-apps-web-1'), '/etc/netns/ambit-pod-apps-web-1');
});

t.test('owns() claims this cluster\'s names and never another cluster\'s', async (t) => {
  const names = new ClusterNames('ambit');
  const rows: [string, boolean][] = [
    ['ambit-fabric', true],
    ['ambit-controlplane', true],
    ['ambit-node-1', true],
    ['ambit-node-12', true],
    ['ambit-pod-x-y', true],
    ['ambit-pod-apps-web-5f7c9-abcde', true],
    [names.podNetns('default', 'p'), true],
    ['ambitx-node-1', false],
    ['ambitx-fabric', false],
    ['ambit2-pod-a-b', false],
    ['ambit-nodes', false],
    ['ambit-node-', false],
    ['ambit-node-x', false],
    ['ambit-pod-', false],
    ['ambit-fabric2', false],
    ['ambit', false],
    ['xambit-node-1', false],
    ['tlocal-1234', false],
    ['other-node-1', false],
  ];
  for (const [name, want] of rows) t.equal(names.owns(name), want, name);
  const other = new ClusterNames('ambitx');
  t.ok(other.owns('ambitx-node-1'));
  t.notOk(other.owns('ambit-node-1'));
});

t.test('invalid cluster names are refused with the rule', async (t) => {
  for (const bad of ['Bad', 'a-b', '1abc', 'a'.repeat(17), '', 'a_b', 'a.b']) {
    t.throws(
      () => new ClusterNames(bad),
      {
        constructor: InvalidClusterName,
        code: 'INVALID_CLUSTER_NAME',
        clusterName: bad,
        message: `invalid cluster name "${bad}": use 1-16 lowercase letters and digits, starting with a letter (no dashes, so one cluster's names never prefix another's)`,
      },
      JSON.stringify(bad),
    );
  }
  for (const good of ['a', 'ambit', 'tcli1234abcd', 'a'.repeat(16), 'x9']) t.equal(new ClusterNames(good).cluster, good);
});
