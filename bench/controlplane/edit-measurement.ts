// Measures single-object edits end to end: one store write, then when the control plane noticed it, how long its
// index took, and when the first and the last proxy applied the result; plus what the server pushed for it.
import { randomBytes } from 'node:crypto';
import type { Resource } from '../../src/api';
import type { DirectoryStore } from '../../src/local/store/directory-store';
import { BenchTimeout } from '../lib/benchmark';
import { epochNow } from './child-protocol';
import type { ControlPlaneProcess } from './control-plane-process';
import type { ProxyFleet } from './proxy-fleet';
import { loggedPushes } from './server-log';
import { pushTotals, subtractTotals, type PushTotals } from './push-totals';

export interface EditSample {
  /** The writer's own cost: DirectoryStore.mutate (clone, diff, JSON write, fsync, re-read). */
  readonly writeMs: number;
  /** From the start of the write until the control plane had re-read the store and diffed it. */
  readonly notifiedMs: number | undefined;
  /** MeshIndex.apply for this change, in the control plane. */
  readonly indexMs: number | undefined;
  readonly changedKeys: number | undefined;
  /** From the start of the write until the first / the last proxy applied the change; undefined when nothing was pushed. */
  readonly firstProxyMs: number | undefined;
  readonly allProxiesMs: number | undefined;
  /** From the start of the write until the server queued its first / last response for the edit (from its log). */
  readonly firstQueuedMs: number | undefined;
  readonly lastQueuedMs: number | undefined;
  /** What the server pushed for this edit, summed over proxies and types. */
  readonly pushed: PushTotals;
  /** Resources the proxies applied for this edit, summed over proxies. */
  readonly proxyResources: number;
}

export interface EditPlan {
  readonly step: string;
  /** Changes one object in the store's draft. */
  readonly edit: (objects: Map<string, Resource>) => void;
  /** A string the pushed resource will contain once applied; undefined when nothing is expected to reach proxies. */
  readonly marker: string | undefined;
  readonly typeUrl: string;
}

export interface EditContext {
  readonly store: DirectoryStore;
  readonly controlPlane: ControlPlaneProcess;
  readonly fleet: ProxyFleet;
  readonly timeoutMs: number;
  /** Quiet time after each edit so trailing pushes are counted and edits do not overlap (> the server's debounce). */
  readonly settleMs: number;
}

export function uniqueMarker(prefix: string, index: number): string {
  return `${prefix}-${index}-${randomBytes(3).toString('hex')}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function nextChangeReport(controlPlane: ControlPlaneProcess, after: number, step: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (controlPlane.changes.length <= after) {
    if (performance.now() > deadline) throw new BenchTimeout(step, timeoutMs, 'the control plane never reported the store change');
    await sleep(5);
  }
}

export async function measureEdit(context: EditContext, plan: EditPlan): Promise<EditSample> {
  const { store, controlPlane, fleet } = context;
  const pushedBefore = pushTotals(await controlPlane.debug('/debug/push_stats'));
  const changesBefore = controlPlane.changes.length;
  fleet.resetCounters();

  const startedEpoch = epochNow();
  const started = performance.now();
  store.mutate(plan.edit);
  const writeMs = performance.now() - started;
  const proxies = plan.marker === undefined ? undefined : await fleet.waitForMarker(plan.typeUrl, plan.marker, plan.step, context.timeoutMs);
  await nextChangeReport(controlPlane, changesBefore, plan.step, context.timeoutMs);
  await sleep(context.settleMs);

  const change = controlPlane.changes[changesBefore];
  const queued = loggedPushes(controlPlane.logFile).filter((push) => push.at >= Math.floor(startedEpoch)).map((push) => push.at - startedEpoch);
  const pushedAfter = pushTotals(await controlPlane.debug('/debug/push_stats'));
  return {
    writeMs,
    notifiedMs: change.notifiedAt - startedEpoch,
    indexMs: change.applyMs,
    changedKeys: change.changedKeys,
    firstProxyMs: proxies ? Math.min(...proxies.doneAt) - started : undefined,
    allProxiesMs: proxies ? Math.max(...proxies.doneAt) - started : undefined,
    firstQueuedMs: queued.length > 0 ? Math.min(...queued) : undefined,
    lastQueuedMs: queued.length > 0 ? Math.max(...queued) : undefined,
    pushed: subtractTotals(pushedAfter, pushedBefore),
    proxyResources: fleet.counters().resources,
  };
}
