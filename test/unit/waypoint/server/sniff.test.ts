// Table tests of protocol sniffing and the in-memory stream pair the HTTP servers read tunnels through.
import t from 'tap';
import { createDuplexPair } from '../../../../src/waypoint/server/duplex-pair';
import { classify, sniff } from '../../../../src/waypoint/server/sniff';

t.test('classify', async (t) => {
  const rows: [string, string][] = [
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'h2'],
    ['PRI * HTTP/2.0\r\n', 'more'],
    ['GET / HTTP/1.1\r\n', 'http1'],
    ['POST /a/b?c=d HTTP/1.0\r\n', 'http1'],
    ['GET / HTTP/1.1', 'more'],
    ['GE', 'more'],
    ['GET /x', 'more'],
    ['get / HTTP/1.1\r\n', 'tcp'],
    ['\x16\x03\x01\x02\x00', 'tcp'],
    ['SSH-2.0-OpenSSH\r\n', 'tcp'],
    ['GET / HTTP/2.0\r\n', 'tcp'],
    ['HELLO world\r\n', 'tcp'],
    ['', 'more'],
  ];
  for (const [input, expected] of rows) t.equal(classify(Buffer.from(input, 'latin1')), expected, JSON.stringify(input));
});

t.test('sniff puts the bytes back for whoever reads next', async (t) => {
  const { outer, inner } = createDuplexPair();
  outer.write('GET /a HTT');
  setTimeout(() => outer.write('P/1.1\r\nHost: x\r\n\r\n'), 10);
  t.equal(await sniff(inner, 1000), 'http1');
  const text = await new Promise<string>((resolve) => {
    let s = '';
    inner.on('data', (c: Buffer) => {
      s += c.toString();
      if (s.endsWith('\r\n\r\n')) resolve(s);
    });
  });
  t.equal(text, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
  const quiet = createDuplexPair();
  t.equal(await sniff(quiet.inner, 20), 'tcp', 'silence falls back to TCP');
});

t.test('the pair carries half-close both ways and turns a destroy into a reset', async (t) => {
  const { outer, inner } = createDuplexPair({ remoteAddress: '10.0.0.1', remotePort: 1, localAddress: '10.0.0.2', localPort: 2 });
  t.equal(inner.remoteAddress, '10.0.0.1');
  const got: string[] = [];
  inner.on('data', (c: Buffer) => got.push(c.toString()));
  const innerEnded = new Promise((r) => inner.once('end', r));
  outer.end('bye');
  await innerEnded;
  t.same(got, ['bye']);
  inner.write('still here');
  const back = await new Promise<string>((r) => outer.once('data', (c: Buffer) => r(c.toString())));
  t.equal(back, 'still here', 'the other direction stays open after a half-close');
  const second = createDuplexPair();
  const failed = new Promise<Error>((r) => second.outer.once('error', r));
  second.inner.on('error', () => undefined);
  second.inner.destroy(new Error('boom'));
  t.match((await failed).message, /boom/, 'a destroy reaches the other end as an error');
});
