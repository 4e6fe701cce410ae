// Kubernetes-mode caller authentication for the CA and xDS: a caller presents its projected service-account token and a
// TokenReview vouches for it. A ztunnel's token speaks for its node, found from the pod it is bound to (Istio's
// CA_TRUSTED_NODE_ACCOUNTS); any other service account (a waypoint) speaks only for itself.
import crypto from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { V1TokenReview } from '@kubernetes/client-node';
import type { PodSpec, Resource } from '../../api';
import { reasonOf, statusOf } from '../../kube/api-errors';
import type { KubeConnection } from '../../kube/connection';
import { spiffeIdFor } from '../../pki';
import type { Logger } from '../../telemetry/logger';
import type { CaCaller } from './issuance-plan';
import { UnauthenticatedCaller } from './node-token';

/** Istio's default: only the ztunnel's service account may ask for certificates of other workloads on its node. */
export const DEFAULT_TRUSTED_NODE_ACCOUNTS: readonly string[] = ['istio-system/ztunnel'];
/** The audience Istio's ztunnel requests for its CA token. */
export const DEFAULT_TOKEN_AUDIENCES: readonly string[] = ['istio-ca'];

const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';
const NODE_NAME = 'authentication.kubernetes.io/node-name';
const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** Where the bound pod's node comes from; PodLookup answers from a cache, undefined sending the question to the API. */
export type PodLookup = (namespace: string, name: string) => Resource | undefined;

export interface TokenReviewAuthenticatorOptions {
  readonly connection: KubeConnection;
  /** The trust domain of the identity a workload's own token earns (default cluster.local). */
  readonly trustDomain?: string;
  /** "namespace/serviceaccount" of the node agents allowed to ask (default istio-system/ztunnel). */
  readonly trustedNodeAccounts?: readonly string[];
  /** Audiences the token must carry (default istio-ca). */
  readonly audiences?: readonly string[];
  /** A cache to read the bound pod from before asking the API server (the control plane's informer snapshot). */
  readonly lookupPod?: PodLookup;
  /** How long a reviewed token's answer is reused (default 60 s); a TokenReview per CSR would load the API server. */
  readonly cacheTtlMs?: number;
  readonly cacheSize?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

interface CachedCaller {
  readonly caller: CaCaller;
  readonly expiresAt: number;
}

function firstExtra(extra: Record<string, string[]> | undefined, key: string): string | undefined {
  const values = extra?.[key];
  return Array.isArray(values) && typeof values[0] === 'string' && values[0] !== '' ? values[0] : undefined;
}

export class TokenReviewAuthenticator {
  private readonly trusted: ReadonlySet<string>;
  private readonly audiences: readonly string[];
  private readonly cache = new Map<string, CachedCaller>();
  private readonly now: () => number;

  constructor(private readonly options: TokenReviewAuthenticatorOptions) {
    this.trusted = new Set(options.trustedNodeAccounts ?? DEFAULT_TRUSTED_NODE_ACCOUNTS);
    this.audiences = options.audiences ?? DEFAULT_TOKEN_AUDIENCES;
    this.now = options.now ?? Date.now;
  }

  /**
   * Accepts `authorization: Bearer <token>`: a trusted node agent's pod token earns its node, any other service account's
   * token exactly its own identity. Throws UnauthenticatedCaller otherwise.
   */
  readonly authenticate = async (metadata: grpc.Metadata): Promise<CaCaller> => {
    const header = metadata.get('authorization')[0];
    if (header === undefined) throw new UnauthenticatedCaller('no "authorization: Bearer <token>" header');
    const token = /^Bearer\s+(\S+)\s*$/i.exec(typeof header === 'string' ? header : header.toString('latin1'))?.[1];
    if (token === undefined) throw new UnauthenticatedCaller('the authorization header is not "Bearer <token>"');
    const key = crypto.createHash('sha256').update(token).digest('hex');
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.caller;
    this.cache.delete(key);
    const caller = await this.review(token);
    this.remember(key, caller);
    return caller;
  };

  private async review(token: string): Promise<CaCaller> {
    let review: V1TokenReview;
    try {
      review = await this.options.connection.authentication().createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [...this.audiences] } },
      });
    } catch (error) {
      throw new UnauthenticatedCaller(`the TokenReview could not be made (${statusOf(error) ?? 'no answer'}: ${reasonOf(error)}); check the control plane's RBAC for tokenreviews`);
    }
    const status = review.status;
    if (status?.authenticated !== true) throw new UnauthenticatedCaller(`the token was rejected by the API server: ${status?.error ?? 'not authenticated'}`);
    if (!this.audiences.some((audience) => status.audiences?.includes(audience) ?? true)) {
      throw new UnauthenticatedCaller(`the token is not for audience ${this.audiences.join(' or ')}`);
    }
    const username = status.user?.username ?? '';
    const account = SERVICE_ACCOUNT_USER.exec(username);
    if (!account) throw new UnauthenticatedCaller(`${username || 'the caller'} is not a service account; node agents authenticate with their pod's projected service-account token`);
    const [namespace, serviceAccount] = [account[1], account[2]];
    const who = `${namespace}/${serviceAccount}`;
    const extra = status.user?.extra;
    const podName = firstExtra(extra, POD_NAME);
    if (!this.trusted.has(who)) return this.workload(namespace, serviceAccount, podName, firstExtra(extra, POD_UID));
    if (podName === undefined) throw new UnauthenticatedCaller(`the token of ${who} is not bound to a pod; mount a projected service-account token (audience ${this.audiences[0]})`);
    const pod = await this.boundPod(who, namespace, podName, firstExtra(extra, POD_UID));
    const node = (pod.spec as PodSpec | undefined)?.nodeName ?? '';
    if (node === '') throw new UnauthenticatedCaller(`pod ${namespace}/${podName} is not scheduled on a node yet`);
    const tokenNode = firstExtra(extra, NODE_NAME);
    if (tokenNode !== undefined && tokenNode !== node) throw new UnauthenticatedCaller(`the token of pod ${namespace}/${podName} names node ${tokenNode}, but the pod runs on ${node}`);
    this.options.logger?.debug({ caller: who, pod: podName, node }, 'authenticated node agent by TokenReview');
    return { node, caller: `${who} (pod ${podName})` };
  }

  /** A workload (a waypoint) asking for itself: its identity is its service account's, whatever node it runs on. */
  private async workload(namespace: string, serviceAccount: string, podName: string | undefined, podUid: string | undefined): Promise<CaCaller> {
    const who = `${namespace}/${serviceAccount}`;
    const identity = spiffeIdFor(this.options.trustDomain ?? 'cluster.local', namespace, serviceAccount);
    if (podName === undefined) return { node: '', caller: who, identity };
    const pod = await this.boundPod(who, namespace, podName, podUid);
    this.options.logger?.debug({ caller: who, pod: podName, identity }, 'authenticated workload by TokenReview');
    return { node: (pod.spec as PodSpec | undefined)?.nodeName ?? '', caller: `${who} (pod ${podName})`, identity };
  }

  private async boundPod(who: string, namespace: string, podName: string, podUid: string | undefined): Promise<Resource> {
    const pod = await this.pod(namespace, podName);
    if (!pod) throw new UnauthenticatedCaller(`pod ${namespace}/${podName}, to which the token of ${who} is bound, does not exist`);
    if (podUid !== undefined && pod.metadata.uid !== podUid) {
      throw new UnauthenticatedCaller(`pod ${namespace}/${podName} was replaced since its token was issued (uid ${podUid}, now ${pod.metadata.uid ?? 'none'})`);
    }
    return pod;
  }

  /** The bound pod from the cache if it knows it, else from the API (a new ztunnel may not have reached the cache yet). */
  private async pod(namespace: string, name: string): Promise<Resource | undefined> {
    const cached = this.options.lookupPod?.(namespace, name);
    if (cached) return cached;
    try {
      return (await this.options.connection.core().readNamespacedPod({ namespace, name })) as unknown as Resource;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new UnauthenticatedCaller(`cannot read pod ${namespace}/${name} (${statusOf(error) ?? 'no answer'}: ${reasonOf(error)})`);
    }
  }

  private remember(key: string, caller: CaCaller): void {
    const limit = this.options.cacheSize ?? 10_000;
    if (this.cache.size >= limit) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, { caller, expiresAt: this.now() + (this.options.cacheTtlMs ?? 60_000) });
  }
}
