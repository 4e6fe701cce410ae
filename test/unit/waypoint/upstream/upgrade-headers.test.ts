// Which headers an upgrade request takes upstream and an upstream 101 brings back: Connection and Upgrade survive only there.
import t from 'tap';
import { forwardableRequestHeaders, switchingProtocolsHeaders, upgradeRequestHeaders } from '../../../../src/waypoint/upstream/headers';

t.test('an upgrade keeps Connection: Upgrade and the client\'s Upgrade value; other hop-by-hop headers still go', async (t) => {
  const client = { connection: 'keep-alive, Upgrade', upgrade: 'websocket', 'keep-alive': 'timeout=5', 'sec-websocket-key': 'k', host: 'svc', 'proxy-authorization': 'x' };
  const filtered = forwardableRequestHeaders(client);
  t.same(filtered, { 'sec-websocket-key': 'k' }, 'the normal request path still strips them');
  t.same(upgradeRequestHeaders(client, { ...filtered, 'x-request-id': 'id' }), { 'sec-websocket-key': 'k', 'x-request-id': 'id', connection: 'Upgrade', upgrade: 'websocket' });
});

t.test('the client\'s transfer-encoding stays with an upgrade: its bytes are relayed unchanged', async (t) => {
  const client = { connection: 'upgrade', upgrade: 'websocket', 'transfer-encoding': 'chunked' };
  t.same(upgradeRequestHeaders(client, forwardableRequestHeaders(client)), { connection: 'Upgrade', upgrade: 'websocket', 'transfer-encoding': 'chunked' });
});

t.test('route header operations are not undone', async (t) => {
  t.same(upgradeRequestHeaders({ connection: 'upgrade', upgrade: 'websocket' }, { 'x-set': 'yes' }), { 'x-set': 'yes', connection: 'Upgrade', upgrade: 'websocket' });
});

t.test('a 101 goes back with Connection: Upgrade and the agreed Upgrade, nothing else hop-by-hop', async (t) => {
  t.same(switchingProtocolsHeaders({ connection: 'Upgrade, x-private', upgrade: 'websocket', 'x-private': '1', 'sec-websocket-accept': 'abc', 'keep-alive': 'timeout=5' }), { 'sec-websocket-accept': 'abc', connection: 'Upgrade', upgrade: 'websocket' });
});
