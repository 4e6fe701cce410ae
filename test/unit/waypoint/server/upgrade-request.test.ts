// Which HTTP/1.1 requests are upgrades and of what kind, and the head rewriting that serves an h2c upgrade as plain HTTP/1.1 or relays a 101.
import t from 'tap';
import { classifyUpgrade, requestHeadBytes, switchingProtocolsHead, withoutH2cUpgrade } from '../../../../src/waypoint/server/upgrade-request';

t.test('an upgrade needs both Connection: upgrade and Upgrade; the token decides the kind', async (t) => {
  const rows: [string, Record<string, string | string[] | undefined>, string][] = [
    ['websocket', { connection: 'Upgrade', upgrade: 'websocket' }, 'websocket'],
    ['any case, among other Connection tokens', { connection: 'keep-alive, UPGRADE', upgrade: 'WebSocket' }, 'websocket'],
    ['surrounding spaces', { connection: ' upgrade ', upgrade: ' websocket ' }, 'websocket'],
    ['h2c', { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c' }, 'h2c'],
    ['H2C in capitals', { connection: 'upgrade', upgrade: 'H2C' }, 'h2c'],
    ['another protocol', { connection: 'upgrade', upgrade: 'foo/1.0' }, 'unsupported'],
    ['a list is compared whole, as Envoy does', { connection: 'upgrade', upgrade: 'websocket, foo' }, 'unsupported'],
    ['Upgrade without Connection: upgrade', { connection: 'keep-alive', upgrade: 'websocket' }, 'none'],
    ['Upgrade and no Connection', { upgrade: 'websocket' }, 'none'],
    ['Connection: upgrade and no Upgrade', { connection: 'upgrade' }, 'none'],
    ['empty Upgrade', { connection: 'upgrade', upgrade: '' }, 'none'],
    ['no headers', {}, 'none'],
  ];
  for (const [name, headers, kind] of rows) t.equal(classifyUpgrade(headers), kind, name);
});

t.test('the h2c upgrade leaves the raw headers; the rest keep order and spelling', async (t) => {
  t.same(
    withoutH2cUpgrade(['Host', 'svc', 'Connection', 'Upgrade, HTTP2-Settings', 'Upgrade', 'h2c', 'HTTP2-Settings', 'AAMA', 'X-Trace', '1']),
    ['Host', 'svc', 'X-Trace', '1'],
    'Connection goes when only the upgrade tokens were in it',
  );
  t.same(withoutH2cUpgrade(['host', 'svc', 'connection', 'keep-alive, upgrade', 'upgrade', 'H2C']), ['host', 'svc', 'connection', 'keep-alive'], 'other Connection tokens stay');
  t.same(withoutH2cUpgrade(['Content-Length', '5', 'Transfer-Encoding', 'chunked']), ['Content-Length', '5', 'Transfer-Encoding', 'chunked'], 'framing headers are untouched');
});

t.test('a request head is written back in wire form', async (t) => {
  t.equal(requestHeadBytes('POST', '/a?b=1', '1.1', ['Host', 'svc', 'Content-Length', '5']).toString('latin1'), 'POST /a?b=1 HTTP/1.1\r\nHost: svc\r\nContent-Length: 5\r\n\r\n');
  t.equal(requestHeadBytes('GET', '/', '1.0', []).toString('latin1'), 'GET / HTTP/1.0\r\n\r\n');
});

t.test('the 101 head carries every valid header and drops what could split it', async (t) => {
  const head = switchingProtocolsHead({ connection: 'Upgrade', upgrade: 'websocket', 'set-cookie': ['a=1', 'b=2'], 'x-bad': 'one\r\nx-injected: yes', 'x-gone': undefined }).toString('latin1');
  t.equal(head, 'HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n');
});
