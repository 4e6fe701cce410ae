// Installing, checking and removing the in-pod rules in a real throwaway netns: idempotent, exact, and blind to other rules.
import { spawn } from 'node:child_process';
import t from 'tap';
import { NetnsNotFound } from '../../../src/cni/errors';
import { hasInpodRules, installInpodRules, removeInpodRules, renderInpodRules } from '../../../src/cni/inpod-rules';
import { inNs, makePodNetns, randomSuffix, sh, waitFor } from './helpers';

const OPTIONS = { probeSourceAddresses: ['10.99.0.11'] };

/** iptables-save lines without comments and counters, for comparing states. */
function saved(netns: string): string[] {
  return inNs(netns, 'iptables-save')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function ambitLines(netns: string): string[] {
  return saved(netns).filter((line) => line.includes('AMBIT'));
}

t.test('install puts exactly the rendered rules, the fwmark rule and the local route into the pod', async (t) => {
  const pod = makePodNetns(t);
  t.equal(await hasInpodRules(pod), false, 'a fresh netns has no capture');
  await installInpodRules(pod, OPTIONS);
  t.equal(await hasInpodRules(pod), true);
  t.equal(await hasInpodRules(pod, OPTIONS), true, 'and the rules are exactly what the options render');
  t.equal(await hasInpodRules(pod, { probeSourceAddresses: ['10.99.0.12'] }), false, 'other options render other rules');

  const expectedRules = renderInpodRules(OPTIONS).split('\n').filter((line) => line.startsWith('-A '));
  const actual = saved(pod).filter((line) => line.startsWith('-A '));
  t.same([...actual].sort(), [...expectedRules].sort(), 'iptables-save shows the rendered rules verbatim');
  t.match(inNs(pod, 'ip', 'rule', 'show'), /32764:\s+from all fwmark 0x111\/0xfff lookup 100/);
  t.match(inNs(pod, 'ip', 'route', 'show', 'table', '100'), /^local default dev lo/);
});

t.test('installing again (same or new options) replaces the rules without doubling anything', async (t) => {
  const pod = makePodNetns(t);
  await installInpodRules(pod, OPTIONS);
  const once = ambitLines(pod);
  await installInpodRules(pod, OPTIONS);
  t.same(ambitLines(pod), once, 'same options: same rules');
  await installInpodRules(pod, { probeSourceAddresses: ['10.99.0.12', '10.99.0.13'] });
  const lines = ambitLines(pod);
  t.equal(lines.filter((line) => line === '-A PREROUTING -j AMBIT-PRERT').length, 2, 'one jump in mangle and one in nat');
  t.ok(lines.includes('-A AMBIT-PRERT -s 10.99.0.13/32 -p tcp -m tcp -j ACCEPT'));
  t.notOk(lines.some((line) => line.includes('10.99.0.11')), 'the old probe source is gone');
  t.equal(inNs(pod, 'ip', 'rule', 'show').split('\n').filter((line) => line.startsWith('32764:')).length, 1, 'one fwmark rule');
});

t.test('remove takes out only what ambit added, and is idempotent', async (t) => {
  const pod = makePodNetns(t);
  inNs(pod, 'iptables', '-t', 'nat', '-A', 'PREROUTING', '-p', 'udp', '--dport', '5353', '-j', 'ACCEPT');
  inNs(pod, 'iptables', '-t', 'mangle', '-A', 'OUTPUT', '-p', 'icmp', '-j', 'ACCEPT');
  inNs(pod, 'ip', 'rule', 'add', 'fwmark', '0x7', 'pref', '100', 'lookup', '7');
  const before = saved(pod);
  const rulesBefore = inNs(pod, 'ip', 'rule', 'show');

  await installInpodRules(pod, OPTIONS);
  t.equal(await removeInpodRules(pod), true, 'something was removed');
  t.same(saved(pod), before, 'iptables-save is back to what it was, foreign rules included');
  t.equal(inNs(pod, 'ip', 'rule', 'show'), rulesBefore, 'ip rules are back too');
  t.equal(inNs(pod, 'ip', 'route', 'show', 'table', 'all').includes('table 100'), false, 'the table-100 route is gone');
  t.equal(await hasInpodRules(pod), false);
  t.equal(await removeInpodRules(pod), false, 'a second removal finds nothing and succeeds');
});

t.test('the netns may be given by path; a netns that does not exist is reported, or ignored on removal', async (t) => {
  const pod = makePodNetns(t);
  await installInpodRules(`/var/run/netns/${pod}`, OPTIONS);
  t.equal(await hasInpodRules(pod, OPTIONS), true);
  await removeInpodRules(`/run/netns/${pod}`);
  t.same(ambitLines(pod), []);

  const missing = `tcni-${randomSuffix()}-missing`;
  await t.rejects(installInpodRules(missing, OPTIONS), NetnsNotFound);
  await t.rejects(installInpodRules(missing, OPTIONS), { code: 'NETNS_NOT_FOUND', netns: `/var/run/netns/${missing}` });
  t.equal(await removeInpodRules(missing), false);
  t.equal(await hasInpodRules(missing), false);
});

t.test('a netns reached through a /proc path runs the tools with nsenter', async (t) => {
  const pod = makePodNetns(t);
  const sleeper = spawn('ip', ['netns', 'exec', pod, 'sleep', '30'], { stdio: 'ignore' });
  t.teardown(() => {
    sleeper.kill('SIGKILL');
  });
  // `ip netns exec` execs sleep in the same process, so its pid shows up in the netns.
  await waitFor('the sleeper to enter the netns', () => sh('ip', 'netns', 'pids', pod).trim() !== '');
  const pid = sh('ip', 'netns', 'pids', pod).trim().split('\n')[0];
  await installInpodRules(`/proc/${pid}/ns/net`, OPTIONS);
  t.equal(await hasInpodRules(pod, OPTIONS), true, 'rules applied through /proc/PID/ns/net land in the same netns');
  t.equal(await removeInpodRules(`/proc/${pid}/ns/net`), true);
  t.equal(await hasInpodRules(pod), false);
});
