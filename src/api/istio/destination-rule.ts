// networking.istio.io DestinationRule: load balancing, connection pools, outlier detection and subsets for a host.

import { dnsLabel, duration, istioHost } from '../formats';
import type { KindDefinition } from '../kind';
import { labelsSchema } from '../metadata';
import type { Resource } from '../resource';
import { bool, enumOf, int, list, object, opaque, required, str, type Schema } from '../schema';
import { exportTo, portSelector, workloadSelector, type PortSelector, type WorkloadSelector } from './common';

export type SimpleLoadBalancer = 'UNSPECIFIED' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'LEAST_CONN';

export interface ConsistentHash {
  httpHeaderName?: string;
  httpCookie?: { name: string; ttl?: string; path?: string };
  useSourceIp?: boolean;
  httpQueryParameterName?: string;
  minimumRingSize?: number;
  /** Accepted and not interpreted. */
  ringHash?: unknown;
  maglev?: unknown;
}

export interface LoadBalancerSettings {
  simple?: SimpleLoadBalancer;
  consistentHash?: ConsistentHash;
  localityLbSetting?: unknown;
  warmupDurationSecs?: string;
}

export interface ConnectionPoolSettings {
  tcp?: { maxConnections?: number; connectTimeout?: string; maxConnectionDuration?: string; idleTimeout?: string; tcpKeepalive?: unknown };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: string;
    h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    useClientProtocol?: boolean;
    maxConcurrentStreams?: number;
  };
}

export interface OutlierDetection {
  consecutiveErrors?: number;
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  consecutiveLocalOriginFailures?: number;
  splitExternalLocalOriginErrors?: boolean;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}

export interface ClientTlsSettings {
  mode?: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  subjectAltNames?: string[];
  sni?: string;
  insecureSkipVerify?: boolean;
}

export interface PortTrafficPolicy {
  port?: PortSelector;
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTlsSettings;
}

export interface TrafficPolicy extends Omit<PortTrafficPolicy, 'port'> {
  portLevelSettings?: PortTrafficPolicy[];
  /** Accepted and not interpreted. */
  tunnel?: unknown;
  proxyProtocol?: unknown;
}

export interface Subset {
  name: string;
  labels?: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
}

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Subset[];
  exportTo?: string[];
  workloadSelector?: WorkloadSelector;
}

export type DestinationRule = Resource<DestinationRuleSpec>;

const loadBalancer = object(
  {
    simple: enumOf(['UNSPECIFIED', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN']),
    consistentHash: object(
      {
        httpHeaderName: str({ nonEmpty: true }),
        httpCookie: object({ name: required(str({ nonEmpty: true })), ttl: duration(), path: str() }),
        useSourceIp: bool(),
        httpQueryParameterName: str({ nonEmpty: true }),
        minimumRingSize: int({ min: 0 }),
        ringHash: opaque(),
        maglev: opaque(),
      },
      { exactlyOne: [['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName']], atMostOne: [['minimumRingSize', 'ringHash', 'maglev']] },
    ),
    localityLbSetting: opaque(),
    warmupDurationSecs: duration(),
  },
  { atMostOne: [['simple', 'consistentHash']] },
);

const connectionPool = object({
  tcp: object({
    maxConnections: int({ min: 0 }),
    connectTimeout: duration({ minMs: 1 }),
    maxConnectionDuration: duration({ minMs: 1 }),
    idleTimeout: duration(),
    tcpKeepalive: opaque(),
  }),
  http: object({
    http1MaxPendingRequests: int({ min: 0 }),
    http2MaxRequests: int({ min: 0 }),
    maxRequestsPerConnection: int({ min: 0 }),
    maxRetries: int({ min: 0 }),
    idleTimeout: duration({ minMs: 1 }),
    h2UpgradePolicy: enumOf(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']),
    useClientProtocol: bool(),
    maxConcurrentStreams: int({ min: 0 }),
  }),
});

const outlierDetection = object({
  consecutiveErrors: int({ min: 0 }),
  consecutive5xxErrors: int({ min: 0 }),
  consecutiveGatewayErrors: int({ min: 0 }),
  consecutiveLocalOriginFailures: int({ min: 0 }),
  splitExternalLocalOriginErrors: bool(),
  interval: duration({ minMs: 1 }),
  baseEjectionTime: duration({ minMs: 1 }),
  maxEjectionPercent: int({ min: 0, max: 100 }),
  minHealthPercent: int({ min: 0, max: 100 }),
});

const tls = object({
  mode: enumOf(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL']),
  clientCertificate: str(),
  privateKey: str(),
  caCertificates: str(),
  credentialName: str(),
  subjectAltNames: list(str()),
  sni: str(),
  insecureSkipVerify: bool(),
  caCrl: str(),
});

const PORT_POLICY_FIELDS = { loadBalancer, connectionPool, outlierDetection, tls };

const portTrafficPolicy = object({ port: required(portSelector()), ...PORT_POLICY_FIELDS });

const portLevelSettings = list(portTrafficPolicy);

function trafficPolicy(): Schema {
  return object<TrafficPolicy>(
    { ...PORT_POLICY_FIELDS, portLevelSettings, tunnel: opaque(), proxyProtocol: opaque() },
    {
      // Two settings for one port would leave it ambiguous which applies.
      refine: (p, at) => {
        const seen = new Map<number, number>();
        (p.portLevelSettings ?? []).forEach((s, i) => {
          const n = s.port?.number;
          if (n === undefined) return;
          const first = seen.get(n);
          if (first === undefined) seen.set(n, i);
          else at.at('portLevelSettings').at(i).at('port').at('number').fail(`duplicate port ${n} (also used by portLevelSettings[${first}])`);
        });
      },
    },
  );
}

const subset = object({ name: required(dnsLabel()), labels: labelsSchema(), trafficPolicy: trafficPolicy() });

export const destinationRuleSpecSchema = object({
  host: required(istioHost()),
  trafficPolicy: trafficPolicy(),
  subsets: list(subset, { uniqueField: 'name' }),
  exportTo: exportTo(),
  workloadSelector: workloadSelector(),
});

export const destinationRuleKind: KindDefinition = {
  group: 'networking.istio.io',
  kind: 'DestinationRule',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  namespaced: true,
  plural: 'destinationrules',
  singular: 'destinationrule',
  shortNames: ['dr'],
  nameFormat: 'dns-1123-subdomain',
  fields: { spec: required(destinationRuleSpecSchema) },
};

