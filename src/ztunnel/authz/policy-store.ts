// The ztunnel's immutable set of L4 authorization policies, indexed the way evaluation reads them: by "ns/name",
// the mesh-wide (GLOBAL) list, and per-namespace (NAMESPACE) lists. Each xDS push builds a new snapshot.
import type { Authorization } from '../../xds';
import { compileAuthorization, type CompiledPolicy } from './compiled-policy';

const NONE: readonly CompiledPolicy[] = Object.freeze([]);

function byKey(a: CompiledPolicy, b: CompiledPolicy): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Policies keyed by "namespace/name". GLOBAL policies apply to every workload whatever their namespace, NAMESPACE
 * policies to the workloads of theirs, and WORKLOAD_SELECTOR policies only to workloads that list them by key.
 * Lists are sorted by key so the DENY policy a denial names does not depend on push order.
 */
export class PolicySnapshot {
  private static readonly EMPTY = new PolicySnapshot(new Map());

  private readonly globalPolicies: readonly CompiledPolicy[];
  private readonly namespacePolicies: ReadonlyMap<string, readonly CompiledPolicy[]>;

  private constructor(private readonly policies: ReadonlyMap<string, CompiledPolicy>) {
    const global: CompiledPolicy[] = [];
    const byNamespace = new Map<string, CompiledPolicy[]>();
    for (const p of policies.values()) {
      if (p.scope === 'GLOBAL') global.push(p);
      else if (p.scope === 'NAMESPACE') {
        const list = byNamespace.get(p.namespace);
        if (list === undefined) byNamespace.set(p.namespace, [p]);
        else list.push(p);
      }
    }
    this.globalPolicies = Object.freeze(global.sort(byKey));
    const frozen = new Map<string, readonly CompiledPolicy[]>();
    for (const [ns, list] of byNamespace) frozen.set(ns, Object.freeze(list.sort(byKey)));
    this.namespacePolicies = frozen;
    Object.freeze(this);
  }

  static empty(): PolicySnapshot {
    return PolicySnapshot.EMPTY;
  }

  /** A snapshot holding exactly these policies; a later one with the same "ns/name" replaces an earlier one. */
  static from(authorizations: Iterable<Authorization>): PolicySnapshot {
    const map = new Map<string, CompiledPolicy>();
    for (const a of authorizations) {
      const compiled = compileAuthorization(a);
      map.set(compiled.key, compiled);
    }
    return new PolicySnapshot(map);
  }

  /**
   * A new snapshot with a delta-xDS update applied: `removed` holds resource names ("ns/name"), `upserted` full
   * policies. This snapshot is left untouched, so connections that started on it keep deciding from it.
   */
  withChanges(upserted: Iterable<Authorization>, removed: Iterable<string> = []): PolicySnapshot {
    const map = new Map(this.policies);
    for (const key of removed) map.delete(key);
    for (const a of upserted) {
      const compiled = compileAuthorization(a);
      map.set(compiled.key, compiled);
    }
    return new PolicySnapshot(map);
  }

  get size(): number {
    return this.policies.size;
  }

  get(key: string): CompiledPolicy | undefined {
    return this.policies.get(key);
  }

  has(key: string): boolean {
    return this.policies.has(key);
  }

  /** Every policy, sorted by key (for admin dumps such as `ambit ztunnel-config policies`). */
  all(): readonly CompiledPolicy[] {
    return [...this.policies.values()].sort(byKey);
  }

  /** GLOBAL-scope policies: istiod gives this scope to policies without selector in the root namespace. */
  global(): readonly CompiledPolicy[] {
    return this.globalPolicies;
  }

  /** NAMESPACE-scope policies of `namespace`. */
  namespaced(namespace: string): readonly CompiledPolicy[] {
    return this.namespacePolicies.get(namespace) ?? NONE;
  }
}
