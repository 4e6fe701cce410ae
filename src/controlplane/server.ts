// Wires the control plane: a ConfigSource feeds the MeshIndex, whose resources the delta-xDS server pushes; the CA signs on the same gRPC port.
import fs from 'node:fs';
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../telemetry/logger';
import { parseSpiffeIdParts, type SpiffeId } from '../pki';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, WAYPOINT_TYPE_URL } from '../xds';
import { CaStore, controlPlaneServerCredentials, createCertificateService, NodeTokenAuthenticator, type CaAuthenticator } from './ca';
import { debugJsonReplacer, policiesView, pushedView, servicesView, workloadsView } from './debug-views';
import { MeshIndex, type WaypointConfigBuilder } from './model/mesh-index';
import type { PolicyTranslator } from './translate/policies';
import { DeltaXdsServer, type CatalogChangeListener, type ResourceCatalog } from './push';
import type { ConfigSource } from './sources/config-source';

export interface ControlPlaneOptions {
  readonly source: ConfigSource;
  /** Directory for the CA (root or plug-in files) and node tokens. */
  readonly stateDir: string;
  readonly listenHost: string;
  readonly listenPort: number;
  /** Extra addresses the serving certificate must name (the address proxies dial). */
  readonly servingIps?: readonly string[];
  readonly trustDomain: string;
  readonly policies: PolicyTranslator;
  readonly waypointConfig?: WaypointConfigBuilder;
  /** Who is calling (xDS and CA): node tokens by default (local mode), TokenReview on Kubernetes. */
  readonly authenticate?: CaAuthenticator;
  readonly logger: Logger;
  /** HTTP debug endpoint on a unix socket (local mode) ... */
  readonly debugSocket?: string;
  /** ... and/or on a TCP port (15014 in Istio). */
  readonly debugPort?: number;
  readonly debounceMs?: number;
}

interface NodeCaller {
  readonly node: string;
  /** Set when a workload authenticated as itself: a waypoint then sees only the config of the Gateway it runs for. */
  readonly identity?: SpiffeId;
}

/** A waypoint runs as the service account named after its Gateway (waypoint/deployment.yaml). */
function mayReadWaypoint(caller: NodeCaller, waypoint: string): boolean {
  if (caller.identity === undefined) return true;
  const { namespace, serviceAccount } = parseSpiffeIdParts(caller.identity);
  return waypoint === `${namespace}/${serviceAccount}`;
}

export class ControlPlane {
  readonly index: MeshIndex;
  private grpcServer: grpc.Server | undefined;
  private xds: DeltaXdsServer<NodeCaller> | undefined;
  private debugServers: http.Server[] = [];
  private unsubscribe: (() => void) | undefined;
  private readonly catalogListeners = new Set<CatalogChangeListener>();
  private ready = false;
  boundPort = 0;

  constructor(private readonly options: ControlPlaneOptions) {
    this.index = new MeshIndex({ trustDomain: options.trustDomain, policies: options.policies, waypointConfig: options.waypointConfig });
    this.index.onWaypointWarnings = (waypoint, warnings) => {
      for (const warning of warnings) options.logger.warn({ waypoint }, warning);
    };
  }

  async start(): Promise<void> {
    const { logger } = this.options;
    const ca = await CaStore.open(this.options.stateDir, { trustDomain: this.options.trustDomain });
    logger.info({ mode: ca.mode, generated: ca.generated }, 'certificate authority ready');
    const authenticate = this.options.authenticate ?? new NodeTokenAuthenticator(this.options.stateDir).authenticate;

    await this.options.source.start();
    const first = this.options.source.snapshot();
    this.index.apply(first.objects, new Set(first.objects.keys()));
    this.unsubscribe = this.options.source.onChange((snapshot, changed) => {
      const started = process.hrtime.bigint();
      let types: Set<string>;
      try {
        types = this.index.apply(snapshot.objects, changed);
      } catch (error) {
        // A bug or an object no check caught must not take the control plane down: proxies keep the last push.
        logger.error({ err: error, changed: [...changed].slice(0, 20) }, 'cannot update the mesh model from this change; proxies keep the last pushed config');
        return;
      }
      logger.debug({ changed: changed.size, types: [...types], ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'model updated');
      if (types.size > 0) for (const listener of this.catalogListeners) listener([...types], this.index.lastChangedNames());
    });

    const catalog: ResourceCatalog<NodeCaller> = {
      snapshot: (typeUrl, client) => {
        const resources = this.index.resources(typeUrl);
        if (typeUrl !== WAYPOINT_TYPE_URL) return resources;
        // A waypoint sees only its own config, named by the metadata it connects with.
        const name = `${String(client.metadata.WAYPOINT_NAMESPACE ?? '')}/${String(client.metadata.WAYPOINT_NAME ?? '')}`;
        const own = resources.get(name);
        return own && mayReadWaypoint(client.caller, name) ? new Map([[name, own]]) : new Map();
      },
      onChange: (listener) => {
        this.catalogListeners.add(listener);
        return () => this.catalogListeners.delete(listener);
      },
    };
    this.xds = new DeltaXdsServer<NodeCaller>({
      catalog,
      authenticate: async (metadata) => {
        const caller = await authenticate(metadata);
        return caller.identity === undefined ? { node: caller.node } : { node: caller.node, identity: caller.identity };
      },
      logger,
      debounceMs: this.options.debounceMs,
      metrics: { onNack: (event) => logger.warn({ ...event }, 'proxy rejected config (NACK); it keeps its last good config') },
    });
    const certificates = createCertificateService({
      ca,
      authenticate,
      authorize: (node, identity) => this.index.nodeRunsIdentity(node, identity),
      logger,
    });

    const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
    this.xds.addTo(server);
    server.addService(certificates.definition, certificates.implementation);
    const credentials = controlPlaneServerCredentials(ca, { ipAddresses: [this.options.listenHost, ...(this.options.servingIps ?? []), '127.0.0.1'].filter((ip, i, all) => ip !== '0.0.0.0' && all.indexOf(ip) === i) });
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${this.options.listenHost}:${this.options.listenPort}`, credentials, (error, port) => (error ? reject(error) : resolve(port))),
    );
    this.grpcServer = server;
    if (this.options.debugSocket) await this.listenDebug({ path: this.options.debugSocket });
    if (this.options.debugPort !== undefined) await this.listenDebug({ host: this.options.listenHost, port: this.options.debugPort });
    this.ready = true;
    logger.info({ port: this.boundPort, workloads: this.index.workloads().length }, 'control plane serving');
  }

  private async listenDebug(where: { path: string } | { host: string; port: number }): Promise<void> {
    if ('path' in where) fs.rmSync(where.path, { force: true });
    const server = http.createServer((request, response) => this.serveDebug(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(where, () => resolve());
    });
    this.debugServers.push(server);
  }

  private serveDebug(request: http.IncomingMessage, response: http.ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://debug');
    const xds = this.xds as DeltaXdsServer<NodeCaller>;
    const views: Record<string, () => unknown> = {
      '/ready': () => ({ ready: this.ready }),
      '/debug/workloads': () => workloadsView(this.index),
      '/debug/services': () => servicesView(this.index),
      '/debug/policies': () => policiesView(this.index),
      '/debug/clients': () => xds.clients(),
      '/debug/push_stats': () => xds.stats(),
      '/debug/pushed': () => pushedView(xds, this.index, url.searchParams.get('node') ?? undefined),
      '/debug/resources': () => ({
        [ADDRESS_TYPE_URL]: this.index.resources(ADDRESS_TYPE_URL).size,
        [AUTHORIZATION_TYPE_URL]: this.index.resources(AUTHORIZATION_TYPE_URL).size,
        [WAYPOINT_TYPE_URL]: this.index.resources(WAYPOINT_TYPE_URL).size,
      }),
    };
    const view = views[url.pathname];
    if (!view) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`no such view; try ${Object.keys(views).join(' ')}\n`);
      return;
    }
    response.writeHead(url.pathname === '/ready' && !this.ready ? 503 : 200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(view(), debugJsonReplacer, 2) + '\n');
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.options.source.stop();
    this.xds?.close();
    for (const server of this.debugServers) server.close();
    await new Promise<void>((resolve) => (this.grpcServer ? this.grpcServer.tryShutdown(() => resolve()) : resolve()));
  }
}
