// Wires one waypoint process: its certificate, the xDS subscription to its config, the HBONE listener on 15008, and the admin, metrics and readiness ports.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { HboneServer, type CertificateMaterial, type SourceIdentity, type SpiffeId } from '../hbone';
import type { Logger } from '../telemetry/logger';
import { CertificateManager, type CertificateStatus } from '../ztunnel/certificates';
import { decodeWaypointConfig, DeltaXdsClient, WAYPOINT_TYPE_URL, xdsType, type WaypointConfig, type XdsUpdate } from '../xds';
import { startWaypointAdmin, type AdminPorts, type AdminServers } from './admin';
import { WaypointProxy } from './proxy';
import type { UpstreamConnector } from './upstream/connector';
import { HboneUpstreamConnector } from './upstream-hbone';

export const WAYPOINT_HBONE_PORT = 15008;

/** Where a waypoint's certificate comes from: the mesh CA in production, a fixture in tests. */
export interface CertificateSource {
  get(identity: string): Promise<CertificateMaterial>;
  status?(): CertificateStatus[];
  close?(): void;
}

export interface WaypointOptions {
  /** The waypoint Gateway's name and namespace. */
  readonly name: string;
  readonly namespace: string;
  /** The SPIFFE ID this waypoint serves as (its service account's). */
  readonly identity: string;
  readonly podIp: string;
  /** For the xDS node id; defaults to the host name (the pod name in Kubernetes). */
  readonly podName?: string;
  /** host:port of the control plane (xDS and CA). */
  readonly controlPlaneAddress: string;
  /** Name the control plane's serving certificate is checked against. */
  readonly controlPlaneName: string;
  readonly rootCertFile: string;
  readonly tokenFile: string;
  readonly logger: Logger;
  readonly accessLog: Logger;
  /** Address the HBONE, metrics and readiness listeners bind; 0.0.0.0 in the waypoint's own pod netns. */
  readonly listenHost?: string;
  readonly hbonePort?: number;
  readonly adminPorts?: Partial<AdminPorts>;
  /** Test hooks: replace the mesh CA and the HBONE upstream. */
  readonly certificates?: CertificateSource;
  readonly connector?: UpstreamConnector;
}

/** Istio's node id form, which the control plane parses: waypoint~<ip>~<pod>.<ns>~<ns>.svc.cluster.local. */
export function waypointNodeId(podIp: string, podName: string, namespace: string): string {
  return `waypoint~${podIp}~${podName}.${namespace}~${namespace}.svc.cluster.local`;
}

/** The node metadata the control plane filters waypoint config by. */
export function waypointNodeMetadata(name: string, namespace: string): { WAYPOINT_NAME: string; WAYPOINT_NAMESPACE: string } {
  return { WAYPOINT_NAME: name, WAYPOINT_NAMESPACE: namespace };
}

async function waitForFile(file: string, logger: Logger): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      if (attempt === 0) logger.info({ file }, 'waiting for the mesh root certificate');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export class Waypoint {
  proxy!: WaypointProxy;
  private certificates: CertificateSource | undefined;
  private xds: DeltaXdsClient | undefined;
  private hbone: HboneServer | undefined;
  private listener: net.Server | undefined;
  private admin: AdminServers | undefined;
  private resourceName: string | undefined;
  private certificateReady = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WaypointOptions) {}

  /** The HBONE port actually bound (differs from 15008 only when the options asked for port 0). */
  get hbonePort(): number {
    return (this.listener?.address() as net.AddressInfo | null)?.port ?? 0;
  }

  get adminPorts(): AdminPorts | undefined {
    return this.admin?.ports;
  }

  /** Ready to serve: a config has been applied and the waypoint's certificate is in hand. */
  get ready(): boolean {
    return this.certificateReady && (this.proxy?.ready ?? false);
  }

  get nodeId(): string {
    return waypointNodeId(this.options.podIp, this.options.podName ?? os.hostname(), this.options.namespace);
  }

  async start(): Promise<void> {
    const o = this.options;
    const rootPem = await waitForFile(o.rootCertFile, o.logger);
    const token = (): string => fs.readFileSync(o.tokenFile, 'utf8').trim();
    this.certificates = o.certificates ?? new CertificateManager({ caAddress: o.controlPlaneAddress, rootPems: [rootPem], token, serverName: o.controlPlaneName, logger: o.logger });
    const certificates = this.certificates;
    const source = async (): Promise<SourceIdentity> => ({ ...(await certificates.get(o.identity)), identity: o.identity as SpiffeId });
    const connector = o.connector ?? new HboneUpstreamConnector({ source });
    this.proxy = new WaypointProxy({ connector, logger: o.logger, accessLog: o.accessLog, expect: { name: o.name, namespace: o.namespace } });
    const fetchCertificate = (): void => {
      certificates.get(o.identity).then(
        () => {
          this.certificateReady = true;
        },
        (error: Error) => {
          o.logger.warn({ err: error.message }, 'the waypoint certificate is not available yet; retrying');
          this.retryTimer = setTimeout(fetchCertificate, 2_000);
          this.retryTimer.unref();
        },
      );
    };
    fetchCertificate();

    this.xds = new DeltaXdsClient({
      address: o.controlPlaneAddress,
      credentials: grpc.credentials.createSsl(Buffer.from(rootPem)),
      channelOptions: { 'grpc.ssl_target_name_override': o.controlPlaneName, 'grpc.default_authority': o.controlPlaneName, 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
      node: { id: this.nodeId, metadata: waypointNodeMetadata(o.name, o.namespace) },
      metadataForCall: () => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${token()}`);
        return metadata;
      },
      types: [xdsType<WaypointConfig>({ typeUrl: WAYPOINT_TYPE_URL, decode: decodeWaypointConfig, apply: (update) => this.applyUpdate(update) })],
      logger: o.logger,
    });
    this.xds.on('nack', (typeUrl, message) => o.logger.warn({ typeUrl, reason: message }, 'rejected a waypoint config push; keeping the last good config'));
    this.xds.start();

    this.hbone = new HboneServer({ certificateFor: () => certificates.get(o.identity), onTunnel: (request) => this.proxy.onTunnel(request) });
    const hbone = this.hbone;
    this.listener = net.createServer({ pauseOnConnect: true }, (socket) => hbone.handleConnection(socket));
    await new Promise<void>((resolve, reject) => {
      this.listener!.once('error', reject);
      this.listener!.listen(o.hbonePort ?? WAYPOINT_HBONE_PORT, o.listenHost ?? '0.0.0.0', () => resolve());
    });
    this.admin = await startWaypointAdmin(
      {
        waypoint: { name: o.name, namespace: o.namespace, identity: o.identity },
        proxy: this.proxy,
        certificates: () => certificates.status?.() ?? [],
        ready: () => this.ready,
        registry: this.proxy.metrics.registry,
      },
      { host: o.listenHost ?? '0.0.0.0', ...(o.adminPorts ? { ports: o.adminPorts } : {}) },
    );
    o.logger.info({ name: o.name, namespace: o.namespace, identity: o.identity, hbonePort: this.hbonePort, nodeId: this.nodeId }, 'waypoint started');
  }

  async stop(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.xds?.close();
    await new Promise<void>((resolve) => (this.listener ? this.listener.close(() => resolve()) : resolve()));
    await this.hbone?.close(1_000);
    this.proxy?.close();
    await this.admin?.close();
    this.certificates?.close?.();
  }

  /** One xDS response: our WaypointConfig (matched by its name and namespace fields) is applied; a removal clears it. */
  private applyUpdate(update: XdsUpdate<WaypointConfig>): void {
    const o = this.options;
    let ours: [string, WaypointConfig] | undefined;
    for (const [name, config] of update.upserts) {
      if (config.name === o.name && config.namespace === o.namespace) ours = [name, config];
      else o.logger.warn({ resource: name, for: `${config.namespace}/${config.name}` }, 'ignoring a waypoint config meant for another waypoint');
    }
    if (ours !== undefined) {
      this.proxy.applyConfig(ours[1].json);
      this.resourceName = ours[0];
      return;
    }
    if (this.resourceName !== undefined && update.removals.includes(this.resourceName)) {
      this.resourceName = undefined;
      this.proxy.clearConfig();
      o.logger.warn('the control plane withdrew this waypoint\'s config; serving nothing');
    }
  }
}
