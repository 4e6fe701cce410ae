import t from 'tap';
import {
  cidr, dns1035Label, dnsLabel, dnsSubdomain, duration, ipAddress, ipOrCidr, isCidr, isIstioHost, isLabelValue,
  isQualifiedName, istioHost, labelKey, labelValue, parseDuration, re2,
} from '../../../src/api/formats';
import { compileRe2, RegexSyntaxError } from '../../../src/api/regex';
import { checkValue, type Schema } from '../../../src/api/schema';

function reasons(schema: Schema, value: unknown): string[] {
  return checkValue(schema, value, { mode: 'local' }).map((p) => p.reason);
}

const LABEL_HELP = "lower case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";

t.test('DNS names', async (t) => {
  t.same(reasons(dnsLabel(), 'reviews-v1'), []);
  t.same(reasons(dnsLabel(), '1abc'), []);
  t.same(reasons(dnsLabel(), 'Reviews'), [`"Reviews" is not a valid DNS-1123 label (${LABEL_HELP})`]);
  t.same(reasons(dnsLabel(), 'a.b'), [`"a.b" is not a valid DNS-1123 label (${LABEL_HELP})`]);
  t.same(reasons(dnsLabel(), 'a'.repeat(64)).length, 1);
  t.same(reasons(dnsLabel(), '-a'), [`"-a" is not a valid DNS-1123 label (${LABEL_HELP})`]);
  t.same(reasons(dnsSubdomain(), 'reviews.v1'), []);
  t.same(reasons(dnsSubdomain(), 'a..b'), [
    `"a..b" is not a valid DNS-1123 subdomain (lower case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters)`,
  ]);
  t.same(reasons(dns1035Label(), 'reviews'), []);
  t.same(reasons(dns1035Label(), '9reviews'), [
    `"9reviews" is not a valid DNS-1035 label (lower case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters)`,
  ]);
});

t.test('label keys and values follow Kubernetes', async (t) => {
  for (const ok of ['app', 'app.kubernetes.io/name', 'istio.io/dataplane-mode', 'A_b.c-d', 'x/y']) t.ok(isQualifiedName(ok), ok);
  for (const bad of ['', '/app', 'Foo.com/app', 'a/b/c', '-app', 'app-', 'a'.repeat(64), 'bad key']) t.notOk(isQualifiedName(bad), bad);
  for (const ok of ['', 'v1', 'a.b_c-d', 'A1']) t.ok(isLabelValue(ok), ok);
  for (const bad of ['-v1', 'v1-', 'a b', 'a/b', 'a'.repeat(64)]) t.notOk(isLabelValue(bad), bad);
  t.same(reasons(labelKey(), 'bad key'), [
    `"bad key" is not a valid label key (an optional DNS subdomain and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`,
  ]);
  t.same(reasons(labelValue(), 'a b'), [
    `"a b" is not a valid label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, or empty)`,
  ]);
});

t.test('IP addresses and CIDRs', async (t) => {
  t.same(reasons(ipAddress(), '10.0.0.1'), []);
  t.same(reasons(ipAddress(), 'fd00::1'), []);
  t.same(reasons(ipAddress(), '10.0.0.300'), ['"10.0.0.300" is not a valid IP address']);
  t.same(reasons(cidr(), '10.0.0.0/8'), []);
  t.same(reasons(cidr(), '10.0.0.0'), ['"10.0.0.0" is not a valid CIDR (e.g. 10.0.0.0/8)']);
  for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/08', '10.0.0.0/', 'x/8']) t.notOk(isCidr(bad), bad);
  t.ok(isCidr('fd00::/64'));
  t.same(reasons(ipOrCidr(), '1.2.3.4'), []);
  t.same(reasons(ipOrCidr(), '1.2.3.0/24'), []);
  t.same(reasons(ipOrCidr(), 'localhost'), ['"localhost" is not a valid IP address or CIDR']);
});

t.test('durations are Go/Istio style', async (t) => {
  const rows: [string, number | undefined][] = [
    ['1s', 1000], ['500ms', 500], ['1h2m', 3_720_000], ['1.5s', 1500], ['0', 0], ['0s', 0], ['2m30s', 150_000],
    ['100us', 0.1], ['1000ns', 0.001], ['', undefined], ['5', undefined], ['1x', undefined], ['-1s', undefined], ['1s ', undefined], ['s', undefined],
  ];
  for (const [text, ms] of rows) t.equal(parseDuration(text), ms, text);
  t.same(reasons(duration(), '10s'), []);
  t.same(reasons(duration(), '5x'), ['"5x" is not a valid duration (e.g. "500ms", "10s", "1h2m")']);
  t.same(reasons(duration(), 10), ['must be a string (got 10)']);
  t.same(reasons(duration({ minMs: 1 }), '0s'), ['must be at least 1ms (got "0s")']);
  t.same(reasons(duration({ minMs: 1000 }), '500ms'), ['must be at least 1s (got "500ms")']);
});

t.test('Istio hosts', async (t) => {
  for (const ok of ['*', '*.example.com', 'reviews', 'reviews.bookinfo.svc.cluster.local', 'API.Example.com']) t.ok(isIstioHost(ok), ok);
  for (const bad of ['', '*.', 'a*.com', 'foo..bar', 'foo_bar', 'http://x']) t.notOk(isIstioHost(bad), bad);
  t.same(reasons(istioHost(), '10.0.0.1'), []);
  t.same(reasons(istioHost(), 'foo_bar'), [
    '"foo_bar" is not a valid host (a DNS name such as "reviews" or "reviews.bookinfo.svc.cluster.local", optionally with a "*." prefix)',
  ]);
});

t.test('RE2 patterns compile to anchored JavaScript regexes', async (t) => {
  t.ok(compileRe2('/api/v[0-9]+').test('/api/v12'));
  t.notOk(compileRe2('/api').test('/api/x'), 'whole-string match');
  t.ok(compileRe2('(?i)abc').test('ABC'));
  t.ok(compileRe2('(?P<ver>v[0-9])').test('v1'));
  t.throws(() => compileRe2('a(?=b)'), new RegexSyntaxError('a(?=b)', 'lookaround assertions are not supported by RE2'));
  t.throws(() => compileRe2('(a)\\1'), { code: 'INVALID_REGEX', message: 'invalid regular expression "(a)\\\\1": backreferences are not supported by RE2' });
  t.same(reasons(re2(), '^/ok$'), []);
  t.same(reasons(re2(), '(unclosed'), ['invalid regular expression "(unclosed": Unterminated group']);
});
