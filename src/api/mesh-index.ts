// Indexes a set of validated resources by what cross-object checks look up: services by host, workloads by labels, subsets by host.

import type { Service } from './core/service';
import type { Deployment } from './core/deployment';
import type { Pod } from './core/pod';
import type { DestinationRule } from './istio/destination-rule';
import type { ServiceEntry } from './istio/service-entry';
import type { LocatedResource, Resource } from './resource';

export interface IndexOptions {
  /** Istio's root namespace: selector policies there apply mesh-wide. */
  rootNamespace?: string;
  /** Cluster DNS suffix for short host names. */
  domainSuffix?: string;
}

/** Something that runs with labels: a Pod, or the pods a Deployment template will make. */
export interface Workload {
  namespace: string;
  labels: Record<string, string>;
  /** "Pod bookinfo/x" or "Deployment bookinfo/reviews-v1". */
  owner: string;
}

export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function formatSelector(selector: Record<string, string>): string {
  return Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
}

/** Does a (possibly "*."-wildcard) host cover a concrete one? */
export function hostCovers(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.toLowerCase().endsWith(pattern.slice(1).toLowerCase());
  return pattern.toLowerCase() === host.toLowerCase();
}

export class MeshIndex {
  readonly rootNamespace: string;
  readonly domainSuffix: string;
  readonly workloads: Workload[] = [];
  private readonly services = new Map<string, Service>();
  private readonly serviceEntries: ServiceEntry[] = [];
  private readonly destinationRules: DestinationRule[] = [];
  private readonly objects = new Set<string>();

  constructor(resources: readonly LocatedResource[], options: IndexOptions = {}) {
    this.rootNamespace = options.rootNamespace ?? 'istio-system';
    this.domainSuffix = options.domainSuffix ?? 'cluster.local';
    for (const { resource } of resources) this.add(resource);
  }

  private add(r: Resource): void {
    const ns = r.metadata.namespace ?? '';
    this.objects.add(`${r.kind}/${ns}/${r.metadata.name}`);
    switch (r.kind) {
      case 'Pod':
        this.workloads.push({ namespace: ns, labels: (r as Pod).metadata.labels ?? {}, owner: `Pod ${ns}/${r.metadata.name}` });
        break;
      case 'Deployment':
        this.workloads.push({ namespace: ns, labels: (r as Deployment).spec?.template.metadata?.labels ?? {}, owner: `Deployment ${ns}/${r.metadata.name}` });
        break;
      case 'Service':
        this.services.set(this.serviceFqdn(r.metadata.name, ns), r as Service);
        break;
      case 'ServiceEntry':
        this.serviceEntries.push(r as ServiceEntry);
        break;
      case 'DestinationRule':
        this.destinationRules.push(r as DestinationRule);
        break;
    }
  }

  serviceFqdn(name: string, namespace: string): string {
    return `${name}.${namespace}.svc.${this.domainSuffix}`;
  }

  /** Istio reads a host without dots as a short name in the rule's namespace; anything else is taken as written. */
  resolveHost(host: string, namespace: string): string {
    return host.includes('.') ? host : this.serviceFqdn(host, namespace);
  }

  has(kind: string, namespace: string, name: string): boolean {
    return this.objects.has(`${kind}/${namespace}/${name}`);
  }

  serviceByFqdn(fqdn: string): Service | undefined {
    return this.services.get(fqdn.toLowerCase());
  }

  serviceEntryFor(fqdn: string): ServiceEntry | undefined {
    return this.serviceEntries.find((se) => se.spec?.hosts.some((h) => hostCovers(h, fqdn)));
  }

  isKnownHost(fqdn: string): boolean {
    return this.serviceByFqdn(fqdn) !== undefined || this.serviceEntryFor(fqdn) !== undefined;
  }

  /** DestinationRules whose (resolved) host covers `fqdn`. */
  destinationRulesFor(fqdn: string): DestinationRule[] {
    return this.destinationRules.filter((dr) => dr.spec !== undefined && hostCovers(this.resolveHost(dr.spec.host, dr.metadata.namespace ?? ''), fqdn));
  }

  /** Workloads a policy selector in `namespace` applies to (every namespace when it is the root namespace). */
  workloadsSelected(namespace: string, selector: Record<string, string>): Workload[] {
    return this.workloads.filter((w) => (namespace === this.rootNamespace || w.namespace === namespace) && selects(selector, w.labels));
  }

  /** The workloads behind a host, when ambit can tell: a Service's selector or a ServiceEntry's workloadSelector. */
  workloadsBehind(fqdn: string): { backing: string; workloads: Workload[] } | undefined {
    const svc = this.serviceByFqdn(fqdn);
    const selector = svc?.spec?.selector;
    if (svc !== undefined && selector !== undefined && Object.keys(selector).length > 0) {
      const ns = svc.metadata.namespace ?? '';
      return { backing: `Service ${ns}/${svc.metadata.name}`, workloads: this.workloads.filter((w) => w.namespace === ns && selects(selector, w.labels)) };
    }
    const se = this.serviceEntryFor(fqdn);
    const seSelector = se?.spec?.workloadSelector?.labels;
    if (se !== undefined && seSelector !== undefined) {
      const ns = se.metadata.namespace ?? '';
      return { backing: `ServiceEntry ${ns}/${se.metadata.name}`, workloads: this.workloads.filter((w) => w.namespace === ns && selects(seSelector, w.labels)) };
    }
    return undefined;
  }
}
