// The request's cancellation signal behaves like an AbortSignal where the request path relies on it.
import t from 'tap';
import { RequestAbort } from '../../../../src/waypoint/pipeline/request-abort';

t.test('listeners fire once on abort; removed ones and late ones never', async (t) => {
  const abort = new RequestAbort();
  const calls: string[] = [];
  const a = (): void => void calls.push('a');
  const b = (): void => void calls.push('b');
  abort.signal.addEventListener('abort', a, { once: true });
  abort.signal.addEventListener('abort', b);
  abort.signal.removeEventListener('abort', b);
  t.equal(abort.signal.aborted, false);
  const reason = new Error('the client went away');
  abort.abort(reason);
  abort.abort(new Error('again'));
  t.same(calls, ['a'], 'a removed listener does not fire, and abort runs once');
  t.equal(abort.signal.aborted, true);
  t.equal(abort.signal.reason, reason, 'the first reason stays');
  abort.signal.addEventListener('abort', a);
  t.same(calls, ['a'], 'a listener added after the abort never fires');
});

t.test('abort without a reason gets an Error, like AbortController', async (t) => {
  const abort = new RequestAbort();
  abort.abort();
  t.type(abort.reason, Error);
});

t.test('a real AbortSignal follows it for APIs that need one', async (t) => {
  const abort = new RequestAbort();
  const signal = abort.toAbortSignal();
  t.equal(abort.toAbortSignal(), signal, 'made once');
  const combined = AbortSignal.any([signal, AbortSignal.timeout(60_000)]);
  abort.abort(new Error('gone'));
  t.equal(signal.aborted, true);
  t.equal(combined.aborted, true);
  t.equal((signal.reason as Error).message, 'gone');
  const late = new RequestAbort();
  late.abort(new Error('early'));
  t.equal(late.toAbortSignal().aborted, true, 'already aborted before the signal was asked for');
});
