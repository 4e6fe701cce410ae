// Header hygiene at the proxy's edges: hop-by-hop, pseudo and Connection-named headers stay behind; sizes count names, values and framing.
import t from 'tap';
import { forwardableRequestHeaders, forwardableResponseHeaders, headerBytes } from '../../../../src/waypoint/upstream/headers';

t.test('request headers: hop-by-hop, pseudo, host and Connection-named ones are dropped', async (t) => {
  const rows: [string, Record<string, string | string[] | undefined>, Record<string, string | string[]>][] = [
    ['plain', { accept: '*/*', 'user-agent': 'curl' }, { accept: '*/*', 'user-agent': 'curl' }],
    ['keep-alive connection', { connection: 'keep-alive', 'keep-alive': 'timeout=5', accept: 'a' }, { accept: 'a' }],
    ['close names itself', { connection: 'close', close: 'x', accept: 'a' }, { accept: 'a' }],
    ['named headers go too, any case', { connection: 'X-Trace, Upgrade', 'x-trace': '1', upgrade: 'h2c', accept: 'a' }, { accept: 'a' }],
    ['pseudo and host', { ':authority': 'svc', ':path': '/', host: 'svc', accept: 'a' }, { accept: 'a' }],
    ['te: trailers kept for gRPC, other te dropped', { te: 'gzip, Trailers', 'content-type': 'application/grpc' }, { 'content-type': 'application/grpc', te: 'trailers' }],
    ['te without trailers', { te: 'gzip' }, {}],
    ['undefined values', { accept: undefined, 'x-a': 'b' }, { 'x-a': 'b' }],
    ['repeated values stay arrays', { 'set-cookie': ['a=1', 'b=2'] }, { 'set-cookie': ['a=1', 'b=2'] }],
    ['proxy and transfer headers', { 'proxy-authorization': 'x', 'transfer-encoding': 'chunked', trailer: 'x', 'http2-settings': 'x', 'proxy-connection': 'x', 'x-b': 'c' }, { 'x-b': 'c' }],
  ];
  for (const [name, input, expected] of rows) t.same(forwardableRequestHeaders(input), expected, name);
});

t.test('response headers: the same, except that a host header passes', async (t) => {
  t.same(forwardableResponseHeaders({ host: 'x', connection: 'keep-alive, x-drop', 'x-drop': '1', 'content-length': '3', ':status': '200' }), { host: 'x', 'content-length': '3' });
  t.same(forwardableResponseHeaders({ 'transfer-encoding': 'chunked', 'content-type': 'text/plain' }), { 'content-type': 'text/plain' });
});

t.test('header bytes count name, value, ": " and CRLF for every value', async (t) => {
  t.equal(headerBytes({}), 0);
  t.equal(headerBytes({ ab: 'cde' }), 2 + 3 + 4);
  t.equal(headerBytes({ ab: ['c', 'de'], 'content-length': 10, gone: undefined }), 2 + 1 + 4 + (2 + 2 + 4) + (14 + 2 + 4));
});
