// The waypoint proxy without its process wiring: takes config pushes (validate, compile, swap) and serves tunnels; HBONE, xDS and ports live in waypoint.ts.
import { Duplex } from 'node:stream';
import type { TunnelDecision, TunnelRequest } from '../hbone';
import { silentLogger, type Logger } from '../telemetry/logger';
import { parseWaypointConfig, readWaypointConfig } from './config/validate';
import type { WaypointConfigDoc } from './config/types';
import { WaypointConfigInvalid } from './errors';
import { authorize } from './filters/authz/filter';
import type { ProxyDeps, TunnelContext } from './pipeline/exchange';
import { compileRoutingTable, emptyRoutingTable, type RoutingTable } from './routing/table';
import { protocolHint, TunnelServer } from './server/tunnel-server';
import { WaypointMetrics } from './telemetry/request-metrics';
import { ClusterManager } from './upstream/cluster-runtime';
import type { UpstreamConnector } from './upstream/connector';
import { UpstreamPool } from './upstream/http-pool';

export interface WaypointProxyOptions {
  readonly connector: UpstreamConnector;
  readonly logger?: Logger;
  /** Per-request access log lines go here (pino, target "access"). */
  readonly accessLog?: Logger;
  readonly metrics?: WaypointMetrics;
  /** [0, 1) source for weighted picks and percentages; tests pin it. */
  readonly random?: () => number;
  readonly sniffTimeoutMs?: number;
  /** When set, a pushed document for another waypoint is refused (a misrouted push must not take over). */
  readonly expect?: { readonly name: string; readonly namespace: string };
}

/** A tunnel the proxy will not serve, with the status the HBONE server should answer. */
export interface TunnelRefusal {
  readonly status: 403 | 503;
  readonly reason: string;
}

export class WaypointProxy {
  readonly metrics: WaypointMetrics;
  readonly clusters = new ClusterManager();
  readonly pool: UpstreamPool;
  readonly tunnels: TunnelServer;
  private current: RoutingTable = emptyRoutingTable();
  private applied = 0;
  private nextTunnelId = 1;
  private readonly logger: Logger;
  private readonly expect: WaypointProxyOptions['expect'];

  constructor(options: WaypointProxyOptions) {
    this.logger = options.logger ?? silentLogger();
    this.metrics = options.metrics ?? new WaypointMetrics();
    this.pool = new UpstreamPool(options.connector);
    this.expect = options.expect;
    const deps: ProxyDeps = {
      table: () => this.current,
      clusters: this.clusters,
      pool: this.pool,
      metrics: this.metrics,
      accessLog: options.accessLog ?? this.logger,
      logger: this.logger,
      random: options.random ?? Math.random,
    };
    this.tunnels = new TunnelServer(deps, { ...(options.sniffTimeoutMs !== undefined ? { sniffTimeoutMs: options.sniffTimeoutMs } : {}) });
  }

  /** The routing table requests starting now will use. */
  get table(): RoutingTable {
    return this.current;
  }

  /** True once a config has been applied (readiness). */
  get ready(): boolean {
    return this.applied > 0;
  }

  /**
   * Validates and compiles a pushed document, then swaps it in. Throws WaypointConfigInvalid and changes nothing
   * when the document cannot be used: the xDS client NACKs and the last good table keeps serving.
   */
  applyConfig(json: string | WaypointConfigDoc): RoutingTable {
    const doc = typeof json === 'string' ? parseWaypointConfig(json) : readWaypointConfig(json);
    if (this.expect && (doc.waypoint.name !== this.expect.name || doc.waypoint.namespace !== this.expect.namespace)) {
      throw new WaypointConfigInvalid(`the document is for waypoint ${doc.waypoint.namespace}/${doc.waypoint.name}, but this is ${this.expect.namespace}/${this.expect.name}`);
    }
    const table = compileRoutingTable(doc, this.current.generation + 1);
    this.current = table;
    this.applied += 1;
    this.clusters.apply(table);
    this.logger.info({ generation: table.generation, services: doc.services.length, workloads: doc.directWorkloads.length, policies: doc.policies.length }, 'waypoint config applied');
    return table;
  }

  /** The control plane withdrew the config (the waypoint was deleted): serve nothing. */
  clearConfig(): void {
    const table = compileRoutingTable(emptyRoutingTable().doc, this.current.generation + 1);
    this.current = table;
    this.clusters.apply(table);
  }

  /**
   * Serves one tunnel to `destinationIp:destinationPort` from `peer`: a stream end to splice with the tunnel, or a
   * refusal (503 for a destination this waypoint does not serve, 403 when a termination policy denies).
   */
  openTunnel(tunnel: Omit<TunnelContext, 'id'> & { readonly id?: number }): Duplex | TunnelRefusal {
    const table = this.current;
    const context: TunnelContext = { ...tunnel, id: tunnel.id ?? this.nextTunnelId++ };
    const target = table.target(context.destinationIp, context.destinationPort);
    if (target === undefined) return { status: 503, reason: `this waypoint does not serve ${context.destinationIp}:${context.destinationPort}` };
    if (table.terminationPolicies.size > 0) {
      const identity = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(context.peer.identity);
      const decision = authorize([table.terminationPolicies], {
        http: true,
        method: 'CONNECT',
        host: `${context.destinationIp}:${context.destinationPort}`,
        sourceIp: context.peer.address,
        principal: context.peer.identity.replace(/^spiffe:\/\//, ''),
        ...(identity ? { namespace: identity[2], serviceAccount: `${identity[2]}/${identity[3]}` } : {}),
        destinationIp: context.destinationIp,
        destinationPort: context.destinationPort,
      });
      if (!decision.allowed) return { status: 403, reason: `RBAC: ${decision.reason}` };
    }
    const hint = target.kind === 'service' ? protocolHint(target.port.appProtocol) : 'sniff';
    return this.tunnels.accept(context, hint);
  }

  /** HboneServer's `onTunnel`: the CONNECT :authority is the original destination. */
  onTunnel(request: TunnelRequest): TunnelDecision {
    const served = this.openTunnel({
      id: request.id,
      peer: { identity: request.peer.identity, address: request.peer.address, port: request.peer.port },
      destinationIp: request.authority.ip,
      destinationPort: request.authority.port,
    });
    if (served instanceof Duplex) return { status: 200, upstream: served };
    return { status: served.status, reason: served.reason };
  }

  close(): void {
    this.tunnels.close();
    this.pool.close();
  }
}
