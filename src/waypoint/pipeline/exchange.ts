// The state of one request as it moves through the waypoint's filters: what came in, what will go out, and what telemetry needs.
import type { OutgoingHttpHeaders } from 'node:http';
import type { Logger } from '../../telemetry/logger';
import type { WorkloadDoc } from '../config/types';
import type { HeaderOps } from '../filters/rewrite/config';
import type { RequestFacts } from '../routing/request-facts';
import type { RouteSelection } from '../routing/select';
import type { RoutingTable, Target } from '../routing/table';
import type { WaypointMetrics } from '../telemetry/request-metrics';
import type { ClusterManager } from '../upstream/cluster-runtime';
import type { UpstreamPool } from '../upstream/http-pool';
import type { RequestBody } from './request-body';
import { RequestAbort } from './request-abort';

/** The HBONE tunnel a request arrived on. */
export interface TunnelContext {
  readonly id: number;
  /** The HBONE client: its proven identity and the address it connected from (the calling pod). */
  readonly peer: { readonly identity: string; readonly address: string; readonly port: number };
  /** The tunnel's :authority: the original destination (a service VIP or a pod IP) and port. */
  readonly destinationIp: string;
  readonly destinationPort: number;
}

/** What the request path needs from the waypoint; one object per process, shared by every request. */
export interface ProxyDeps {
  /** The current routing table; each request reads it once when it starts. */
  table(): RoutingTable;
  readonly clusters: ClusterManager;
  readonly pool: UpstreamPool;
  readonly metrics: WaypointMetrics;
  readonly accessLog: Logger;
  readonly logger: Logger;
  /** [0, 1); injectable so tests can pin weighted and percentage decisions. */
  readonly random: () => number;
}

export class Exchange {
  /** Envoy's x-request-id: the client's, or a fresh UUID. */
  requestId = '';
  readonly startedAt = Date.now();
  /** Downstream protocol as seen by telemetry: "HTTP/1.1" or "HTTP/2". */
  readonly protocol: string;
  method: string;
  /** Path with query as it will be sent upstream (rewrites change it). */
  path: string;
  authority: string;
  /** Request headers as they will be sent upstream (lower-case, no hop-by-hop or pseudo headers). */
  readonly headers: OutgoingHttpHeaders;
  readonly grpc: boolean;
  facts!: RequestFacts;
  target?: Target;
  selection?: RouteSelection;
  /** Response header operations to apply, route first, then the chosen destination's. */
  readonly responseOps: HeaderOps[] = [];
  /** Epoch ms when the route's timeout expires. */
  deadline?: number;
  /** Envoy response flags collected on the way ("-" when none). */
  flags = '-';
  upstreamHost?: string;
  upstreamCluster?: string;
  destinationWorkload?: WorkloadDoc;
  tries = 0;
  body!: RequestBody;
  /** Aborted when the client goes away; everything the request started listens to it. */
  readonly abort = new RequestAbort();
  /** Extra response headers (Set-Cookie from consistent hashing). */
  readonly extraResponseHeaders: [string, string][] = [];
  policyDecision?: string;

  constructor(init: { protocol: string; method: string; path: string; authority: string; headers: OutgoingHttpHeaders }) {
    this.protocol = init.protocol;
    this.method = init.method;
    this.path = init.path;
    this.authority = init.authority;
    this.headers = init.headers;
    const contentType = String(init.headers['content-type'] ?? '');
    this.grpc = contentType.startsWith('application/grpc');
  }

  addFlag(flag: string): void {
    if (flag === '-' || flag === '') return;
    this.flags = this.flags === '-' ? flag : `${this.flags},${flag}`;
  }
}
