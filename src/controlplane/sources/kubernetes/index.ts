// Public surface of the Kubernetes ConfigSource.
export { KubernetesSource, SourceStopped } from './kubernetes-source';
export type { KubernetesSourceOptions } from './kubernetes-source';
export type { InformerBackoff, InformerRestart, InformerState } from './kind-informer';
export { WATCHED_KINDS, collectionPath } from './watched-kinds';
export type { WatchedKind } from './watched-kinds';
export { toResource } from './convert';
