// Builds one waypoint's config document from the mesh model and the stored routing and policy objects: pure and deterministic.
//
// When a served service has both a VirtualService and an HTTPRoute, Istio documents the mix as unsupported
// ("undefined behavior") and recommends HTTPRoute; ambit uses the HTTPRoutes and ignores the VirtualService for that
// host, with a warning. Among several VirtualServices for one host, the oldest wins (as Istio's waypoint picks one).
import type { DestinationRule, HTTPRoute, Resource, ServiceSpec, VirtualService, AuthorizationPolicy } from '../../api';
import { hostCovers } from '../../api';
import { authorizationDocs, type PolicyScope } from '../../waypoint/config/from-api/authorization-policy';
import { compareAge, resolveHost } from '../../waypoint/config/from-api/common';
import { destinationPolicy } from '../../waypoint/config/from-api/destination-rule';
import { httpRouteRoutes, type AttachedHttpRoute } from '../../waypoint/config/from-api/http-route';
import { virtualServiceRoutes, type HostLookup } from '../../waypoint/config/from-api/virtual-service';
import type { AuthorizationDoc, EndpointDoc, HttpRouteDoc, ServiceDoc, WaypointConfigDoc, WorkloadDoc } from '../../waypoint/config/types';
import { ROOT_NAMESPACE, workloadIdentity, type ServiceModel, type WorkloadModel } from '../model/types';
import { serviceModel } from '../model/workloads';

export interface WaypointConfigInput {
  /** The waypoint's Gateway (gatewayClassName istio-waypoint). */
  readonly gateway: Resource;
  /** The SPIFFE ID the waypoint runs as. */
  readonly identity: string;
  /** Services bound to this waypoint. */
  readonly services: readonly ServiceModel[];
  /** All workloads, to resolve endpoints, direct targets and callers. */
  readonly workloads: readonly WorkloadModel[];
  /** All stored objects by resourceKey ("Kind/ns/name"): VirtualServices, DestinationRules, HTTPRoutes, AuthorizationPolicies, Services. */
  readonly objects: ReadonlyMap<string, Resource>;
  readonly trustDomain: string;
  /** Workloads bound to this waypoint by pod (waypoint-for workload|all), served by pod IP; none when omitted. */
  readonly directWorkloads?: readonly WorkloadModel[];
  readonly rootNamespace?: string;
}

export interface WaypointConfigOutput {
  readonly config: WaypointConfigDoc;
  /** Problems worth a log line each; every one names the object at fault. The rest of the config still applies. */
  readonly warnings: string[];
}

const byString = <T>(key: (item: T) => string) => (a: T, b: T): number => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

function objectsOfKind<T extends Resource>(objects: ReadonlyMap<string, Resource>, kind: string): T[] {
  const out: T[] = [];
  for (const [key, object] of objects) if (key.startsWith(`${kind}/`) && object.kind === kind) out.push(object as T);
  return out.sort(compareAge);
}

function workloadDoc(w: WorkloadModel): WorkloadDoc {
  return {
    uid: w.uid,
    name: w.name,
    namespace: w.namespace,
    ips: [...w.ips],
    identity: workloadIdentity(w),
    labels: { ...w.labels },
    healthy: w.healthy,
    workloadName: w.workloadName,
    canonicalName: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
  };
}

function endpointsOf(service: ServiceModel, workloads: readonly WorkloadModel[]): EndpointDoc[] {
  const key = `${service.namespace}/${service.hostname}`;
  const out: EndpointDoc[] = [];
  for (const w of workloads) {
    const ports = w.services.get(key);
    if (ports === undefined || w.ips.length === 0) continue;
    out.push({ workload: w.uid, ip: w.ips[0], ports: Object.fromEntries(ports.map((p) => [String(p.servicePort), p.targetPort])) });
  }
  return out.sort(byString((e) => e.workload));
}

/** DestinationRules for a host, as a waypoint in `proxyNamespace` sees them: its own namespace, then the service's, then the root's. */
function destinationRulesFor(host: string, serviceNamespace: string, proxyNamespace: string, rootNamespace: string, rules: readonly DestinationRule[]): DestinationRule[] {
  for (const namespace of [...new Set([proxyNamespace, serviceNamespace, rootNamespace])]) {
    const candidates = rules.filter((r) => (r.metadata.namespace ?? 'default') === namespace && r.spec !== undefined && r.spec.workloadSelector === undefined);
    const covering = candidates.filter((r) => hostCovers(resolveHost(r.spec!.host, namespace), host));
    if (covering.length === 0) continue;
    // The most specific host wins (an exact host beats a wildcard); same-host rules in one namespace are merged.
    const exact = covering.filter((r) => resolveHost(r.spec!.host, namespace) === host);
    return exact.length > 0 ? exact : [covering.sort((a, b) => resolveHost(b.spec!.host, namespace).length - resolveHost(a.spec!.host, namespace).length)[0]];
  }
  return [];
}

function parentsService(ref: { group?: string; kind?: string; name: string; namespace?: string }, routeNamespace: string, service: ServiceModel): boolean {
  const core = ref.group === '' || ref.group === 'core';
  return core && ref.kind === 'Service' && ref.name === service.name && (ref.namespace ?? routeNamespace) === service.namespace;
}

/** "Kind/namespace/name" of each served object -> its hostnames (a ServiceEntry has one service per host). */
function servedTargets(served: readonly ServiceModel[]): Map<string, string[]> {
  const targets = new Map<string, string[]>();
  for (const service of served) {
    const key = `${service.origin ?? 'Service'}/${service.namespace}/${service.name}`;
    targets.set(key, [...(targets.get(key) ?? []), service.hostname]);
  }
  return targets;
}

/** The waypoint's config document. Throws nothing for bad user config: unusable routes are dropped and reported. */
export function buildWaypointConfig(input: WaypointConfigInput): WaypointConfigOutput {
  const warnings: string[] = [];
  const rootNamespace = input.rootNamespace ?? ROOT_NAMESPACE;
  const gatewayName = input.gateway.metadata.name;
  const gatewayNamespace = input.gateway.metadata.namespace ?? 'default';
  const served = [...input.services].sort(byString((s) => s.hostname));
  const servedHosts = new Set(served.map((s) => s.hostname));

  // Every Service the routes may name, by hostname: the bound ones plus the rest of the stored Services.
  const known = new Map<string, ServiceModel>();
  for (const object of objectsOfKind<Resource<ServiceSpec>>(input.objects, 'Service')) {
    const model = serviceModel(object);
    known.set(model.hostname, model);
  }
  for (const service of served) known.set(service.hostname, service);

  const destinationRules = objectsOfKind<DestinationRule>(input.objects, 'DestinationRule');
  const rulesByHost = new Map<string, DestinationRule[]>();
  const rulesFor = (host: string): DestinationRule[] => {
    let rules = rulesByHost.get(host);
    if (rules === undefined) {
      const model = known.get(host);
      rules = destinationRulesFor(host, model?.namespace ?? gatewayNamespace, gatewayNamespace, rootNamespace, destinationRules);
      rulesByHost.set(host, rules);
    }
    return rules;
  };
  const hosts: HostLookup = {
    hasHost: (host) => known.has(host),
    subsetsOf: (host) => new Set(rulesFor(host).flatMap((r) => (r.spec?.subsets ?? []).map((s) => s.name))),
  };

  const virtualServices = objectsOfKind<VirtualService>(input.objects, 'VirtualService').filter((vs) => {
    const gateways = vs.spec?.gateways;
    return gateways === undefined || gateways.length === 0 || gateways.includes('mesh');
  });
  const httpRoutes = objectsOfKind<HTTPRoute>(input.objects, 'HTTPRoute');

  const routesFor = (service: ServiceModel): HttpRouteDoc[] => {
    const attached: AttachedHttpRoute[] = [];
    for (const route of httpRoutes) {
      const namespace = route.metadata.namespace ?? 'default';
      for (const ref of route.spec?.parentRefs ?? []) {
        if (parentsService(ref, namespace, service)) {
          if (namespace !== service.namespace) {
            warnings.push(`HTTPRoute ${namespace}/${route.metadata.name}: a route for Service ${service.namespace}/${service.name} from another namespace (a consumer route) is not applied at the waypoint.`);
            continue;
          }
          attached.push({ route, ...(ref.port !== undefined ? { port: ref.port } : {}) });
        } else if ((ref.kind ?? 'Gateway') === 'Gateway' && ref.name === gatewayName && (ref.namespace ?? namespace) === gatewayNamespace) {
          const names = route.spec?.hostnames ?? [];
          if (names.length === 0 || names.some((h) => hostCovers(h, service.hostname))) attached.push({ route, ...(ref.port !== undefined ? { port: ref.port } : {}) });
        }
      }
    }
    const matching = virtualServices.filter((vs) => {
      const namespace = vs.metadata.namespace ?? 'default';
      if (namespace !== service.namespace && namespace !== gatewayNamespace) return false;
      return (vs.spec?.hosts ?? []).some((h) => hostCovers(resolveHost(h, namespace), service.hostname));
    });
    if (attached.length > 0) {
      if (matching.length > 0) {
        const names = matching.map((vs) => `${vs.metadata.namespace}/${vs.metadata.name}`).join(', ');
        warnings.push(`Service ${service.namespace}/${service.name} has both HTTPRoutes and VirtualServices (${names}); Istio does not support mixing them, and the waypoint uses the HTTPRoutes only.`);
      }
      const converted = httpRouteRoutes(attached, hosts);
      warnings.push(...converted.warnings);
      return converted.routes;
    }
    if (matching.length === 0) return [];
    if (matching.length > 1) {
      const ignored = matching.slice(1).map((vs) => `${vs.metadata.namespace}/${vs.metadata.name}`).join(', ');
      warnings.push(`Service ${service.namespace}/${service.name} is named by several VirtualServices; the waypoint uses the oldest, ${matching[0].metadata.namespace}/${matching[0].metadata.name}, and ignores ${ignored}.`);
    }
    const converted = virtualServiceRoutes(matching[0], hosts);
    warnings.push(...converted.warnings);
    return converted.routes;
  };

  const serviceDoc = (service: ServiceModel, routes: HttpRouteDoc[]): ServiceDoc => {
    const rules = rulesFor(service.hostname);
    let policy: ServiceDoc['destinationPolicy'];
    if (rules.length > 0) {
      const merged = destinationPolicy(rules, service.ports.map((p) => p.servicePort));
      warnings.push(...merged.warnings);
      policy = merged.policy;
    }
    return {
      hostname: service.hostname,
      namespace: service.namespace,
      name: service.name,
      vips: [...service.vips],
      ports: [...service.ports].sort((a, b) => a.servicePort - b.servicePort).map((p) => ({ port: p.servicePort, targetPort: p.targetPort, appProtocol: p.appProtocol })),
      endpoints: endpointsOf(service, input.workloads),
      routes,
      ...(policy ? { destinationPolicy: policy } : {}),
    };
  };

  const services = served.map((service) => serviceDoc(service, routesFor(service)));
  const referenced = new Set<string>();
  for (const service of services) {
    for (const route of service.routes) {
      for (const d of route.destinations ?? []) referenced.add(d.host);
      for (const m of route.mirrors ?? []) referenced.add(m.host);
    }
  }
  const backends = [...referenced]
    .filter((host) => !servedHosts.has(host) && known.has(host))
    .sort()
    .map((host) => serviceDoc(known.get(host)!, []));

  const scope: PolicyScope = {
    gatewayName,
    gatewayNamespace,
    rootNamespace,
    services: servedTargets(served),
  };
  const policies: AuthorizationDoc[] = [];
  for (const policy of objectsOfKind<AuthorizationPolicy>(input.objects, 'AuthorizationPolicy')) {
    const converted = authorizationDocs(policy, scope);
    policies.push(...converted.docs);
    warnings.push(...converted.warnings);
  }
  policies.sort((a, b) => byString<AuthorizationDoc>((p) => `${p.name}\0${JSON.stringify(p.attachment)}`)(a, b));

  const config: WaypointConfigDoc = {
    version: 1,
    waypoint: { name: gatewayName, namespace: gatewayNamespace, identity: input.identity, trustDomain: input.trustDomain },
    services,
    backends,
    directWorkloads: [...(input.directWorkloads ?? [])].filter((w) => w.ips.length > 0).map((w) => w.uid).sort(),
    workloads: input.workloads.filter((w) => w.ips.length > 0).map(workloadDoc).sort(byString((w) => w.uid)),
    policies,
  };
  return { config, warnings };
}
