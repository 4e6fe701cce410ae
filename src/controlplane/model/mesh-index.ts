// The control plane's incremental index: cluster objects in, encoded xDS resources out, recomputing only what a change touches.
import type { PodSpec, Resource, ServiceEntrySpec, ServiceSpec, WorkloadEntrySpec } from '../../api';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, encodeAddress, encodeAuthorization, encodeWaypointConfig, WAYPOINT_TYPE_URL } from '../../xds';
import type { CatalogEntry } from '../push';
import { serviceAddress, serviceResourceName, workloadAddress, workloadResourceName } from '../translate/address';
import type { PolicyTranslator } from '../translate/policies';
import { serviceWaypoint, waypointsFrom, workloadWaypoint, type WaypointModel } from './waypoints';
import { ROOT_NAMESPACE, type PortModel, type ServiceModel, type TranslatedPolicy, type WaypointRef, type WorkloadModel, workloadIdentity } from './types';
import { selectorMatches, serviceModel, workloadModel } from './workloads';
import { serviceEntryServices, serviceEntryServicesForPod, serviceEntryWorkloads } from './service-entries';
import { VersionedCatalog } from './versioned-catalog';

/** What one ServiceEntry contributes: a service per host, a workload per inline endpoint. */
interface ServiceEntryModels {
  readonly services: readonly ServiceModel[];
  readonly workloads: readonly WorkloadModel[];
  /** It has a workloadSelector, so its pods' workloads carry its services. */
  readonly selectsPods: boolean;
}

export interface MeshIndexOptions {
  readonly trustDomain: string;
  readonly rootNamespace?: string;
  /** Turns AuthorizationPolicies and PeerAuthentications into the Authorizations ztunnels enforce. */
  readonly policies: PolicyTranslator;
  /** Builds the L7 config document a waypoint receives (absent: waypoints get no config). */
  readonly waypointConfig?: WaypointConfigBuilder;
}

export interface WaypointConfigInput {
  readonly gateway: Resource;
  readonly identity: string;
  readonly services: readonly ServiceModel[];
  readonly workloads: readonly WorkloadModel[];
  /** Workloads whose own-IP traffic this waypoint serves (waypoint-for workload|all). */
  readonly directWorkloads: readonly WorkloadModel[];
  readonly objects: ReadonlyMap<string, Resource>;
  readonly trustDomain: string;
}

export type WaypointConfigBuilder = (input: WaypointConfigInput) => { readonly config: unknown; readonly warnings: readonly string[] };


function namespaceOfKey(key: string): string | undefined {
  const parts = key.split('/');
  return parts.length === 3 ? parts[1] : undefined;
}

export class MeshIndex {
  private objects: ReadonlyMap<string, Resource> = new Map();
  private readonly podKeysByNamespace = new Map<string, Set<string>>();
  private readonly serviceKeysByNamespace = new Map<string, Set<string>>();
  private readonly serviceEntryKeysByNamespace = new Map<string, Set<string>>();
  private readonly serviceEntryModels = new Map<string, ServiceEntryModels>();
  private readonly workloadsByPod = new Map<string, WorkloadModel>();
  private readonly servicesByKey = new Map<string, ServiceModel>();
  private readonly policiesBySource = new Map<string, TranslatedPolicy>();
  private readonly peerAuthenticationKeys = new Set<string>();
  private peerAuthenticationPolicies: readonly TranslatedPolicy[] = [];
  private readonly catalog = new VersionedCatalog([ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, WAYPOINT_TYPE_URL]);
  private waypoints = new Map<string, WaypointModel>();
  private readonly lastWaypointWarnings = new Map<string, string>();
  private readonly rootNamespace: string;

  constructor(private readonly options: MeshIndexOptions) {
    this.rootNamespace = options.rootNamespace ?? ROOT_NAMESPACE;
  }

  /** The resource names the latest apply() added, changed or removed, by type URL: what proxies may need pushed. */
  lastChangedNames(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.catalog.changedNames();
  }

  /** The encoded resources of one type, by resource name. The map is replaced, never mutated, after it is handed out. */
  resources(typeUrl: string): ReadonlyMap<string, CatalogEntry> {
    return this.catalog.resources(typeUrl);
  }

  workloads(): WorkloadModel[] {
    return [...this.workloadsByPod.values(), ...[...this.serviceEntryModels.values()].flatMap((models) => models.workloads)];
  }

  services(): ServiceModel[] {
    return [...this.servicesByKey.values(), ...[...this.serviceEntryModels.values()].flatMap((models) => models.services)];
  }

  policies(): TranslatedPolicy[] {
    return [...this.policiesBySource.values(), ...this.peerAuthenticationPolicies];
  }

  /** Whether a pod with this SPIFFE identity is scheduled on `node` (the CA signs only those for that node's ztunnel). */
  nodeRunsIdentity(node: string, identity: string): boolean {
    for (const workload of this.workloadsByPod.values()) {
      if (workload.node === node && workloadIdentity(workload) === identity) return true;
    }
    return false;
  }

  /** Applies a change; returns the xDS type URLs whose resources changed. Pass every key on the first call. */
  apply(objects: ReadonlyMap<string, Resource>, changed: ReadonlySet<string>): Set<string> {
    // Whatever an apply that threw left half-written must not be published by the next one.
    this.catalog.begin();
    this.objects = objects;
    const pods = new Set<string>();
    const services = new Set<string>();
    const policies = new Set<string>();
    const serviceEntries = new Set<string>();
    let peerAuthenticationChanged = false;
    let waypointsMayChange = false;
    for (const key of changed) {
      const kind = key.slice(0, key.indexOf('/'));
      const namespace = namespaceOfKey(key);
      this.reindex(key, kind, namespace);
      if (kind === 'Pod') {
        pods.add(key);
        // A per-service-account waypoint fronts a service only while every pod it selects runs as that account.
        if (namespace && this.hasServiceAccountWaypoint(namespace)) this.servicesIn(namespace).forEach((service) => services.add(service));
      } else if (kind === 'Namespace') {
        const ns = key.slice('Namespace/'.length);
        this.podsIn(ns).forEach((pod) => pods.add(pod));
        this.servicesIn(ns).forEach((service) => services.add(service));
        this.serviceEntriesIn(ns).forEach((entry) => serviceEntries.add(entry));
      } else if (kind === 'ServiceEntry' && namespace) {
        serviceEntries.add(key);
        // Pods it selected, or selects now, gain or lose its services; unchanged pods re-encode identically and are not pushed.
        const selected = this.serviceEntryModels.get(key)?.selectsPods ?? false;
        if (selected || (this.objects.get(key)?.spec as ServiceEntrySpec | undefined)?.workloadSelector) this.podsIn(namespace).forEach((pod) => pods.add(pod));
      } else if (kind === 'Service' && namespace) {
        services.add(key);
        this.podsIn(namespace).forEach((pod) => pods.add(pod));
        waypointsMayChange = true;
      } else if (kind === 'Node') {
        // A node's topology labels are its pods' locality.
        const node = key.slice('Node/'.length);
        for (const podKeys of this.podKeysByNamespace.values()) {
          for (const pod of podKeys) if ((this.objects.get(pod)?.spec as PodSpec | undefined)?.nodeName === node) pods.add(pod);
        }
      } else if (kind === 'Gateway') {
        waypointsMayChange = true;
      } else if (kind === 'AuthorizationPolicy' && namespace) {
        policies.add(key);
        const scope = namespace === this.rootNamespace ? [...this.podKeysByNamespace.keys()] : [namespace];
        for (const ns of scope) this.podsIn(ns).forEach((pod) => pods.add(pod));
        for (const ns of scope) this.serviceEntriesIn(ns).forEach((entry) => serviceEntries.add(entry));
      } else if (kind === 'PeerAuthentication') {
        if (this.objects.has(key)) this.peerAuthenticationKeys.add(key);
        else this.peerAuthenticationKeys.delete(key);
        peerAuthenticationChanged = true;
      }
    }
    if (waypointsMayChange && this.refreshWaypoints()) {
      // A waypoint appeared, moved or went: every binding may differ.
      for (const keys of this.podKeysByNamespace.values()) keys.forEach((pod) => pods.add(pod));
      for (const keys of this.serviceKeysByNamespace.values()) keys.forEach((service) => services.add(service));
      for (const keys of this.serviceEntryKeysByNamespace.values()) keys.forEach((entry) => serviceEntries.add(entry));
    }
    const changedTypes = new Set<string>();
    for (const key of policies) if (this.recomputePolicy(key)) changedTypes.add(AUTHORIZATION_TYPE_URL);
    if (peerAuthenticationChanged) {
      // A PeerAuthentication's meaning depends on the namespace- and mesh-wide ones, so the set is recomputed together.
      if (this.recomputePeerAuthentications()) changedTypes.add(AUTHORIZATION_TYPE_URL);
      for (const podKeys of this.podKeysByNamespace.values()) podKeys.forEach((pod) => pods.add(pod));
      for (const keys of this.serviceEntryKeysByNamespace.values()) keys.forEach((entry) => serviceEntries.add(entry));
    }
    for (const key of services) if (this.recomputeService(key)) changedTypes.add(ADDRESS_TYPE_URL);
    for (const key of serviceEntries) if (this.recomputeServiceEntry(key)) changedTypes.add(ADDRESS_TYPE_URL);
    for (const key of pods) if (this.recomputeWorkload(key)) changedTypes.add(ADDRESS_TYPE_URL);
    if (changed.size > 0 && this.rebuildWaypointConfigs()) changedTypes.add(WAYPOINT_TYPE_URL);
    this.catalog.commit();
    return changedTypes;
  }

  private reindex(key: string, kind: string, namespace: string | undefined): void {
    const index = kind === 'Pod' ? this.podKeysByNamespace : kind === 'Service' ? this.serviceKeysByNamespace : kind === 'ServiceEntry' ? this.serviceEntryKeysByNamespace : undefined;
    if (!index || !namespace) return;
    const keys = index.get(namespace) ?? new Set<string>();
    if (this.objects.has(key)) keys.add(key);
    else keys.delete(key);
    index.set(namespace, keys);
  }

  private hasServiceAccountWaypoint(namespace: string): boolean {
    for (const waypoint of this.waypoints.values()) if (waypoint.forServiceAccount && waypoint.namespace === namespace) return true;
    return false;
  }

  private servicesIn(namespace: string): string[] {
    return [...(this.serviceKeysByNamespace.get(namespace) ?? [])];
  }

  private serviceEntriesIn(namespace: string): string[] {
    return [...(this.serviceEntryKeysByNamespace.get(namespace) ?? [])];
  }

  private refreshWaypoints(): boolean {
    const next = waypointsFrom(this.objects, this.options.trustDomain);
    const same = next.size === this.waypoints.size && [...next].every(([key, waypoint]) => JSON.stringify(this.waypoints.get(key)) === JSON.stringify(waypoint));
    this.waypoints = next;
    return !same;
  }

  private waypointRef(waypoint: WaypointModel | undefined): WaypointRef | undefined {
    return waypoint?.vip ? { key: waypoint.key, ip: waypoint.vip, port: 15008, identity: waypoint.identity } : undefined;
  }

  /** Rebuilds every waypoint's config document; the version hash keeps unchanged ones off the wire. */
  private rebuildWaypointConfigs(): boolean {
    const builder = this.options.waypointConfig;
    if (!builder) return false;
    let changed = false;
    const existing = this.catalog.current(WAYPOINT_TYPE_URL);
    for (const name of [...existing.keys()]) if (!this.waypoints.has(name)) changed = this.put(WAYPOINT_TYPE_URL, name, undefined) || changed;
    const workloads = this.workloads();
    const services = this.services();
    for (const waypoint of this.waypoints.values()) {
      const gateway = this.objects.get(`Gateway/${waypoint.namespace}/${waypoint.name}`);
      if (!gateway) continue;
      const served = services.filter((service) => service.waypoint?.key === waypoint.key);
      const directWorkloads = workloads.filter((workload) => workload.waypoint?.key === waypoint.key);
      const { config, warnings } = builder({ gateway, identity: waypoint.identity, services: served, workloads, directWorkloads, objects: this.objects, trustDomain: this.options.trustDomain });
      const warningText = warnings.join('\n');
      if (warningText && this.lastWaypointWarnings.get(waypoint.key) !== warningText) this.onWaypointWarnings?.(waypoint.key, warnings);
      this.lastWaypointWarnings.set(waypoint.key, warningText);
      const bytes = encodeWaypointConfig({ name: waypoint.name, namespace: waypoint.namespace, json: JSON.stringify(config) });
      changed = this.put(WAYPOINT_TYPE_URL, waypoint.key, bytes) || changed;
    }
    return changed;
  }

  /** Called with a waypoint's config warnings when they change (the server logs them once). */
  onWaypointWarnings?: (waypoint: string, warnings: readonly string[]) => void;

  private podsIn(namespace: string): string[] {
    return [...(this.podKeysByNamespace.get(namespace) ?? [])];
  }

  private put(typeUrl: string, name: string, bytes: Uint8Array | undefined): boolean {
    return this.catalog.put(typeUrl, name, bytes);
  }

  private recomputePolicy(key: string): boolean {
    const previous = this.policiesBySource.get(key);
    const object = this.objects.get(key);
    const translated = object ? this.options.policies.authorizationPolicy(object) : undefined;
    if (translated) this.policiesBySource.set(key, translated);
    else this.policiesBySource.delete(key);
    let changed = false;
    if (previous && previous.name !== translated?.name) changed = this.put(AUTHORIZATION_TYPE_URL, previous.name, undefined);
    if (translated) changed = this.put(AUTHORIZATION_TYPE_URL, translated.name, encodeAuthorization(translated.authorization)) || changed;
    return changed;
  }

  private peerAuthenticationObjects(): Resource[] {
    return [...this.peerAuthenticationKeys].map((key) => this.objects.get(key)).filter((object): object is Resource => object !== undefined);
  }

  private recomputePeerAuthentications(): boolean {
    const previous = this.peerAuthenticationPolicies;
    const next = this.options.policies.peerAuthentications(this.peerAuthenticationObjects());
    this.peerAuthenticationPolicies = next;
    let changed = false;
    const kept = new Set(next.map((policy) => policy.name));
    for (const policy of previous) if (!kept.has(policy.name)) changed = this.put(AUTHORIZATION_TYPE_URL, policy.name, undefined) || changed;
    for (const policy of next) changed = this.put(AUTHORIZATION_TYPE_URL, policy.name, encodeAuthorization(policy.authorization)) || changed;
    return changed;
  }

  private recomputeService(key: string): boolean {
    const previous = this.servicesByKey.get(key);
    const object = this.objects.get(key) as Resource<ServiceSpec> | undefined;
    let model: ServiceModel | undefined;
    if (object) {
      const namespace = object.metadata.namespace ?? 'default';
      const pods = this.podsIn(namespace).map((podKey) => this.objects.get(podKey)).filter((pod): pod is Resource => pod !== undefined);
      model = serviceModel(object, this.waypointRef(serviceWaypoint(object, this.objects.get(`Namespace/${namespace}`), this.waypoints, pods)));
    }
    let changed = false;
    if (previous && (!model || serviceResourceName(previous) !== serviceResourceName(model))) {
      changed = this.put(ADDRESS_TYPE_URL, serviceResourceName(previous), undefined);
    }
    if (model) {
      this.servicesByKey.set(key, model);
      changed = this.put(ADDRESS_TYPE_URL, serviceResourceName(model), encodeAddress(serviceAddress(model))) || changed;
    } else {
      this.servicesByKey.delete(key);
    }
    return changed;
  }

  /** A pod's workload plus the services of the ServiceEntries whose workloadSelector selects it. */
  private withServiceEntries(model: WorkloadModel, namespace: string, labels: Readonly<Record<string, string>>): WorkloadModel {
    let services: Map<string, readonly PortModel[]> | undefined;
    for (const key of this.serviceEntriesIn(namespace)) {
      const entry = this.objects.get(key) as Resource<ServiceEntrySpec> | undefined;
      if (!entry) continue;
      for (const [name, ports] of serviceEntryServicesForPod(entry, namespace, labels)) {
        services ??= new Map(model.services);
        // A Kubernetes Service of the same name keeps its own ports.
        if (!services.has(name)) services.set(name, ports);
      }
    }
    return services ? { ...model, services } : model;
  }

  private recomputeServiceEntry(key: string): boolean {
    const previous = this.serviceEntryModels.get(key);
    const entry = this.objects.get(key) as Resource<ServiceEntrySpec> | undefined;
    let next: ServiceEntryModels | undefined;
    if (entry) {
      const namespace = entry.metadata.namespace ?? 'default';
      const namespaceObject = this.objects.get(`Namespace/${namespace}`);
      const waypoint = this.waypointRef(serviceWaypoint(entry, namespaceObject, this.waypoints, []));
      const waypointFor = (endpoint: WorkloadEntrySpec) => {
        // An endpoint has no object of its own: judge its binding as istiod does, from its labels in the entry's namespace.
        const stand: Resource = { apiVersion: 'v1', kind: 'Pod', metadata: { name: entry.metadata.name, namespace, labels: endpoint.labels ?? {} }, spec: { containers: [], serviceAccountName: endpoint.serviceAccount } };
        return this.waypointRef(workloadWaypoint(stand, namespaceObject, this.waypoints));
      };
      next = {
        services: serviceEntryServices(entry, waypoint),
        workloads: serviceEntryWorkloads(entry, { trustDomain: this.options.trustDomain, selectorPolicies: this.selectorPoliciesFor(namespace, entry.metadata.labels ?? {}), waypointFor }),
        selectsPods: (entry.spec as ServiceEntrySpec | undefined)?.workloadSelector !== undefined,
      };
    }
    const encoded = new Map<string, Uint8Array>();
    for (const service of next?.services ?? []) encoded.set(serviceResourceName(service), encodeAddress(serviceAddress(service)));
    for (const workload of next?.workloads ?? []) encoded.set(workloadResourceName(workload), encodeAddress(workloadAddress(workload)));
    let changed = false;
    for (const service of previous?.services ?? []) if (!encoded.has(serviceResourceName(service))) changed = this.put(ADDRESS_TYPE_URL, serviceResourceName(service), undefined) || changed;
    for (const workload of previous?.workloads ?? []) if (!encoded.has(workloadResourceName(workload))) changed = this.put(ADDRESS_TYPE_URL, workloadResourceName(workload), undefined) || changed;
    for (const [name, bytes] of encoded) changed = this.put(ADDRESS_TYPE_URL, name, bytes) || changed;
    if (next) this.serviceEntryModels.set(key, next);
    else this.serviceEntryModels.delete(key);
    return changed;
  }

  private selectorPoliciesFor(namespace: string, labels: Readonly<Record<string, string>>): string[] {
    const names: string[] = [];
    for (const policy of this.policiesBySource.values()) {
      if (policy.scope !== 'WORKLOAD_SELECTOR') continue;
      if (policy.namespace !== namespace && policy.namespace !== this.rootNamespace) continue;
      if (selectorMatches(policy.selector, labels)) names.push(policy.name);
    }
    names.sort();
    // istiod's order: selector AuthorizationPolicies, then PeerAuthentication-derived ones.
    if (this.peerAuthenticationKeys.size > 0) names.push(...this.options.policies.peerAuthenticationKeys(this.peerAuthenticationObjects(), namespace, labels));
    return names;
  }

  private recomputeWorkload(key: string): boolean {
    const previous = this.workloadsByPod.get(key);
    const pod = this.objects.get(key) as Resource<PodSpec> | undefined;
    let model: WorkloadModel | undefined;
    if (pod) {
      const namespace = pod.metadata.namespace ?? 'default';
      const namespaceObject = this.objects.get(`Namespace/${namespace}`);
      const services = [...(this.serviceKeysByNamespace.get(namespace) ?? [])].map((serviceKey) => this.objects.get(serviceKey)).filter((s): s is Resource<ServiceSpec> => s !== undefined);
      const nodeName = (pod.spec as PodSpec | undefined)?.nodeName;
      model = workloadModel(pod, {
        namespaceLabels: namespaceObject?.metadata.labels,
        nodeLabels: nodeName ? this.objects.get(`Node/${nodeName}`)?.metadata.labels : undefined,
        services,
        selectorPolicies: this.selectorPoliciesFor(namespace, pod.metadata.labels ?? {}),
        trustDomain: this.options.trustDomain,
        waypoint: this.waypointRef(workloadWaypoint(pod, namespaceObject, this.waypoints)),
      });
      if (model) model = this.withServiceEntries(model, namespace, pod.metadata.labels ?? {});
    }
    let changed = false;
    if (previous && (!model || workloadResourceName(previous) !== workloadResourceName(model))) {
      changed = this.put(ADDRESS_TYPE_URL, workloadResourceName(previous), undefined);
    }
    if (model) {
      this.workloadsByPod.set(key, model);
      changed = this.put(ADDRESS_TYPE_URL, workloadResourceName(model), encodeAddress(workloadAddress(model))) || changed;
    } else {
      this.workloadsByPod.delete(key);
    }
    return changed;
  }
}
