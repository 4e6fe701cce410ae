import t from 'tap';
import {
  bool, checkValue, custom, enumOf, formatPath, int, intOrString, list, mapOf, num, object, opaque, portNumber,
  localModeUnsupported, refine, required, str, stringMap, unsupported, type Problem, type Schema,
} from '../../../src/api/schema';
import { editDistance, suggestName } from '../../../src/api/suggest';

function reasons(schema: Schema, value: unknown, mode: 'local' | 'kubernetes' = 'local'): string[] {
  return checkValue(schema, value, { mode }).map((p) => (formatPath(p.path) === '' ? p.reason : `${formatPath(p.path)}: ${p.reason}`));
}

function problems(schema: Schema, value: unknown): Problem[] {
  return checkValue(schema, value, { mode: 'local' });
}

t.test('formatPath writes dotted fields, indexes, and quotes keys that are not identifiers', async (t) => {
  t.equal(formatPath([]), '');
  t.equal(formatPath(['spec', 'containers', 0, 'command']), 'spec.containers[0].command');
  t.equal(formatPath(['metadata', 'labels', 'app.kubernetes.io/name']), 'metadata.labels["app.kubernetes.io/name"]');
  t.equal(formatPath(['spec', 'portLevelMtls', '8080', 'mode']), 'spec.portLevelMtls["8080"].mode');
  t.equal(formatPath(['headers', 'x-user']), 'headers["x-user"]');
});

t.test('scalar schemas name what they expected and what they got', async (t) => {
  const rows: [string, Schema, unknown, string[]][] = [
    ['string ok', str(), 'a', []],
    ['string wrong type', str(), 5, ['must be a string (got 5)']],
    ['string of list', str(), [1], ['must be a string (got a list)']],
    ['string of object', str(), { a: 1 }, ['must be a string (got an object)']],
    ['string nonEmpty', str({ nonEmpty: true }), '', ['must not be empty']],
    ['string maxLength', str({ maxLength: 3 }), 'abcd', ['must be at most 3 characters (got 4)']],
    ['string format', str({ format: (s) => (s === 'x' ? 'no x' : undefined) }), 'x', ['no x']],
    ['enum ok', enumOf(['A', 'B']), 'B', []],
    ['enum bad', enumOf(['Always', 'Never']), 'Sometimes', ['must be one of Always, Never (got "Sometimes")']],
    ['enum wrong type', enumOf(['A']), true, ['must be one of A (got true)']],
    ['int ok', int({ min: 0 }), 0, []],
    ['int fraction', int(), 1.5, ['must be an integer (got 1.5)']],
    ['int string', int(), '8080', ['must be an integer (got "8080")']],
    ['int range', int({ min: 1, max: 65535 }), 70000, ['must be between 1 and 65535 (got 70000)']],
    ['int min', int({ min: 0 }), -1, ['must be at least 0 (got -1)']],
    ['int max', int({ max: 10 }), 11, ['must be at most 10 (got 11)']],
    ['port', portNumber(), 0, ['must be between 1 and 65535 (got 0)']],
    ['number ok', num({ min: 0, max: 100 }), 12.5, []],
    ['number range', num({ min: 0, max: 100 }), 100.5, ['must be between 0 and 100 (got 100.5)']],
    ['number type', num(), 'half', ['must be a number (got "half")']],
    ['bool ok', bool(), false, []],
    ['bool string', bool(), 'yes', ['must be true or false (got "yes")']],
    ['null', str(), null, ['must be a string (got null)']],
  ];
  for (const [name, schema, value, want] of rows) t.same(reasons(schema, value), want, name);
});

t.test('long strings are shortened in messages', async (t) => {
  t.same(reasons(int(), 'x'.repeat(80)), [`must be an integer (got "${'x'.repeat(57)}...")`]);
});

t.test('int-or-string picks the schema by type', async (t) => {
  const s = intOrString(portNumber(), str({ nonEmpty: true }));
  t.same(reasons(s, 80), []);
  t.same(reasons(s, 'http'), []);
  t.same(reasons(s, 0), ['must be between 1 and 65535 (got 0)']);
  t.same(reasons(s, ''), ['must not be empty']);
  t.same(reasons(s, true), ['must be an integer or a string (got true)']);
});

t.test('objects reject unknown fields and suggest a close known one', async (t) => {
  const s = object({ command: list(str()), args: list(str()), name: required(str()) });
  t.same(reasons(s, { name: 'a', comand: [] }), ['unknown field "comand" (did you mean "command"?)']);
  t.same(reasons(s, { name: 'a', Args: [] }), ['unknown field "Args" (did you mean "args"?)']);
  t.same(reasons(s, { name: 'a', image: 'x' }), ['unknown field "image"']);
  t.same(reasons(s, {}), ['name: required field is missing']);
  t.same(reasons(s, { name: null }), ['name: required field is missing'], 'null counts as absent');
  t.same(reasons(s, 'x'), ['must be an object (got "x")']);
  t.same(reasons(s, [1]), ['must be an object (got a list)']);
});

t.test('problems point at the unknown key and at the parent of a missing field', async (t) => {
  const s = object({ spec: object({ name: required(str()) }) });
  t.same(problems(s, { spec: { nmae: 'x' } }), [
    { path: ['spec'], node: ['spec', 'nmae'], reason: 'unknown field "nmae" (did you mean "name"?)' },
    { path: ['spec', 'name'], node: ['spec'], reason: 'required field is missing' },
  ]);
});

t.test('exactly-one and at-most-one groups', async (t) => {
  const s = object({ exact: str(), prefix: str(), regex: str() }, { exactlyOne: [['exact', 'prefix', 'regex']] });
  t.same(reasons(s, { exact: 'a' }), []);
  t.same(reasons(s, {}), ['exactly one of exact, prefix, regex must be set']);
  t.same(reasons(s, { exact: 'a', regex: 'b' }), ['only one of exact, prefix, regex may be set (found exact, regex)']);
  t.same(problems(s, { exact: 'a', regex: 'b' })[0].node, ['regex'], 'points at the second one');
  const m = object({ a: str(), b: str() }, { atMostOne: [['a', 'b']] });
  t.same(reasons(m, {}), []);
  t.same(reasons(m, { a: 'x', b: 'y' }), ['only one of a, b may be set (found a, b)']);
});

t.test('object refinements run only when the fields are valid', async (t) => {
  let calls = 0;
  const s = object<{ lo: number; hi: number }>(
    { lo: int(), hi: int() },
    { refine: (v, at) => { calls++; if (v.lo > v.hi) at.at('lo').fail('must not exceed hi'); } },
  );
  t.same(reasons(s, { lo: 3, hi: 1 }), ['lo: must not exceed hi']);
  t.same(reasons(s, { lo: 'x', hi: 1 }), ['lo: must be an integer (got "x")']);
  t.equal(calls, 1);
  const r = refine<string>(str(), (v, at) => { if (v !== v.toLowerCase()) at.fail('must be lower case'); });
  t.same(reasons(r, 'Ab'), ['must be lower case']);
  t.same(reasons(r, 1), ['must be a string (got 1)']);
});

t.test('lists check items, a minimum count and unique fields', async (t) => {
  const s = list(object({ name: str() }), { minItems: 1, uniqueField: 'name' });
  t.same(reasons(s, [{ name: 'a' }, { name: 'b' }]), []);
  t.same(reasons(s, []), ['must not be empty']);
  t.same(reasons(list(str(), { minItems: 2 }), ['a']), ['must have at least 2 items']);
  t.same(reasons(list(str(), { minItems: 1, tooFew: 'needs a thing' }), []), ['needs a thing']);
  t.same(reasons(s, [{ name: 'a' }, { name: 'a' }]), ['[1].name: duplicate name "a" (also used by [0])']);
  t.same(reasons(s, { name: 'a' }), ['must be a list (got an object)']);
  t.same(reasons(list(int()), [1, 'x']), ['[1]: must be an integer (got "x")']);
});

t.test('maps check keys and values', async (t) => {
  const s = mapOf(int(), str({ format: (k) => (k.includes(' ') ? 'no spaces' : undefined) }));
  t.same(reasons(s, { a: 1 }), []);
  t.same(reasons(s, { 'a b': 1 }), ['["a b"]: no spaces']);
  t.same(reasons(s, { a: 'x' }), ['a: must be an integer (got "x")']);
  t.same(reasons(stringMap(), { a: 1 }), ['a: must be a string (got 1)']);
  t.same(reasons(stringMap(), []), ['must be an object (got a list)']);
});

t.test('opaque, unsupported, mode-dependent and custom schemas', async (t) => {
  t.same(reasons(opaque(), { anything: [1] }), []);
  t.same(reasons(unsupported('not here'), 1), ['not here']);
  t.same(reasons(localModeUnsupported('only in a cluster'), 1, 'local'), ['only in a cluster']);
  t.same(reasons(localModeUnsupported('only in a cluster'), 1, 'kubernetes'), []);
  t.same(reasons(custom((v, at) => { if (v !== 1) at.fail('want 1'); }), 2), ['want 1']);
});

t.test('suggestions use edit distance up to 2, closer for short names', async (t) => {
  t.equal(editDistance('kitten', 'sitting'), 3);
  t.equal(editDistance('', 'ab'), 2);
  t.equal(suggestName('comand', ['command', 'args']), 'command');
  t.equal(suggestName('selectr', ['selector', 'action']), 'selector');
  t.equal(suggestName('matchlabels', ['matchLabels']), 'matchLabels');
  t.equal(suggestName('to', ['tcp', 'tls']), undefined);
  t.equal(suggestName('fro', ['from', 'to']), 'from');
  t.equal(suggestName('zzzzzz', ['command']), undefined);
});
