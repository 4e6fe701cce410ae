// The enrollment protocol's encoding and validation: good messages round-trip, bad lines become typed errors, the reader copes with any chunking.
import t from 'tap';
import { decodeAgentMessage, decodeZtunnelMessage, encodeMessage, EnrollmentProtocolError, MessageReader, type AgentMessage, type EnrolledPod } from '../../../src/cni/protocol';

const POD: EnrolledPod = { uid: 'u-1', name: 'web', namespace: 'apps', serviceAccount: 'web-sa', ips: ['10.44.1.2'], netns: '/var/run/netns/c-pod-apps-web' };

t.test('every agent message round-trips through one JSON line', async (t) => {
  const messages: AgentMessage[] = [{ type: 'add', pod: POD }, { type: 'del', uid: 'u-1' }, { type: 'snapshot-sent' }];
  for (const message of messages) {
    const line = encodeMessage(message);
    t.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), `${message.type} is one line`);
    t.same(decodeAgentMessage(line.trimEnd()), { ok: true, message });
  }
  t.equal(encodeMessage({ type: 'del', uid: 'u-1' }), '{"type":"del","uid":"u-1"}\n');
});

t.test('ztunnel answers round-trip; an ack may carry uid "" when it answers an unreadable line', async (t) => {
  t.same(decodeZtunnelMessage('{"type":"ack","uid":"u-1"}'), { ok: true, message: { type: 'ack', uid: 'u-1' } });
  t.same(decodeZtunnelMessage('{"type":"nack","uid":"","reason":"bad"}'), { ok: true, message: { type: 'nack', uid: '', reason: 'bad' } });
});

t.test('bad agent lines produce typed errors that name the problem and keep the uid when there is one', async (t) => {
  const cases: [string, string, RegExp, string][] = [
    ['not JSON', '{"type":', /not JSON/, ''],
    ['an array', '[1,2]', /not a JSON object/, ''],
    ['an unknown type', '{"type":"keep","uid":"u-9"}', /unknown message type "keep"/, 'u-9'],
    ['add without a pod', '{"type":"add"}', /pod must be an object/, ''],
    ['add with an empty name', JSON.stringify({ type: 'add', pod: { ...POD, name: '' } }), /pod\.name must not be empty/, 'u-1'],
    ['add with a bad ip', JSON.stringify({ type: 'add', pod: { ...POD, ips: ['10.0.0.1', 'nope'] } }), /pod\.ips\[1\] is not an IP address/, 'u-1'],
    ['add with ips not an array', JSON.stringify({ type: 'add', pod: { ...POD, ips: '10.0.0.1' } }), /pod\.ips must be an array/, 'u-1'],
    ['add with a relative netns', JSON.stringify({ type: 'add', pod: { ...POD, netns: 'c-pod-apps-web' } }), /pod\.netns must be an absolute path/, 'u-1'],
    ['add with a numeric uid', JSON.stringify({ type: 'add', pod: { ...POD, uid: 7 } }), /pod\.uid must be a string/, ''],
    ['del without uid', '{"type":"del"}', /uid must be a string/, ''],
  ];
  for (const [what, line, reason, uid] of cases) {
    const decoded = decodeAgentMessage(line);
    if (decoded.ok) {
      t.fail(`${what} was accepted`);
      continue;
    }
    t.ok(decoded.error instanceof EnrollmentProtocolError, what);
    t.equal(decoded.error.code, 'ENROLLMENT_PROTOCOL_ERROR', what);
    t.match(decoded.error.message, reason, what);
    t.equal(decoded.error.uid, uid, `${what}: uid`);
  }
});

t.test('bad ztunnel lines produce typed errors', async (t) => {
  for (const line of ['nope', '{"type":"ack"}', '{"type":"nack","uid":"u"}', '{"type":"hello","uid":"u"}']) {
    const decoded = decodeZtunnelMessage(line);
    t.equal(decoded.ok, false, line);
    if (!decoded.ok) t.equal(decoded.error.code, 'ENROLLMENT_PROTOCOL_ERROR');
  }
});

t.test('the reader reassembles lines split across chunks, skips blank lines and keeps split UTF-8 intact', async (t) => {
  const reader = new MessageReader(decodeZtunnelMessage);
  const text = Buffer.from('{"type":"nack","uid":"u-1","reason":"netns gone: café"}\n\n{"type":"ack","uid":"u-2"}\r\n');
  const seen: unknown[] = [];
  for (let i = 0; i < text.length; i += 7) seen.push(...reader.push(text.subarray(i, i + 7)));
  t.same(seen, [
    { ok: true, message: { type: 'nack', uid: 'u-1', reason: 'netns gone: café' } },
    { ok: true, message: { type: 'ack', uid: 'u-2' } },
  ]);
});

t.test('an over-long line yields one error, is skipped to its newline, and the next line still decodes', async (t) => {
  const reader = new MessageReader(decodeZtunnelMessage, 64);
  const first = reader.push('x'.repeat(100));
  t.equal(first.length, 1);
  t.match(first[0], { ok: false, error: { code: 'ENROLLMENT_PROTOCOL_ERROR', message: /longer than 64 characters/ } });
  t.same(reader.push('y'.repeat(100)), [], 'the rest of the long line is dropped silently');
  t.same(reader.push('\n{"type":"ack","uid":"u"}\n'), [{ ok: true, message: { type: 'ack', uid: 'u' } }]);
});
