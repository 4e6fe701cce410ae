// Bound service-account tokens the fake issues, and the TokenReview answers it gives for them (authentication.k8s.io/v1).
import { randomBytes, randomUUID } from 'node:crypto';
import type { ObjectStore } from './object-store';
import type { ApiResourceType } from './resource-types';

/** What a projected service-account token is bound to. */
export interface ServiceAccountTokenClaims {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly audiences: readonly string[];
  /** The pod the token is bound to; the review fails once that pod (by name and uid) is gone, as for real bound tokens. */
  readonly podName?: string;
  readonly podUid?: string;
  /** Set by Kubernetes 1.30+ (ServiceAccountTokenPodNodeInfo); omitted when undefined. */
  readonly nodeName?: string;
}

export class TokenIssuer {
  private readonly tokens = new Map<string, ServiceAccountTokenClaims & { readonly uid: string; readonly jti: string }>();

  constructor(
    private readonly store: ObjectStore,
    private readonly podType: ApiResourceType,
  ) {}

  /** A new opaque token (shaped like a JWT) bound as `claims` says. */
  issue(claims: ServiceAccountTokenClaims): string {
    const part = () => randomBytes(24).toString('base64url');
    const token = `${part()}.${part()}.${part()}`;
    this.tokens.set(token, { ...claims, uid: randomUUID(), jti: randomUUID() });
    return token;
  }

  /** The TokenReview object the server returns for a submitted one. */
  review(body: Record<string, unknown>): Record<string, unknown> {
    const spec = (body.spec ?? {}) as { token?: string; audiences?: string[] };
    const answer = (status: Record<string, unknown>) => ({ kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status });
    const claims = spec.token === undefined ? undefined : this.tokens.get(spec.token);
    if (!claims) return answer({ user: {}, error: '[invalid bearer token, square/go-jose: error in cryptographic primitive]' });
    const wanted = spec.audiences ?? [];
    const audiences = wanted.length === 0 ? [...claims.audiences] : wanted.filter((audience) => claims.audiences.includes(audience));
    if (audiences.length === 0) {
      return answer({ user: {}, error: `[invalid bearer token, token audiences ${JSON.stringify(claims.audiences)} is invalid for the target audiences ${JSON.stringify(wanted)}, unknown]` });
    }
    if (claims.podName !== undefined) {
      const pod = this.store.get(this.podType, claims.namespace, claims.podName);
      if (!pod || (claims.podUid !== undefined && pod.metadata.uid !== claims.podUid)) {
        return answer({ user: {}, error: `[invalid bearer token, pod "${claims.podName}" not found or its uid changed, unknown]` });
      }
    }
    const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`] };
    if (claims.podName !== undefined) extra['authentication.kubernetes.io/pod-name'] = [claims.podName];
    if (claims.podUid !== undefined) extra['authentication.kubernetes.io/pod-uid'] = [claims.podUid];
    if (claims.nodeName !== undefined) extra['authentication.kubernetes.io/node-name'] = [claims.nodeName];
    return answer({
      authenticated: true,
      user: {
        username: `system:serviceaccount:${claims.namespace}:${claims.serviceAccount}`,
        uid: claims.uid,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${claims.namespace}`, 'system:authenticated'],
        extra,
      },
      audiences,
    });
  }
}
