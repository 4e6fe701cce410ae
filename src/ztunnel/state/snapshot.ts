// One immutable, indexed view of the ztunnel's config; a connection reads the snapshot it started with.
import type { Authorization } from '../../xds';
import type { ServiceState, WorkloadState } from './model';

export class ZtunnelSnapshot {
  readonly workloadsByIp = new Map<string, WorkloadState>();
  readonly servicesByVip = new Map<string, ServiceState>();
  readonly servicesByKey = new Map<string, ServiceState>();
  /** Workloads selected by each service ("namespace/hostname"). */
  readonly endpointsByService = new Map<string, WorkloadState[]>();

  constructor(
    readonly workloads: ReadonlyMap<string, WorkloadState>,
    readonly services: ReadonlyMap<string, ServiceState>,
    readonly authorizations: ReadonlyMap<string, Authorization>,
    /** Increments with every applied update; shown in admin views and access logs. */
    readonly generation: number,
  ) {
    for (const workload of workloads.values()) {
      for (const ip of workload.ips) this.workloadsByIp.set(ip, workload);
      for (const key of workload.services.keys()) {
        const list = this.endpointsByService.get(key);
        if (list) list.push(workload);
        else this.endpointsByService.set(key, [workload]);
      }
    }
    for (const service of services.values()) {
      this.servicesByKey.set(service.key, service);
      for (const vip of service.vips) this.servicesByVip.set(vip, service);
    }
    Object.freeze(this);
  }

  static empty(): ZtunnelSnapshot {
    return new ZtunnelSnapshot(new Map(), new Map(), new Map(), 0);
  }
}
