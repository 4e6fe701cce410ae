// Wires one node's ztunnel: xDS into the state store, certificates, pod enrollment from the CNI agent, proxies, telemetry.
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { EnrollmentServer } from '../cni/enrollment-server';
import { HbonePool } from '../hbone';
import type { Logger } from '../telemetry/logger';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, decodeAddress, decodeAuthorization, DeltaXdsClient, xdsType, type Address, type Authorization } from '../xds';
import { startAdminServers, type AdminSources } from './admin';
import { CertificateManager } from './certificates';
import { InboundProxy } from './inbound';
import { OutboundProxy } from './outbound/proxy';
import { PodListenerManager, type EnrolledPod } from './pod-listeners';
import { StateStore } from './state/state-store';
import { ConnectionMetrics } from './telemetry/connection-metrics';

export interface ZtunnelConfig {
  readonly node: string;
  /** This node's address, used in the xDS node id and for metrics/readiness listeners. */
  readonly nodeIp: string;
  /** host:port of the control plane (xDS and CA). */
  readonly controlPlaneAddress: string;
  /** Name the control plane's serving certificate is checked against. */
  readonly controlPlaneName: string;
  readonly rootCertFile: string;
  readonly tokenFile: string;
  /** Unix socket the CNI agent connects to. */
  readonly enrollmentSocket: string;
  readonly trustDomain: string;
  readonly logger: Logger;
  readonly accessLog: Logger;
  readonly adminPorts?: { admin: number; metrics: number; readiness: number };
}

export class Ztunnel {
  readonly state = new StateStore();
  readonly metrics = new ConnectionMetrics();
  readonly listeners: PodListenerManager;
  private readonly pool = new HbonePool();
  private certificates: CertificateManager | undefined;
  private xds: DeltaXdsClient | undefined;
  private enrollment: EnrollmentServer | undefined;
  private closeAdmin: (() => void) | undefined;
  private synced = false;
  /** The CNI agent replayed its pods: before that, enrolled pods may have no listeners yet (as Istio's ztunnel, not ready until then). */
  private podsSnapshotReceived = false;
  private inbound: InboundProxy | undefined;

  constructor(private readonly config: ZtunnelConfig) {
    this.listeners = new PodListenerManager(
      {
        outbound: (socket, pod) => void this.outbound?.handle(socket, pod),
        inboundPlaintext: (socket, pod) => void this.inbound?.handlePlaintext(socket, pod),
        inboundHbone: (socket) => this.inbound?.hbone.handleConnection(socket),
      },
      config.logger,
    );
  }

  private outbound: OutboundProxy | undefined;

  async start(): Promise<void> {
    const { config } = this;
    const rootPem = await waitForFile(config.rootCertFile, config.logger);
    const token = () => fs.readFileSync(config.tokenFile, 'utf8').trim();
    this.certificates = new CertificateManager({ caAddress: config.controlPlaneAddress, rootPems: [rootPem], token, serverName: config.controlPlaneName, logger: config.logger });
    const deps = { state: this.state, certificates: this.certificates, metrics: this.metrics, accessLog: config.accessLog, logger: config.logger };
    this.inbound = new InboundProxy({ ...deps, podByIp: (ip) => this.listeners.list().find((pod) => pod.ips.includes(ip)) });
    this.outbound = new OutboundProxy({ ...deps, pool: this.pool });

    this.xds = new DeltaXdsClient({
      address: config.controlPlaneAddress,
      credentials: grpc.credentials.createSsl(Buffer.from(rootPem)),
      channelOptions: {
        'grpc.ssl_target_name_override': config.controlPlaneName,
        'grpc.default_authority': config.controlPlaneName,
        // A large mesh's first push is one response with every workload; gRPC's 4 MiB default is too small at ~10k pods.
        'grpc.max_receive_message_length': 256 * 1024 * 1024,
      },
      node: { id: `ztunnel~${config.nodeIp}~ztunnel-${config.node}.istio-system~istio-system.svc.cluster.local`, metadata: { NODE_NAME: config.node } },
      metadataForCall: () => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${token()}`);
        return metadata;
      },
      types: [
        xdsType<Address>({ typeUrl: ADDRESS_TYPE_URL, decode: decodeAddress, apply: (update) => this.state.applyAddresses(update) }),
        xdsType<Authorization>({ typeUrl: AUTHORIZATION_TYPE_URL, decode: decodeAuthorization, apply: (update) => this.state.applyAuthorizations(update) }),
      ],
      logger: config.logger,
    });
    this.xds.on('nack', (typeUrl, message) => config.logger.warn({ typeUrl, reason: message }, 'rejected a config update; keeping the last good config'));
    this.xds.start();
    void Promise.all([this.xds.synced(ADDRESS_TYPE_URL), this.xds.synced(AUTHORIZATION_TYPE_URL)]).then(
      () => {
        this.synced = true;
        config.logger.info({ workloads: this.state.current().workloads.size }, 'config synced from the control plane');
      },
      () => undefined,
    );

    this.enrollment = new EnrollmentServer({
      socketPath: config.enrollmentSocket,
      logger: config.logger,
      handlers: {
        onAdd: async (pod: EnrolledPod) => {
          await this.listeners.add(pod);
          this.certificates?.prefetch(`spiffe://${config.trustDomain}/ns/${pod.namespace}/sa/${pod.serviceAccount || 'default'}`);
        },
        onDel: (uid) => this.listeners.remove(uid),
        onSnapshotSent: async (uids) => {
          for (const pod of this.listeners.list()) if (!uids.has(pod.uid)) await this.listeners.remove(pod.uid);
          this.podsSnapshotReceived = true;
        },
      },
    });
    await this.enrollment.listen();

    const sources: AdminSources = {
      node: config.node,
      snapshot: () => this.state.current(),
      certificates: () => this.certificates?.status() ?? [],
      pods: () => this.listeners.list().map((pod) => ({ uid: pod.uid, name: pod.name, namespace: pod.namespace, ips: pod.ips, state: 'listening' })),
      ready: () => this.synced && this.podsSnapshotReceived,
      registry: this.metrics.registry,
    };
    this.closeAdmin = await startAdminServers(sources, { metricsHost: '0.0.0.0', ports: config.adminPorts });
    config.logger.info('ztunnel started');
  }

  async stop(): Promise<void> {
    this.closeAdmin?.();
    await this.enrollment?.close();
    this.xds?.close();
    this.certificates?.close();
    await this.listeners.closeAll();
    await this.inbound?.hbone.close(1000);
    this.pool.destroy();
  }
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
