// Inbound traffic for the pods on this node: HBONE on 15008 (mTLS, policy, delivery with the client's address) and plaintext on 15006.
import net from 'node:net';
import { HboneServer, relay, type TunnelDecision, type TunnelRequest } from '../hbone';
import { connectInNetns, originalDst } from '../native';
import { parseSpiffeIdParts } from '../pki';
import type { Logger } from '../telemetry/logger';
import { authorize } from './authz';
import type { CertificateManager } from './certificates';
import type { EnrolledPod } from './pod-listeners';
import { policiesOf } from './policy-cache';
import { proxyV2Header } from './proxy-protocol';
import { spiffeUri, type ServiceState, type WorkloadState } from './state/model';
import type { ZtunnelSnapshot } from './state/snapshot';
import type { StateStore } from './state/state-store';
import type { ConnectionMetrics } from './telemetry/connection-metrics';
import { ConnectionRecord } from './telemetry/connection-record';

/** SO_MARK on every socket the ztunnel opens, so the in-pod rules let it through instead of capturing it again. */
export const ZTUNNEL_MARK = 0x539;

export interface InboundDeps {
  readonly state: StateStore;
  readonly certificates: CertificateManager;
  /** The enrolled pod that owns an address on this node, if any. */
  podByIp(ip: string): EnrolledPod | undefined;
  readonly metrics: ConnectionMetrics;
  readonly accessLog: Logger;
  readonly logger: Logger;
}

function plainIp(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

/**
 * Connects to the app inside its pod from the client's own address (IP_TRANSPARENT), as Istio's in-pod mode does;
 * or, for apps that asked for it, from the ztunnel with a PROXY v2 header naming the client and its identity.
 */
async function deliver(pod: EnrolledPod, destination: WorkloadState | undefined, ip: string, port: number, client: { ip: string; port: number; identity?: string }): Promise<net.Socket> {
  if (destination?.proxyProtocolPort === undefined) {
    const socket = await connectInNetns({ netns: pod.netns, host: ip, port, mark: ZTUNNEL_MARK, sourceAddress: { host: client.ip }, timeoutMs: 10_000 });
    return socket.setNoDelay(true);
  }
  const socket = await connectInNetns({ netns: pod.netns, host: ip, port: destination.proxyProtocolPort || port, mark: ZTUNNEL_MARK, timeoutMs: 10_000 });
  socket.setNoDelay(true);
  socket.write(proxyV2Header({ sourceIp: client.ip, sourcePort: client.port, destinationIp: ip, destinationPort: port, identity: client.identity }));
  return socket;
}

/** The `host=` of a `forwarded` header names the service the client meant (Istio reads only this part, for telemetry). */
function serviceFromForwarded(snapshot: ZtunnelSnapshot, header: string | string[] | undefined): ServiceState | undefined {
  const host = /(?:^|;)\s*host=("?)([^";,]+)\1/.exec(Array.isArray(header) ? header[0] : header ?? '')?.[2];
  if (!host) return undefined;
  const namespace = host.split('.')[1];
  return snapshot.servicesByKey.get(`${namespace}/${host}`);
}

export class InboundProxy {
  readonly hbone: HboneServer;
  private readonly records = new Map<number, ConnectionRecord>();

  constructor(private readonly deps: InboundDeps) {
    this.hbone = new HboneServer({
      certificateFor: async (localAddress) => {
        const workload = deps.state.current().workloadsByIp.get(plainIp(localAddress));
        if (!workload || !deps.podByIp(plainIp(localAddress))) return undefined;
        return deps.certificates.get(spiffeUri(workload.identity));
      },
      onTunnel: (request) => this.decide(request),
    });
    this.hbone.on('tunnelClosed', (info) => {
      const record = this.records.get(info.tunnelId);
      if (!record) return;
      this.records.delete(info.tunnelId);
      record.addReceived(info.bytesIn);
      record.addSent(info.bytesOut);
      record.finish(info.outcome === 'aborted' ? { error: info.reason ?? 'connection reset' } : {});
    });
    this.hbone.on('connectionRejected', (rejection) => {
      deps.accessLog.warn({ direction: 'inbound', 'src.addr': `${rejection.remoteAddress}:${rejection.remotePort}`, 'dst.addr': `${rejection.localAddress}:${rejection.localPort}`, error: rejection.message, reason: rejection.reason }, 'connection failed');
      deps.metrics.failed.inc({ reporter: 'destination', response_flags: rejection.reason === 'TLS_HANDSHAKE' ? 'TLS_FAILURE' : 'IDENTITY_ERROR', request_protocol: 'tcp', connection_security_policy: 'mutual_tls' });
    });
  }

  private async decide(request: TunnelRequest): Promise<TunnelDecision> {
    const snapshot = this.deps.state.current();
    const target = request.authority;
    const record = new ConnectionRecord(
      { direction: 'inbound', sourceAddress: `${request.peer.address}:${request.peer.port}`, destinationAddress: `${request.localAddress}:${request.localPort}`, hboneTarget: `${target.ip}:${target.port}`, sourceIdentity: request.peer.identity, mtls: true },
      this.deps.metrics,
      this.deps.accessLog,
    );
    const refuse = (status: 400 | 401 | 503, reason: string, flags: string): TunnelDecision => {
      record.finish({ error: reason, responseFlags: flags });
      return { status, reason };
    };
    // Istio: the tunnel must target the pod that was dialled (waypoints are the exception, handled by them).
    if (target.ip !== plainIp(request.localAddress)) return refuse(400, `authority ${target.ip} is not the dialled address ${request.localAddress}`, 'CONNECT');
    const destination: WorkloadState | undefined = snapshot.workloadsByIp.get(target.ip);
    const pod = this.deps.podByIp(target.ip);
    if (!destination || !pod) return refuse(503, `no workload ${target.ip} on this node`, 'CONNECT');
    const source = snapshot.workloadsByIp.get(request.peer.address);
    let sourceIdentity;
    try {
      sourceIdentity = parseSpiffeIdParts(request.peer.identity);
    } catch (error) {
      return refuse(401, `peer identity ${request.peer.identity} is not a workload identity: ${(error as Error).message}`, 'IDENTITY_ERROR');
    }
    record.update({ source, destination, destinationIdentity: spiffeUri(destination.identity), service: serviceFromForwarded(snapshot, request.headers.forwarded) });
    const decision = authorize(policiesOf(snapshot), {
      sourceIp: request.peer.address,
      sourceIdentity,
      destinationIp: target.ip,
      destinationPort: target.port,
      destinationWorkload: { namespace: destination.namespace, authorizationPolicies: destination.authorizationPolicies },
    });
    if (!decision.allowed) return refuse(401, decision.reason, 'DENY');
    let upstream: net.Socket;
    try {
      upstream = await deliver(pod, destination, target.ip, target.port, { ip: request.peer.address, port: request.peer.port, identity: request.peer.identity });
    } catch (error) {
      return refuse(503, `connect to ${target.ip}:${target.port} failed: ${(error as Error).message}`, 'CONNECT');
    }
    record.opened();
    this.records.set(request.id, record);
    return { status: 200, upstream };
  }

  /** A plaintext connection captured on 15006: allowed only where PeerAuthentication (as converted policy) allows it. */
  async handlePlaintext(socket: net.Socket, pod: EnrolledPod): Promise<void> {
    const snapshot = this.deps.state.current();
    const clientIp = plainIp(socket.remoteAddress);
    let target: { address: string; port: number };
    try {
      target = originalDst(socket);
    } catch (error) {
      this.deps.logger.warn({ err: (error as Error).message }, 'inbound plaintext connection without an original destination');
      socket.destroy();
      return;
    }
    const destination = snapshot.workloadsByIp.get(target.address);
    const record = new ConnectionRecord(
      { direction: 'inbound', sourceAddress: `${clientIp}:${socket.remotePort}`, destinationAddress: `${target.address}:${target.port}`, source: snapshot.workloadsByIp.get(clientIp), destination, destinationIdentity: destination ? spiffeUri(destination.identity) : undefined, mtls: false },
      this.deps.metrics,
      this.deps.accessLog,
    );
    if (destination) {
      const decision = authorize(policiesOf(snapshot), {
        sourceIp: clientIp,
        destinationIp: target.address,
        destinationPort: target.port,
        destinationWorkload: { namespace: destination.namespace, authorizationPolicies: destination.authorizationPolicies },
      });
      if (!decision.allowed) {
        record.finish({ error: decision.reason, responseFlags: 'DENY' });
        socket.resetAndDestroy();
        return;
      }
    }
    let upstream: net.Socket;
    try {
      upstream = await deliver(pod, destination, target.address, target.port, { ip: clientIp, port: socket.remotePort ?? 0 });
    } catch (error) {
      record.finish({ error: (error as Error).message, responseFlags: 'CONNECT' });
      socket.resetAndDestroy();
      return;
    }
    record.opened();
    const result = await relay(socket, upstream, { onBytes: (direction, bytes) => (direction === 'in' ? record.addReceived(bytes) : record.addSent(bytes)) });
    record.finish(result.outcome === 'aborted' ? { error: result.error?.message ?? `reset by ${result.abortedBy}` } : {});
  }
}
