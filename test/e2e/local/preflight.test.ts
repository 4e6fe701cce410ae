// Without root, or with a bad config, `ambit up` says what is wrong in one line and touches nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runCommand, uniqueClusterName } from '../../helpers/cluster';
import { AMBIT_BIN, fixture } from '../../helpers/repo';

t.test('without root, ambit up ends with one clear line', async (t) => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-nonroot-'));
  fs.chmodSync(stateDir, 0o777);
  t.teardown(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  // tap re-injects its NODE_OPTIONS loader into every child; as nobody it could not write its process records.
  const result = await runCommand('runuser', ['-u', 'nobody', '--', 'env', '-u', 'NODE_OPTIONS', process.execPath, AMBIT_BIN, 'up', '--cluster', uniqueClusterName(), '--state-dir', stateDir]);
  t.equal(result.code, 1);
  t.equal(result.stderr, 'ambit: local mode needs root (CAP_NET_ADMIN) to create network namespaces: run it as root, e.g. sudo npm start\n');
});

t.test('an invalid config is refused before anything is created', async (t) => {
  const cluster = uniqueClusterName();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-badcfg-'));
  t.teardown(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  const result = await runCommand(process.execPath, [AMBIT_BIN, 'up', '--cluster', cluster, '--state-dir', stateDir, '--config', fixture('local', 'invalid.yaml')]);
  t.equal(result.code, 1);
  const lines = result.stderr.trim().split('\n');
  t.match(lines[0], new RegExp(`^${fixture('local', 'invalid.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:20: Deployment apps/broken: spec\\.template\\.spec\\.containers\\[0\\]: unknown field "comand" \\(did you mean "command"\\?\\)$`));
  t.match(lines[lines.length - 1], /^ambit: not starting: 1 problem\(s\) in /);
  const netns = (await runCommand('ip', ['netns', 'list'])).stdout;
  t.notOk(netns.includes(`${cluster}-`), 'no netns was created');
});

t.test('an invalid cluster name is refused with the rule', async (t) => {
  const result = await runCommand(process.execPath, [AMBIT_BIN, 'get', 'pods', '--cluster', 'Bad-Name']);
  t.equal(result.code, 1);
  t.equal(result.stderr, 'ambit: invalid cluster name "Bad-Name": use 1-16 lowercase letters and digits, starting with a letter (no dashes, so one cluster\'s names never prefix another\'s)\n');
});
