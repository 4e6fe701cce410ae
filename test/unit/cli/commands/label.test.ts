// `ambit label` changes: key=value to set, key- to remove, and the messages for keys and values Kubernetes would refuse.
import t from 'tap';
import { UsageError } from '../../../../src/cli/args';
import { parseLabelChange } from '../../../../src/cli/commands/label';
import { CliError } from '../../../../src/cli/output';

t.test('valid changes', async (t) => {
  const rows: [string, ReturnType<typeof parseLabelChange>][] = [
    ['istio.io/dataplane-mode=ambient', { key: 'istio.io/dataplane-mode', value: 'ambient' }],
    ['app=web', { key: 'app', value: 'web' }],
    ['app=', { key: 'app', value: '' }],
    ['version=v1.2_3-rc', { key: 'version', value: 'v1.2_3-rc' }],
    ['istio.io/dataplane-mode-', { key: 'istio.io/dataplane-mode', remove: true }],
    ['app-', { key: 'app', remove: true }],
  ];
  for (const [text, want] of rows) t.same(parseLabelChange(text), want, text);
});

t.test('invalid keys and values say what is wrong', async (t) => {
  const rows: [string, typeof CliError | typeof UsageError, string][] = [
    ['bad key=x', CliError, `invalid label key "bad key": use an optional DNS prefix and a name of letters, digits, '-', '_' or '.'`],
    ['-app=x', CliError, `invalid label key "-app": use an optional DNS prefix and a name of letters, digits, '-', '_' or '.'`],
    ['Foo.com/app=x', CliError, `invalid label key "Foo.com/app": use an optional DNS prefix and a name of letters, digits, '-', '_' or '.'`],
    ['app=bad value', CliError, `invalid label value "bad value" for app: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric`],
    ['app=-x', CliError, `invalid label value "-x" for app: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric`],
    [`app=${'v'.repeat(64)}`, CliError, `invalid label value "${'v'.repeat(64)}" for app: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric`],
    ['app=x-', CliError, `invalid label value "x-" for app: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric`],
    ['a=b=c', CliError, `invalid label value "b=c" for a: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric`],
    ['bad key-', CliError, 'invalid label key "bad key"'],
    ['-', CliError, 'invalid label key ""'],
    ['app', UsageError, 'expected key=value or key-, got "app"'],
    ['=value', UsageError, 'expected key=value or key-, got "=value"'],
    ['', UsageError, 'expected key=value or key-, got ""'],
  ];
  for (const [text, type, message] of rows) t.throws(() => parseLabelChange(text), { constructor: type, message }, JSON.stringify(text));
});
