// Reads the control plane's /debug/push_stats view (counters by type URL) into totals the benchmark can subtract.

export interface PushTotals {
  readonly pushes: number;
  readonly bytes: number;
  readonly resources: number;
  readonly removals: number;
}

const FIELDS = ['pushes', 'bytes', 'resources', 'removals'] as const;

function numberField(value: unknown, field: string): number {
  const n = (value as Record<string, unknown> | null)?.[field];
  return typeof n === 'number' ? n : 0;
}

/** Totals for one type URL, or over every type when `typeUrl` is omitted. */
export function pushTotals(view: unknown, typeUrl?: string): PushTotals {
  const byType = typeof view === 'object' && view !== null ? (view as Record<string, unknown>) : {};
  const entries = typeUrl === undefined ? Object.values(byType) : [byType[typeUrl]];
  const total = { pushes: 0, bytes: 0, resources: 0, removals: 0 };
  for (const entry of entries) for (const field of FIELDS) total[field] += numberField(entry, field);
  return total;
}

export function subtractTotals(after: PushTotals, before: PushTotals): PushTotals {
  return { pushes: after.pushes - before.pushes, bytes: after.bytes - before.bytes, resources: after.resources - before.resources, removals: after.removals - before.removals };
}
