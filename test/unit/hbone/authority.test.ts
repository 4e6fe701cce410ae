// The CONNECT :authority grammar (ip:port, IPv6 bracketed) and canonical IP spelling, table-tested without sockets.
import t from 'tap';
import { canonicalIp, formatAuthority, parseAuthority } from '../../../src/hbone';

t.test('valid authorities', async (t) => {
  const cases: Array<[string, string, number]> = [
    ['10.0.0.1:80', '10.0.0.1', 80],
    ['127.0.0.1:65535', '127.0.0.1', 65535],
    ['[fd00::1]:8080', 'fd00::1', 8080],
    ['[FD00:0:0::0A]:443', 'fd00::a', 443],
    ['[::ffff:10.1.2.3]:9080', '10.1.2.3', 9080],
    ['[::1]:1', '::1', 1],
  ];
  for (const [input, ip, port] of cases) {
    t.same(parseAuthority(input), { ok: true, authority: { ip, port } }, input);
  }
});

t.test('invalid authorities say why', async (t) => {
  const cases: Array<[string | undefined, RegExp]> = [
    [undefined, /missing/],
    ['', /missing/],
    ['example.com:80', /not an IPv4 address \(expected an IP address, not a name\)/],
    ['10.0.0.1', /no port/],
    [':80', /no port/],
    ['10.0.0.1:', /port "" is not a number/],
    ['10.0.0.1:0', /out of range/],
    ['10.0.0.1:65536', /out of range/],
    ['10.0.0.1:8o', /not a number/],
    ['10.0.0.1:+80', /not a number/],
    ['fd00::1:80', /IPv6 addresses must be bracketed/],
    ['[fd00::1]', /not \[ipv6\]:port/],
    ['[fd00::1]80', /not \[ipv6\]:port/],
    ['[10.0.0.1]:80', /not an IPv6 address/],
    ['[zz::1]:80', /not an IPv6 address/],
    ['10.0.0.256:80', /not an IPv4 address/],
  ];
  for (const [input, reason] of cases) {
    const parsed = parseAuthority(input);
    t.equal(parsed.ok, false, String(input));
    if (!parsed.ok) t.match(parsed.reason, reason, String(input));
  }
});

t.test('formatting round-trips and brackets IPv6', async (t) => {
  t.equal(formatAuthority('10.0.0.1', 80), '10.0.0.1:80');
  t.equal(formatAuthority('fd00::1', 80), '[fd00::1]:80');
  for (const input of ['10.0.0.1:80', '[fd00::1]:15008']) {
    const parsed = parseAuthority(input);
    t.ok(parsed.ok && formatAuthority(parsed.authority.ip, parsed.authority.port) === input, input);
  }
});

t.test('canonical IPs', async (t) => {
  t.equal(canonicalIp('10.0.0.1'), '10.0.0.1');
  t.equal(canonicalIp('::ffff:10.0.0.1'), '10.0.0.1', 'dual-stack sockets report IPv4-mapped addresses');
  t.equal(canonicalIp('FD00:0000::1'), 'fd00::1');
  t.equal(canonicalIp('::1'), '::1');
});
