// The local kube-proxy: exact iptables-restore text for ClusterIP rules, and the same rules applied for real inside a throwaway netns.
import { createHash } from 'node:crypto';
import t from 'tap';
import { renderServiceHooks, renderServiceRules, NodeServiceProxy, type ServicePortRule } from '../../../src/local/service-proxy';
import { run } from '../../../src/local/shell';
import { testNetnsName } from './fixtures/helpers';

/** Chain names are a hash of what they stand for, so they stay the same across restarts of the runtime. */
function chain(prefix: 'AMBIT-SVC' | 'AMBIT-SEP', text: string): string {
  return `${prefix}-${createHash('sha256').update(text).digest('hex').slice(0, 16).toUpperCase()}`;
}

const ECHO: ServicePortRule = {
  name: 'apps/echo:http',
  clusterIp: '10.96.0.10',
  port: 80,
  protocol: 'TCP',
  backends: [
    { ip: '10.44.1.2', port: 8080 },
    { ip: '10.44.2.2', port: 8080 },
  ],
};

const EMPTY: ServicePortRule = { name: 'apps/empty:http', clusterIp: '10.96.0.11', port: 80, protocol: 'TCP', backends: [] };
const EMPTY_UDP: ServicePortRule = { name: 'apps/dns:53', clusterIp: '10.96.0.12', port: 53, protocol: 'UDP', backends: [] };
const NODE_IP = '10.99.0.11';

t.test('one service with two backends: random pick, hairpin mark, DNAT', async (t) => {
  const svc = chain('AMBIT-SVC', 'apps/echo:http');
  const sep1 = chain('AMBIT-SEP', 'apps/echo:http/10.44.1.2:8080');
  const sep2 = chain('AMBIT-SEP', 'apps/echo:http/10.44.2.2:8080');
  const { text, chains } = renderServiceRules([ECHO], NODE_IP, new Set());
  t.equal(
    text,
    [
      '*nat',
      ':AMBIT-SERVICES - [0:0]',
      ':AMBIT-POSTROUTING - [0:0]',
      `:${svc} - [0:0]`,
      `:${sep1} - [0:0]`,
      `:${sep2} - [0:0]`,
      '-A AMBIT-POSTROUTING -m mark --mark 0x4000/0x4000 -j SNAT --to-source 10.99.0.11',
      `-A AMBIT-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment --comment "apps/echo:http" -j ${svc}`,
      `-A ${svc} -m statistic --mode random --probability 0.5000000000 -j ${sep1}`,
      `-A ${sep1} -s 10.44.1.2/32 -j MARK --set-xmark 0x4000/0x4000`,
      `-A ${sep1} -p tcp -j DNAT --to-destination 10.44.1.2:8080`,
      `-A ${svc} -j ${sep2}`,
      `-A ${sep2} -s 10.44.2.2/32 -j MARK --set-xmark 0x4000/0x4000`,
      `-A ${sep2} -p tcp -j DNAT --to-destination 10.44.2.2:8080`,
      'COMMIT',
      '*filter',
      ':AMBIT-SERVICES - [0:0]',
      'COMMIT',
      '',
    ].join('\n'),
  );
  t.same([...chains].sort(), [svc, sep1, sep2].sort());
});

t.test('each backend is picked with equal overall chance', async (t) => {
  const rule: ServicePortRule = { ...ECHO, backends: [1, 2, 3, 4].map((n) => ({ ip: `10.44.1.${n}`, port: 8080 })) };
  const { text } = renderServiceRules([rule], NODE_IP, new Set());
  const picks = text.split('\n').filter((line) => line.startsWith(`-A ${chain('AMBIT-SVC', rule.name)} `));
  t.same(
    picks.map((line) => /--probability (\S+)/.exec(line)?.[1] ?? 'always'),
    ['0.2500000000', '0.3333333333', '0.5000000000', 'always'],
  );
});

t.test('a port without endpoints is rejected in the filter table, tcp with a reset', async (t) => {
  const { text, chains } = renderServiceRules([EMPTY, EMPTY_UDP], NODE_IP, new Set());
  t.equal(
    text,
    [
      '*nat',
      ':AMBIT-SERVICES - [0:0]',
      ':AMBIT-POSTROUTING - [0:0]',
      '-A AMBIT-POSTROUTING -m mark --mark 0x4000/0x4000 -j SNAT --to-source 10.99.0.11',
      'COMMIT',
      '*filter',
      ':AMBIT-SERVICES - [0:0]',
      '-A AMBIT-SERVICES -d 10.96.0.12/32 -p udp -m udp --dport 53 -m comment --comment "apps/dns:53" -j REJECT --reject-with icmp-port-unreachable',
      '-A AMBIT-SERVICES -d 10.96.0.11/32 -p tcp -m tcp --dport 80 -m comment --comment "apps/empty:http" -j REJECT --reject-with tcp-reset',
      'COMMIT',
      '',
    ].join('\n'),
  );
  t.equal(chains.size, 0, 'no chains are needed for rejected ports');
});

t.test('chains that are no longer wanted are declared (flushed) and deleted', async (t) => {
  const first = renderServiceRules([ECHO, { ...EMPTY, backends: [{ ip: '10.44.3.3', port: 80 }] }], NODE_IP, new Set());
  const second = renderServiceRules([ECHO], NODE_IP, first.chains);
  const gone = [chain('AMBIT-SVC', 'apps/empty:http'), chain('AMBIT-SEP', 'apps/empty:http/10.44.3.3:80')];
  const lines = second.text.split('\n');
  for (const name of gone) {
    t.ok(lines.includes(`:${name} - [0:0]`), `${name} declared, which flushes it`);
    t.ok(lines.includes(`-X ${name}`), `${name} deleted`);
    t.notOk(second.chains.has(name));
  }
  const commit = lines.indexOf('COMMIT');
  t.ok(lines.indexOf(`-X ${gone[0]}`) < commit && lines.indexOf(`-X ${gone[1]}`) < commit, 'deleted inside the nat table');
  t.same([...second.chains].sort(), [...renderServiceRules([ECHO], NODE_IP, new Set()).chains].sort());
  t.notOk(lines.some((line) => line.startsWith('-X') && second.chains.has(line.slice(3))), 'wanted chains are never deleted');
});

t.test('the output does not depend on the order rules are given in', async (t) => {
  const other: ServicePortRule = { ...ECHO, name: 'apps/aaa:http', clusterIp: '10.96.0.20' };
  const a = renderServiceRules([ECHO, EMPTY, other], NODE_IP, new Set(['AMBIT-SVC-OLD1', 'AMBIT-SVC-OLD2']));
  const b = renderServiceRules([other, EMPTY, ECHO], NODE_IP, new Set(['AMBIT-SVC-OLD1', 'AMBIT-SVC-OLD2']));
  t.equal(a.text, b.text);
  const services = a.text.split('\n').filter((line) => line.startsWith('-A AMBIT-SERVICES'));
  t.match(services[0], /"apps\/aaa:http"/, 'sorted by rule name');
  t.match(services[1], /"apps\/echo:http"/);
});

t.test('the hooks jump from the built-in chains into ambit\'s own', async (t) => {
  t.equal(
    renderServiceHooks(),
    [
      '*nat',
      ':AMBIT-SERVICES - [0:0]',
      ':AMBIT-POSTROUTING - [0:0]',
      '-A PREROUTING -j AMBIT-SERVICES',
      '-A OUTPUT -j AMBIT-SERVICES',
      '-A POSTROUTING -j AMBIT-POSTROUTING',
      'COMMIT',
      '*filter',
      ':AMBIT-SERVICES - [0:0]',
      '-A FORWARD -j AMBIT-SERVICES',
      '-A OUTPUT -j AMBIT-SERVICES',
      'COMMIT',
      '',
    ].join('\n'),
  );
});

t.test('iptables-restore accepts the rules inside a real netns, and a removed service\'s chains go away', async (t) => {
  const netns = testNetnsName();
  await run('ip', ['netns', 'add', netns]);
  t.teardown(() => run('ip', ['netns', 'del', netns]).catch(() => undefined));
  const save = async (table: 'nat' | 'filter') => run('ip', ['netns', 'exec', netns, 'iptables-save', '-t', table]);

  const proxy = new NodeServiceProxy(netns, NODE_IP);
  await proxy.install();
  const other: ServicePortRule = { name: 'apps/other:grpc', clusterIp: '10.96.0.30', port: 9090, protocol: 'TCP', backends: [{ ip: '10.44.2.9', port: 9091 }] };
  await proxy.sync([ECHO, other, EMPTY]);

  const echoChains = [chain('AMBIT-SVC', ECHO.name), chain('AMBIT-SEP', 'apps/echo:http/10.44.1.2:8080'), chain('AMBIT-SEP', 'apps/echo:http/10.44.2.2:8080')];
  const otherChains = [chain('AMBIT-SVC', other.name), chain('AMBIT-SEP', 'apps/other:grpc/10.44.2.9:9091')];
  let nat = await save('nat');
  for (const name of [...echoChains, ...otherChains]) t.match(nat, `:${name} - `, `${name} exists`);
  t.match(nat, '-A PREROUTING -j AMBIT-SERVICES');
  t.match(nat, '-A POSTROUTING -j AMBIT-POSTROUTING');
  t.match(nat, `-A ${otherChains[1]} -p tcp -j DNAT --to-destination 10.44.2.9:9091`);
  t.match(nat, /--probability 0\.5/);
  t.match(await save('filter'), /-A AMBIT-SERVICES -d 10\.96\.0\.11\/32 .*-j REJECT --reject-with tcp-reset/);

  await proxy.sync([other, EMPTY]);
  await proxy.sync([other, EMPTY]); // unchanged: must be accepted again (or skipped) without error
  nat = await save('nat');
  for (const name of echoChains) t.notMatch(nat, name, `${name} removed`);
  for (const name of otherChains) t.match(nat, `:${name} - `, `${name} still there`);
  t.notMatch(nat, '10.96.0.10', 'no rule for the removed ClusterIP is left');
  t.equal((nat.match(/-A PREROUTING -j AMBIT-SERVICES/g) ?? []).length, 1, 'the hook is installed once');
});
