// Pod placement: the node running the fewest pods wins, lowest index on ties.
import t from 'tap';
import { chooseNode } from '../../../src/local/scheduler';

t.test('chooseNode picks the least loaded node, first on ties', async (t) => {
  const nodes = ['node-1', 'node-2', 'node-3'];
  const rows: { name: string; counts: [string, number][]; want: string }[] = [
    { name: 'empty cluster', counts: [], want: 'node-1' },
    { name: 'all equal', counts: [['node-1', 2], ['node-2', 2], ['node-3', 2]], want: 'node-1' },
    { name: 'a node not in the map has no pods', counts: [['node-1', 1], ['node-2', 1]], want: 'node-3' },
    { name: 'least loaded in the middle', counts: [['node-1', 3], ['node-2', 1], ['node-3', 2]], want: 'node-2' },
    { name: 'tie between the last two', counts: [['node-1', 5], ['node-2', 1], ['node-3', 1]], want: 'node-2' },
    { name: 'counts for unknown nodes are ignored', counts: [['node-9', 0], ['node-1', 1], ['node-2', 1], ['node-3', 1]], want: 'node-1' },
  ];
  for (const row of rows) t.equal(chooseNode(nodes, new Map(row.counts)), row.want, row.name);
  t.equal(chooseNode(['only'], new Map([['only', 40]])), 'only');
});

t.test('spreading pods one at a time fills nodes round-robin', async (t) => {
  const nodes = ['node-1', 'node-2', 'node-3'];
  const counts = new Map<string, number>();
  const placed: string[] = [];
  for (let i = 0; i < 7; i++) {
    const node = chooseNode(nodes, counts);
    counts.set(node, (counts.get(node) ?? 0) + 1);
    placed.push(node);
  }
  t.same(placed, ['node-1', 'node-2', 'node-3', 'node-1', 'node-2', 'node-3', 'node-1']);
});
