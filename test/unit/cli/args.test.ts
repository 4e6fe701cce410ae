// The argv parser: value flags in every spelling, booleans, positionals, `--` rest, and usage errors.
import t from 'tap';
import { booleanFlag, flag, flagAll, parseArgs, UsageError, type FlagSpec } from '../../../src/cli/args';

const SPECS: FlagSpec[] = [
  { name: 'namespace', short: 'n' },
  { name: 'filename', short: 'f' },
  { name: 'all-namespaces', short: 'A', boolean: true },
  { name: 'purge', boolean: true },
  { name: 'output', short: 'o' },
];

function parsed(argv: string[]) {
  const args = parseArgs(argv, SPECS);
  return { positionals: args.positionals, flags: Object.fromEntries(args.flags), rest: args.rest };
}

t.test('value flags: --x v, --x=v, -x v, -x=v', async (t) => {
  const rows: { argv: string[]; want: ReturnType<typeof parsed> }[] = [
    { argv: ['get', 'pods', '--namespace', 'apps'], want: { positionals: ['get', 'pods'], flags: { namespace: ['apps'] }, rest: [] } },
    { argv: ['--namespace=apps', 'get'], want: { positionals: ['get'], flags: { namespace: ['apps'] }, rest: [] } },
    { argv: ['-n', 'apps'], want: { positionals: [], flags: { namespace: ['apps'] }, rest: [] } },
    { argv: ['-n=apps'], want: { positionals: [], flags: { namespace: ['apps'] }, rest: [] } },
    { argv: ['--output=a=b'], want: { positionals: [], flags: { output: ['a=b'] }, rest: [] } },
    { argv: ['--output='], want: { positionals: [], flags: { output: [''] }, rest: [] } },
    { argv: ['-n', '-'], want: { positionals: [], flags: { namespace: ['-'] }, rest: [] } },
    { argv: ['-n', '--purge'], want: { positionals: [], flags: { namespace: ['--purge'] }, rest: [] } },
    { argv: ['-f', 'a.yaml', '--filename', 'b.yaml', '-f=c.yaml'], want: { positionals: [], flags: { filename: ['a.yaml', 'b.yaml', 'c.yaml'] }, rest: [] } },
  ];
  for (const row of rows) t.same(parsed(row.argv), row.want, row.argv.join(' '));
});

t.test('boolean flags take no value unless given with =', async (t) => {
  const rows: { argv: string[]; want: ReturnType<typeof parsed> }[] = [
    { argv: ['-A', 'pods'], want: { positionals: ['pods'], flags: { 'all-namespaces': ['true'] }, rest: [] } },
    { argv: ['--all-namespaces', 'pods'], want: { positionals: ['pods'], flags: { 'all-namespaces': ['true'] }, rest: [] } },
    { argv: ['--purge=false'], want: { positionals: [], flags: { purge: ['false'] }, rest: [] } },
    { argv: ['-', 'x'], want: { positionals: ['-', 'x'], flags: {}, rest: [] } },
  ];
  for (const row of rows) t.same(parsed(row.argv), row.want, row.argv.join(' '));
});

t.test('everything after -- is the rest, flags included', async (t) => {
  t.same(parsed(['exec', 'client', '-n', 'apps', '--', 'curl', '-s', '--namespace', 'x', '--']), {
    positionals: ['exec', 'client'],
    flags: { namespace: ['apps'] },
    rest: ['curl', '-s', '--namespace', 'x', '--'],
  });
  t.same(parsed(['--']), { positionals: [], flags: {}, rest: [] });
});

t.test('unknown flags and missing values are usage errors', async (t) => {
  const rows: [string[], string][] = [
    [['--flurb'], 'unknown flag --flurb'],
    [['--flurb=1'], 'unknown flag --flurb'],
    [['-x'], 'unknown flag -x'],
    [['-nA'], 'unknown flag -nA'],
    [['get', '--namespace'], 'flag --namespace needs a value'],
    [['-n'], 'flag -n needs a value'],
    [['--exec', '--', 'x'], 'unknown flag --exec'],
  ];
  for (const [argv, message] of rows) t.throws(() => parseArgs(argv, SPECS), { constructor: UsageError, code: 'USAGE', message }, argv.join(' '));
});

t.test('flag, flagAll and booleanFlag read the parsed flags', async (t) => {
  const args = parseArgs(['-n', 'a', '-n', 'b', '--purge', '--all-namespaces=false'], SPECS);
  t.equal(flag(args, 'namespace'), 'b', 'the last one wins');
  t.same(flagAll(args, 'namespace'), ['a', 'b']);
  t.equal(flag(args, 'output'), undefined);
  t.same(flagAll(args, 'output'), []);
  t.equal(booleanFlag(args, 'purge'), true);
  t.equal(booleanFlag(args, 'all-namespaces'), false, '=false turns it off');
  t.equal(booleanFlag(args, 'output'), false, 'absent is false');
});
