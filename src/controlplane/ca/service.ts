// The CA's gRPC service (istio.v1.auth.IstioCertificateService/CreateCertificate): authenticate the node, check the
// identity is one of its pods', sign, and log and count every refusal once.
import * as grpc from '@grpc/grpc-js';
import { asCertificateRequest, caServiceDefinition, certInfo, type SpiffeId, type SubjectAltNames } from '../../pki';
import type { Logger } from '../../telemetry/logger';
import { planIssuance, type CaCaller, type CaRefusal, type CaRefusalReason } from './issuance-plan';

export type { CaCaller, CaRefusal, CaRefusalReason } from './issuance-plan';

/** Istio's SECRET_TTL default. */
export const DEFAULT_WORKLOAD_TTL_SECONDS = 24 * 60 * 60;
/** Istio's MAX_WORKLOAD_CERT_TTL default (90 days). */
export const DEFAULT_MAX_WORKLOAD_TTL_SECONDS = 90 * 24 * 60 * 60;

/** What the service needs from a CA: CaStore is one. */
export interface WorkloadCertificateSigner {
  readonly trustDomain: string;
  /** Returns [leaf, ...intermediates, root]. */
  issue(request: { publicKeyPem: string; sans: SubjectAltNames; ttlSeconds: number }): string[];
}

/** Establishes which node is calling, from the request metadata; throws (any error) to refuse with UNAUTHENTICATED. */
export type CaAuthenticator = (metadata: grpc.Metadata) => Promise<CaCaller>;

/** True when `node` runs a pod whose identity is `identity`. */
export type IdentityAuthorizer = (node: string, identity: SpiffeId) => boolean | Promise<boolean>;

export interface IssuedEvent {
  readonly node: string;
  readonly caller: string;
  readonly identity: SpiffeId;
  readonly ttlSeconds: number;
  readonly serial: string;
  readonly notAfter: Date;
}

export interface CaServiceCounters {
  issued: number;
  /** Signing failed inside the CA (INTERNAL); not a refusal. */
  failed: number;
  readonly refused: Record<CaRefusalReason, number>;
}

export interface CertificateServiceOptions {
  readonly ca: WorkloadCertificateSigner;
  readonly authenticate: CaAuthenticator;
  readonly authorize: IdentityAuthorizer;
  readonly logger: Logger;
  readonly maxTtlSeconds?: number;
  readonly defaultTtlSeconds?: number;
  readonly onRefusal?: (refusal: CaRefusal) => void;
  readonly onIssued?: (event: IssuedEvent) => void;
}

export interface CertificateService {
  /** For `server.addService(definition, implementation)`. */
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
  /** Live counts since creation. */
  readonly counters: CaServiceCounters;
}

export function createCertificateService(options: CertificateServiceOptions): CertificateService {
  const maxTtlSeconds = options.maxTtlSeconds ?? DEFAULT_MAX_WORKLOAD_TTL_SECONDS;
  const limits = {
    trustDomain: options.ca.trustDomain,
    maxTtlSeconds,
    defaultTtlSeconds: Math.min(options.defaultTtlSeconds ?? DEFAULT_WORKLOAD_TTL_SECONDS, maxTtlSeconds),
  };
  const counters: CaServiceCounters = {
    issued: 0,
    failed: 0,
    refused: { unauthenticated: 0, 'invalid-request': 0, 'identity-mismatch': 0, 'foreign-trust-domain': 0, 'not-on-node': 0, 'not-own-identity': 0 },
  };
  const log = options.logger;

  const refuse = (refusal: CaRefusal, callback: grpc.sendUnaryData<unknown>): void => {
    counters.refused[refusal.reason] += 1;
    log.warn({ node: refusal.node, caller: refusal.caller, identity: refusal.identity, reason: refusal.reason }, refusal.message);
    options.onRefusal?.(refusal);
    callback({ code: refusal.status, details: refusal.message });
  };

  const createCertificate = async (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): Promise<void> => {
    let caller: CaCaller;
    try {
      caller = await options.authenticate(call.metadata);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      refuse({ kind: 'refuse', reason: 'unauthenticated', status: grpc.status.UNAUTHENTICATED, message: `caller not authenticated: ${reason}` }, callback);
      return;
    }
    const plan = planIssuance(asCertificateRequest(call.request), caller, limits);
    if (plan.kind !== 'issue') {
      refuse(plan, callback);
      return;
    }
    let allowed: boolean;
    try {
      // A workload's own identity is proven by its token; only node agents speak for pods, so only they need the node check.
      allowed = caller.identity === plan.identity || (await options.authorize(caller.node, plan.identity));
    } catch (error) {
      counters.failed += 1;
      log.error({ node: caller.node, identity: plan.identity, err: error }, 'cannot tell which pods run on the node');
      callback({ code: grpc.status.UNAVAILABLE, details: `cannot check the pods of node ${caller.node} yet; retry` });
      return;
    }
    if (!allowed) {
      const message = `node ${caller.node} runs no pod with identity ${plan.identity}`;
      const refusal: CaRefusal = {
        kind: 'refuse',
        reason: 'not-on-node',
        status: grpc.status.PERMISSION_DENIED,
        message,
        node: caller.node,
        caller: caller.caller,
        identity: plan.identity,
      };
      refuse(refusal, callback);
      return;
    }
    let chain: string[];
    try {
      chain = options.ca.issue({ publicKeyPem: plan.publicKeyPem, sans: { uris: [plan.identity] }, ttlSeconds: plan.ttlSeconds });
    } catch (error) {
      counters.failed += 1;
      log.error({ node: caller.node, identity: plan.identity, err: error }, 'signing a workload certificate failed');
      callback({ code: grpc.status.INTERNAL, details: `the CA could not sign a certificate for ${plan.identity}` });
      return;
    }
    const leaf = certInfo(chain[0] ?? '');
    counters.issued += 1;
    const event: IssuedEvent = {
      node: caller.node,
      caller: caller.caller,
      identity: plan.identity,
      ttlSeconds: plan.ttlSeconds,
      serial: leaf.serial,
      notAfter: leaf.notAfter,
    };
    log.info({ ...event, notAfter: event.notAfter.toISOString() }, 'issued workload certificate');
    options.onIssued?.(event);
    callback(null, { cert_chain: chain });
  };

  return {
    definition: caServiceDefinition(),
    implementation: {
      CreateCertificate: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        void createCertificate(call, callback);
      },
    },
    counters,
  };
}
