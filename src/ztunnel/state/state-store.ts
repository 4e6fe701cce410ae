// The ztunnel's only writer of config: xDS updates are converted first, then swapped in as a new snapshot.
import { EventEmitter } from 'node:events';
import type { Address, Authorization, XdsUpdate } from '../../xds';
import { addressState } from './convert';
import type { ServiceState, WorkloadState } from './model';
import { ZtunnelSnapshot } from './snapshot';

export class StateStore extends EventEmitter<{ updated: [snapshot: ZtunnelSnapshot] }> {
  private snapshot = ZtunnelSnapshot.empty();
  /** Which model entry each Address resource name produced, so removals know what to drop. */
  private readonly addressKinds = new Map<string, { kind: 'workload' | 'service'; key: string }>();

  current(): ZtunnelSnapshot {
    return this.snapshot;
  }

  /** Applies an Address update; throws (nothing changes) if any resource cannot be converted. */
  applyAddresses(update: XdsUpdate<Address>): void {
    const converted = [...update.upserts].map(([name, address]) => ({ name, state: addressState(name, address) }));
    const workloads = new Map(this.snapshot.workloads);
    const services = new Map(this.snapshot.services);
    const kinds = new Map(this.addressKinds);
    for (const name of update.removals) {
      const known = kinds.get(name);
      if (known?.kind === 'workload') workloads.delete(known.key);
      if (known?.kind === 'service') services.delete(known.key);
      kinds.delete(name);
    }
    for (const { name, state } of converted) {
      if (state.kind === 'workload') {
        workloads.set(state.workload.uid, state.workload as WorkloadState);
        kinds.set(name, { kind: 'workload', key: state.workload.uid });
      } else {
        services.set(state.service.key, state.service as ServiceState);
        kinds.set(name, { kind: 'service', key: state.service.key });
      }
    }
    this.addressKinds.clear();
    for (const [name, kind] of kinds) this.addressKinds.set(name, kind);
    this.swap(new ZtunnelSnapshot(workloads, services, this.snapshot.authorizations, this.snapshot.generation + 1));
  }

  applyAuthorizations(update: XdsUpdate<Authorization>): void {
    const authorizations = new Map(this.snapshot.authorizations);
    for (const name of update.removals) authorizations.delete(name);
    for (const [name, authorization] of update.upserts) authorizations.set(name, authorization);
    this.swap(new ZtunnelSnapshot(this.snapshot.workloads, this.snapshot.services, authorizations, this.snapshot.generation + 1));
  }

  private swap(next: ZtunnelSnapshot): void {
    this.snapshot = next;
    this.emit('updated', next);
  }
}
