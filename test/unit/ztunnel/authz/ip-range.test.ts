// IP and CIDR parsing for authorization: IPv4, IPv6 spellings, host bits, xDS bytes, and bad input.
import t from 'tap';
import { canonicalIp, ipInRange, parseIp, parseRange } from '../../../../src/ztunnel/authz';
import { rangeFromBytes } from '../../../../src/ztunnel/authz/ip-range';

function inRange(ip: string, range: string): boolean {
  const a = canonicalIp(ip);
  const r = parseRange(range);
  if (a === undefined || r === undefined) throw new Error(`bad input ${ip} ${range}`);
  return ipInRange(a, r);
}

t.test('parsing', async (t) => {
  t.same(parseIp('10.1.2.3'), { family: 4, words: [0x0a010203] });
  t.same(parseIp('::1'), { family: 6, words: [0, 0, 0, 1] });
  t.same(parseIp('fd00::ab:1'), { family: 6, words: [0xfd000000, 0, 0, 0x00ab0001] });
  t.same(parseIp('::ffff:10.0.0.1'), { family: 6, words: [0, 0, 0xffff, 0x0a000001] }, 'embedded IPv4 tail');
  t.same(parseIp('1:2:3:4:5:6:7:8'), { family: 6, words: [0x10002, 0x30004, 0x50006, 0x70008] });
  t.same(parseIp('fe80::1%eth0'), { family: 6, words: [0xfe800000, 0, 0, 1] }, 'zone dropped');
  t.equal(parseIp('10.0.0'), undefined);
  t.equal(parseIp('nope'), undefined);
  t.same(canonicalIp('::ffff:10.0.0.1'), { family: 4, words: [0x0a000001] }, 'IPv4-mapped becomes IPv4');
  t.equal(parseRange('10.0.0.0/33'), undefined);
  t.equal(parseRange('10.0.0.0/x'), undefined);
  t.equal(parseRange('fd00::/129'), undefined);
  t.same(parseRange('10.1.2.3/8')?.words, [0x0a000000], 'host bits cleared');
});

t.test('membership', async (t) => {
  const rows: [string, string, boolean][] = [
    ['10.0.0.5', '10.0.0.0/8', true],
    ['11.0.0.5', '10.0.0.0/8', false],
    ['10.0.0.5', '10.0.0.5', true],
    ['10.0.0.6', '10.0.0.5/32', false],
    ['192.168.1.77', '192.168.1.64/26', true],
    ['192.168.1.128', '192.168.1.64/26', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['fd00:1::5', 'fd00::/16', true],
    ['fd01::5', 'fd00::/16', false],
    ['fd00::1:2', 'fd00::1:0/112', true],
    ['fd00::2:2', 'fd00::1:0/112', false],
    ['2001:db8::1', '2001:db8::/33', true],
    ['2001:db8:8000::1', '2001:db8::/33', false],
    ['10.0.0.1', '::/0', false],
    ['::ffff:10.0.0.1', '10.0.0.0/8', true],
  ];
  for (const [ip, range, expected] of rows) t.equal(inRange(ip, range), expected, `${ip} in ${range}`);
});

t.test('xDS address bytes', async (t) => {
  t.equal(rangeFromBytes(Uint8Array.from([10, 1, 0, 0]), 16)?.text, '10.1.0.0/16');
  t.same(rangeFromBytes(Uint8Array.from([10, 1, 2, 3]), 16)?.words, [0x0a010000], 'host bits cleared');
  t.equal(rangeFromBytes(Uint8Array.from([10, 1, 0, 0]), 33), undefined);
  t.equal(rangeFromBytes(new Uint8Array(16), 129), undefined);
  t.equal(rangeFromBytes(new Uint8Array(5), 8), undefined);
  const v6 = rangeFromBytes(Uint8Array.from([0xfd, 0, ...new Array<number>(13).fill(0), 1]), 128);
  t.equal(v6?.family, 6);
  t.equal(v6 !== undefined && ipInRange(parseIp('fd00::1')!, v6), true);
});
