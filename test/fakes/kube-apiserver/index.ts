// The fake Kubernetes API server tests run the real @kubernetes/client-node against.
export { FakeKubeApiServer } from './server';
export type { FakeKubeApiServerOptions, RequestMatch, RequestRecord, UserInfo } from './server';
export type { KubeObject, KubeMeta } from './object-store';
export type { ServiceAccountTokenClaims } from './token-review';
export { BUILT_IN_TYPES, MESH_CRD_TYPES, TOKEN_REVIEW_TYPE, apiVersionOf } from './resource-types';
export type { ApiResourceType } from './resource-types';
