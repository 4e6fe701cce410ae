// Reconnect backoff: exponential, capped, jittered within [half, all] of the ceiling.
import t from 'tap';
import { backoffDelay } from '../../../src/xds';

t.test('backoffDelay', async (t) => {
  const policy = { initialMs: 100, maxMs: 1000 };
  t.same([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, policy, () => 1)), [100, 200, 400, 800, 1000, 1000], 'doubles up to the cap');
  t.same([0, 1, 4].map((n) => backoffDelay(n, policy, () => 0)), [50, 100, 500], 'jitter never goes below half');
  t.equal(backoffDelay(1_000_000, policy, () => 0.5), 750, 'huge attempt counts stay finite');
});
