// Table tests of the per-request route actions: fault plans, redirect locations, rewrites, header operations, retry conditions and mirrors.
import t from 'tap';
import { compileFault } from '../../../../src/waypoint/filters/fault/config';
import { planFault } from '../../../../src/waypoint/filters/fault/filter';
import { compileMirrors } from '../../../../src/waypoint/filters/mirror/config';
import { pickMirrors, shadowAuthority } from '../../../../src/waypoint/filters/mirror/filter';
import { redirectLocation } from '../../../../src/waypoint/filters/redirect/filter';
import { compileRetry } from '../../../../src/waypoint/filters/retry/config';
import { backoffMs, retriable } from '../../../../src/waypoint/filters/retry/filter';
import { compileRewrite } from '../../../../src/waypoint/filters/rewrite/config';
import { applyHeaderOps, rewritePath } from '../../../../src/waypoint/filters/rewrite/filter';
import type { RedirectDoc } from '../../../../src/waypoint/config/types';

t.test('fault plans', async (t) => {
  const config = compileFault({ delay: { fixedDelayMs: 100, percentage: 50 }, abort: { httpStatus: 503, percentage: 10 } });
  t.same(planFault(config, () => 0.05), { delayMs: 100, abort: { status: 503, body: 'fault filter abort', flag: 'FI' } }, 'both picked');
  t.same(planFault(config, () => 0.6), { delayMs: 0 }, 'neither picked');
  t.same(planFault(undefined, () => 0), { delayMs: 0 });
  const grpc = compileFault({ abort: { grpcStatus: 'UNAVAILABLE', percentage: 100 } });
  t.match(planFault(grpc, () => 0.5).abort, { grpcStatus: 14, flag: 'FI' });
  t.throws(() => compileFault({ abort: { grpcStatus: 'NOPE', percentage: 1 } }), /not a gRPC status name/);
});

t.test('redirect locations', async (t) => {
  const input = { scheme: 'http', authority: 'reviews:9080', path: '/v1/items', query: 'a=1', matchedPrefix: '/v1', port: 9080 };
  const rows: [string, RedirectDoc, string][] = [
    ['path', { path: '/new', status: 301 }, 'http://reviews:9080/new?a=1'],
    ['prefix', { prefix: '/v2', status: 302 }, 'http://reviews:9080/v2/items?a=1'],
    ['prefix to root', { prefix: '/', status: 302 }, 'http://reviews:9080/items?a=1'],
    ['authority', { authority: 'example.com', status: 301 }, 'http://example.com/v1/items?a=1'],
    ['scheme drops the old port', { scheme: 'https', status: 301 }, 'https://reviews/v1/items?a=1'],
    ['explicit port', { port: 8443, scheme: 'https', status: 308 }, 'https://reviews:8443/v1/items?a=1'],
    ['default port omitted', { port: 443, scheme: 'https', status: 301 }, 'https://reviews/v1/items?a=1'],
    ['FROM_REQUEST_PORT', { authority: 'other', derivePort: 'FROM_REQUEST_PORT', status: 301 }, 'http://other:9080/v1/items?a=1'],
    ['FROM_PROTOCOL_DEFAULT', { derivePort: 'FROM_PROTOCOL_DEFAULT', status: 301 }, 'http://reviews/v1/items?a=1'],
  ];
  for (const [name, doc, expected] of rows) t.equal(redirectLocation(doc, input), expected, name);
});

t.test('rewrites', async (t) => {
  const rows: [string, Parameters<typeof compileRewrite>[0], boolean, [string, string, string], string][] = [
    ['prefix', { prefix: '/new' }, false, ['/old/x', 'q=1', '/old'], '/new/x?q=1'],
    ['prefix textual (Envoy)', { prefix: '/new' }, false, ['/oldx', '', '/old'], '/newx'],
    ['gateway prefix to root', { prefix: '/' }, true, ['/old/x', '', '/old'], '/x'],
    ['gateway prefix to root, exact', { prefix: '/' }, true, ['/old', '', '/old'], '/'],
    ['gateway prefix with slash', { prefix: '/new/' }, true, ['/old/x', '', '/old'], '/new/x'],
    ['full path', { fullPath: '/fixed' }, true, ['/old/x', 'a=b', '/old'], '/fixed?a=b'],
    ['regex with groups', { regex: { match: '^/service/([^/]+)(/.*)$', rewrite: '\\2/instance/\\1' } }, false, ['/service/foo/v1/api', '', '/'], '/v1/api/instance/foo'],
    ['regex every match', { regex: { match: 'o', rewrite: '0' } }, false, ['/foo/boo', '', '/'], '/f00/b00'],
  ];
  for (const [name, doc, gateway, [path, query, prefix], expected] of rows) t.equal(rewritePath(compileRewrite(doc, gateway)!, path, query, prefix), expected, name);
  const headers: Record<string, string | string[]> = { a: '1', b: '2', c: '3' };
  applyHeaderOps(headers, { set: [['a', 'x']], add: [['b', 'y'], ['d', 'z']], remove: ['c'] });
  t.same(headers, { a: 'x', b: ['2', 'y'], d: 'z' });
});

t.test('retry conditions', async (t) => {
  const policy = (retryOn: string[], codes: number[] = []) => compileRetry({ attempts: 2, retryOn, retriableStatusCodes: codes })!;
  const rows: [string, ReturnType<typeof policy>, Parameters<typeof retriable>[1], boolean][] = [
    ['5xx on 500', policy(['5xx']), { kind: 'response', status: 500 }, true],
    ['5xx on 404', policy(['5xx']), { kind: 'response', status: 404 }, false],
    ['5xx on reset', policy(['5xx']), { kind: 'reset' }, true],
    ['5xx on connect failure', policy(['5xx']), { kind: 'connect-failure' }, true],
    ['5xx on per-try timeout', policy(['5xx']), { kind: 'per-try-timeout' }, true],
    ['gateway-error on 502', policy(['gateway-error']), { kind: 'response', status: 502 }, true],
    ['gateway-error on 500', policy(['gateway-error']), { kind: 'response', status: 500 }, false],
    ['connect-failure', policy(['connect-failure']), { kind: 'connect-failure' }, true],
    ['connect-failure not reset', policy(['connect-failure']), { kind: 'reset' }, false],
    ['reset', policy(['reset']), { kind: 'reset' }, true],
    ['retriable-4xx on 409', policy(['retriable-4xx']), { kind: 'response', status: 409 }, true],
    ['retriable-status-codes', policy(['retriable-status-codes'], [503]), { kind: 'response', status: 503 }, true],
    ['grpc unavailable', policy(['unavailable']), { kind: 'response', status: 200, grpcStatus: 14 }, true],
    ['grpc cancelled not unavailable', policy(['cancelled']), { kind: 'response', status: 200, grpcStatus: 14 }, false],
    ['grpc resource-exhausted', policy(['resource-exhausted']), { kind: 'response', status: 200, grpcStatus: 8 }, true],
    ['never on overflow', policy(['5xx']), { kind: 'overflow' }, false],
  ];
  for (const [name, config, outcome, expected] of rows) t.equal(retriable(config, outcome), expected, name);
  t.equal(compileRetry({ attempts: 0, retryOn: ['5xx'], retriableStatusCodes: [] }), undefined, 'attempts 0 disables retries');
  t.equal(backoffMs(0, () => 0.999), 24);
  t.equal(backoffMs(10, () => 0.999), 249, 'capped at 250 ms');
});

t.test('mirrors', async (t) => {
  const targets = compileMirrors([{ host: 'a', percentage: 100 }, { host: 'b', percentage: 30 }, { host: 'c', percentage: 0 }]);
  t.same(targets.map((m) => m.host), ['a', 'b'], 'a 0% mirror is dropped');
  t.same(pickMirrors(targets, () => 0.5).map((m) => m.host), ['a']);
  t.same(pickMirrors(targets, () => 0.1).map((m) => m.host), ['a', 'b']);
  t.equal(shadowAuthority('reviews:9080'), 'reviews-shadow:9080');
  t.equal(shadowAuthority('reviews'), 'reviews-shadow');
});
