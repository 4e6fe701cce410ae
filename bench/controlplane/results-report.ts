// Turns the control-plane benchmark's measurements into the printed report: first full push and memory,
// single-edit latencies with what each edit pushed, and where an edit's time goes.
import { profileReport, type ProfileSummary } from '../lib/cpu-profile';
import { formatNumber, type BenchCell, type BenchReport } from '../lib/report';
import { kib, median, mib, summarize } from '../lib/stats';
import type { EditSample } from './edit-measurement';
import type { MeshSize } from './mesh-fixture';

export interface FirstPush {
  /** From starting the proxies until the last / first / median proxy held every resource. */
  readonly allMs: number;
  /** From starting the proxies until the server had encoded and queued every proxy's first responses (from its log). */
  readonly serverQueuedMs: number | undefined;
  readonly firstMs: number;
  readonly medianMs: number;
  readonly addressesPerProxy: number;
  readonly authorizationsPerProxy: number;
  /** Bytes and responses the server pushed per proxy, by type. */
  readonly address: { readonly bytes: number; readonly pushes: number };
  readonly authorization: { readonly bytes: number; readonly pushes: number };
  readonly controlPlaneCpuS: number;
  /** CPU of this process (all proxies: TLS, decoding, applying) during the first push. */
  readonly proxiesCpuS: number;
}

export interface MemoryFigures {
  readonly rssBeforeClients: number;
  readonly rssAfterFirstPush: number;
  readonly heapUsedAfterFirstPush: number;
  readonly externalAfterFirstPush: number;
  /** The same after a forced full GC: what is live rather than not yet collected. */
  readonly rssAfterGc: number;
  readonly heapUsedAfterGc: number;
  readonly externalAfterGc: number;
  readonly rssAfterEdits: number;
  readonly peakRss: number;
  /** After every proxy disconnected and a forced full GC: the model without per-stream state. */
  readonly rssAfterDisconnect: number;
  readonly heapUsedAfterDisconnect: number;
  readonly externalAfterDisconnect: number;
  readonly benchRssAfterFirstPush: number;
}

export interface ControlPlaneResults {
  readonly size: MeshSize;
  readonly kinds: ReadonlyMap<string, number>;
  readonly buildMs: number;
  readonly bulkWriteMs: number;
  readonly storeBytes: number;
  readonly storeReadMs: number;
  readonly startMs: number;
  readonly expected: { readonly addresses: number; readonly authorizations: number };
  readonly firstPush: FirstPush;
  readonly memory: MemoryFigures;
  readonly policyEdits: readonly EditSample[];
  readonly podEdits: readonly EditSample[];
  readonly nacks: readonly string[];
  readonly cpus: number;
  /** 1-minute load average at the start and the end of the run: other work on the machine skews every figure. */
  readonly load: readonly [number, number];
  readonly profile?: ProfileSummary;
}

/** The xDS server's default quiet period (ControlPlane is started without debounceMs); no push leaves before it elapses. */
const DEFAULT_DEBOUNCE_MS = 100;

function defined(values: readonly (number | undefined)[]): number[] {
  return values.filter((value): value is number => value !== undefined);
}

function editRow(label: string, samples: readonly EditSample[], proxies: number): BenchCell[] {
  const latency = defined(samples.map((s) => s.allProxiesMs));
  const summary = latency.length > 0 ? summarize(latency) : undefined;
  const bytes = samples.map((s) => s.pushed.bytes);
  const resources = samples.map((s) => (s.pushed.resources + s.pushed.removals) / proxies);
  return [
    label,
    samples.length,
    summary?.p50,
    summary?.p99,
    summary?.max,
    bytes.length > 0 ? median(bytes) : undefined,
    bytes.length > 0 ? Math.max(...bytes) : undefined,
    resources.length > 0 ? median(resources) : undefined,
    resources.length > 0 ? Math.max(...resources) : undefined,
    samples.length > 0 ? median(samples.map((s) => s.pushed.pushes)) : undefined,
  ];
}

function phaseRow(label: string, samples: readonly EditSample[]): BenchCell[] {
  const med = (pick: (s: EditSample) => number | undefined) => {
    const values = defined(samples.map(pick));
    return values.length > 0 ? median(values) : undefined;
  };
  return [
    label,
    med((s) => s.writeMs),
    med((s) => s.notifiedMs),
    med((s) => s.indexMs),
    med((s) => (s.notifiedMs === undefined || s.indexMs === undefined ? undefined : s.notifiedMs + s.indexMs)),
    med((s) => s.firstQueuedMs),
    med((s) => s.lastQueuedMs),
    med((s) => s.firstProxyMs),
    med((s) => s.allProxiesMs),
    med((s) => s.changedKeys),
  ];
}

export function controlPlaneReport(results: ControlPlaneResults): BenchReport {
  const { size, firstPush, memory } = results;
  const proxies = size.clients;
  const kinds = [...results.kinds].map(([kind, count]) => `${count.toLocaleString('en-US')} ${kind}`).join(', ');
  const authorizationsMissing = results.expected.authorizations === 0;
  const firstPushTable: BenchReport = {
    title: `Control plane: first full push to ${proxies} proxies, and memory`,
    columns: ['measurement', 'value', 'unit'],
    rows: [
      ['control plane start (CA, store read, index build, bind)', results.startMs, 'ms'],
      ['first full push: all proxies hold every resource', firstPush.allMs, 'ms'],
      ['first full push: server had queued every first response', firstPush.serverQueuedMs, 'ms'],
      ['first full push: first proxy / median proxy', `${formatNumber(Math.round(firstPush.firstMs))} / ${formatNumber(Math.round(firstPush.medianMs))}`, 'ms'],
      ['resources per proxy: Address', firstPush.addressesPerProxy, 'resources'],
      ['resources per proxy: Authorization', firstPush.authorizationsPerProxy, 'resources'],
      ['bytes per proxy: Address', kib(firstPush.address.bytes), `KiB in ${firstPush.address.pushes} response(s)`],
      ['bytes per proxy: Authorization', kib(firstPush.authorization.bytes), `KiB in ${firstPush.authorization.pushes} response(s)`],
      ['control-plane CPU during first push', firstPush.controlPlaneCpuS, 's'],
      [`proxies' CPU during first push (all ${proxies}, bench process)`, firstPush.proxiesCpuS, 's'],
      ['control-plane RSS: before proxies connect', mib(memory.rssBeforeClients), 'MiB'],
      ['control-plane RSS: after first full push', mib(memory.rssAfterFirstPush), 'MiB'],
      ['control-plane heap used / external after first push', `${mib(memory.heapUsedAfterFirstPush).toFixed(0)} / ${mib(memory.externalAfterFirstPush).toFixed(0)}`, 'MiB'],
      ['control-plane RSS after a forced full GC', mib(memory.rssAfterGc), 'MiB'],
      ['control-plane heap used / external after a forced full GC', `${mib(memory.heapUsedAfterGc).toFixed(0)} / ${mib(memory.externalAfterGc).toFixed(0)}`, 'MiB'],
      ['control-plane RSS: after edits / peak (VmHWM)', `${mib(memory.rssAfterEdits).toFixed(0)} / ${mib(memory.peakRss).toFixed(0)}`, 'MiB'],
      ['control-plane RSS / heap / external after proxies left + full GC', `${mib(memory.rssAfterDisconnect).toFixed(0)} / ${mib(memory.heapUsedAfterDisconnect).toFixed(0)} / ${mib(memory.externalAfterDisconnect).toFixed(0)}`, 'MiB'],
      [`bench process RSS (${proxies} proxies) after first push`, mib(memory.benchRssAfterFirstPush), 'MiB'],
    ],
    notes: [
      `sizes: ${kinds}; ${size.nodes} nodes; ${size.namespaces} ambient namespaces; ${proxies} proxies (node-1..node-${proxies}); ${size.edits} edits of each kind`,
      `expected per proxy: ${results.expected.addresses.toLocaleString('en-US')} Address, ${results.expected.authorizations.toLocaleString('en-US')} Authorization (from /debug/resources)`,
      `store: ${mib(results.storeBytes).toFixed(1)} MiB JSON; one re-read (JSON.parse + deep freeze) ${Math.round(results.storeReadMs)} ms; fixture built in ${Math.round(results.buildMs)} ms, bulk-written in ${Math.round(results.bulkWriteMs)} ms`,
      `control plane in a child process (RSS from /proc/<pid>/status); proxies share the bench process; ${results.cpus} CPU(s), load average ${results.load[0].toFixed(1)} at start, ${results.load[1].toFixed(1)} at end`,
      `largest single response: ${mib(Math.max(firstPush.address.bytes / Math.max(firstPush.address.pushes, 1), firstPush.authorization.bytes / Math.max(firstPush.authorization.pushes, 1))).toFixed(2)} MiB (grpc clients refuse more than 4 MiB unless raised; the bench proxies allow 256 MiB)`,
      ...(authorizationsMissing ? ['translatePolicy produced no Authorization resources (placeholder translator?): policy edits reach no proxy; their rows show only the control plane side'] : []),
      ...(results.nacks.length > 0 ? [`NACKs from proxies: ${results.nacks.length} (first: ${results.nacks[0]})`] : []),
    ],
  };
  const editTable: BenchReport = {
    title: `Control plane: single edits, store write -> all ${proxies} proxies applied`,
    columns: ['edit', 'n', 'p50 ms', 'p99 ms', 'max ms', 'bytes/edit p50', 'bytes/edit max', 'res/proxy p50', 'res/proxy max', 'pushes/edit'],
    rows: [editRow('AuthorizationPolicy: one principal', results.policyEdits, proxies), editRow('Pod: version label', results.podEdits, proxies)],
    notes: [
      'bytes/edit: DeltaDiscoveryResponse bytes the server pushed for the edit, summed over proxies (from /debug/push_stats)',
      `res/proxy: resources (upserts + removals) pushed per proxy for the edit; pushes/edit: responses sent (one per proxy is ideal)`,
      `latency includes the server's ${DEFAULT_DEBOUNCE_MS} ms debounce quiet period`,
    ],
  };
  const phaseTable: BenchReport = {
    title: 'Control plane: where an edit\'s time goes (medians; ms after the store write started)',
    columns: ['edit', 'write (writer)', 'CP notified', 'index ms', 'index done', 'first queued', 'last queued', 'first proxy', 'last proxy', 'changed keys'],
    rows: [phaseRow('AuthorizationPolicy: one principal', results.policyEdits), phaseRow('Pod: version label', results.podEdits)],
    notes: [
      'write: DirectoryStore.mutate in the writer (structuredClone + isDeepStrictEqual of every object, JSON.stringify, fsync, rename, re-read)',
      'CP notified: fs.watch event + the control plane re-reading and JSON-parsing the whole store + diffing keys; index ms: MeshIndex.apply',
      `index done -> first queued: debounce (${DEFAULT_DEBOUNCE_MS} ms) + delta planning + encoding; first -> last queued: the server's loop over every stream`,
      'queued times come from the server\'s debug log (millisecond resolution); last queued -> last proxy: network, TLS, decoding and applying in the proxies',
    ],
  };
  const more: BenchReport[] = [editTable, phaseTable];
  if (results.profile) more.push(profileReport('Control-plane CPU profile (whole run)', results.profile));
  return { ...firstPushTable, more };
}
