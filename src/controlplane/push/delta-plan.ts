// Decides what one delta-xDS response must carry for one client and type: a pure function of the client's
// interest, what the server believes the client holds, and the catalog snapshot.
import type { CatalogSnapshot } from './types';

export interface DeltaPlanInput {
  /** The client subscribed to everything of this type. */
  readonly wildcard: boolean;
  /** Explicitly subscribed names. */
  readonly names: ReadonlySet<string>;
  /** What the client holds, as the server believes: name -> version (sent, ACKed, or reported on reconnect). */
  readonly known: ReadonlyMap<string, string>;
  /** Names the client (re)subscribed since the last response: always answered, as a resource or a removal. */
  readonly forced: ReadonlySet<string>;
  readonly snapshot: CatalogSnapshot;
}

export interface DeltaPlan {
  /** Names to send with their current version (sorted). */
  readonly upserts: readonly string[];
  /** Names to list in removed_resources (sorted). */
  readonly removals: readonly string[];
}

export function planDelta(input: DeltaPlanInput): DeltaPlan {
  const { wildcard, names, known, forced, snapshot } = input;
  const interested = (name: string): boolean => wildcard || names.has(name);

  const upserts: string[] = [];
  for (const [name, entry] of snapshot) {
    if (!interested(name)) continue;
    if (forced.has(name) || known.get(name) !== entry.version) upserts.push(name);
  }

  const removals = new Set<string>();
  for (const name of known.keys()) {
    if (!snapshot.has(name) || !interested(name)) removals.add(name);
  }
  // A client that asks for a name that does not exist is told so explicitly.
  for (const name of forced) {
    if (!snapshot.has(name)) removals.add(name);
  }

  return { upserts: upserts.sort(), removals: [...removals].sort() };
}

/**
 * planDelta restricted to `changed` (plus the forced names): the same answer as the full plan whenever every name whose
 * entry or interest differs from what the client holds is in `changed` — what the catalog reports after each change.
 * It costs the size of the change instead of the size of the catalog.
 */
export function planDeltaFor(input: DeltaPlanInput, changed: ReadonlySet<string>): DeltaPlan {
  const { wildcard, names, known, forced, snapshot } = input;
  const upserts: string[] = [];
  const removals: string[] = [];
  const consider = (name: string): void => {
    const entry = snapshot.get(name);
    const interested = wildcard || names.has(name);
    if (entry && interested) {
      if (forced.has(name) || known.get(name) !== entry.version) upserts.push(name);
    } else if (known.has(name) || forced.has(name)) {
      removals.push(name);
    }
  };
  for (const name of changed) consider(name);
  for (const name of forced) if (!changed.has(name)) consider(name);
  return { upserts: upserts.sort(), removals: removals.sort() };
}

export function isEmptyPlan(plan: DeltaPlan): boolean {
  return plan.upserts.length === 0 && plan.removals.length === 0;
}
