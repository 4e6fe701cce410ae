// Loads @kubernetes/client-node, an ES module, from ambit's CommonJS build: the one place that loads it; everything else imports types only.
import type * as ClientNode from '@kubernetes/client-node';

export type ClientLibrary = typeof ClientNode;

/** The client library could not be loaded (a broken install, or a Node.js too old for its dependencies). */
export class KubeClientUnavailable extends Error {
  readonly code = 'KUBE_CLIENT_UNAVAILABLE' as const;
  constructor(cause: unknown) {
    super(`cannot load @kubernetes/client-node (${cause instanceof Error ? cause.message : String(cause)}); run "npm ci" with Node.js 20.18 or newer`, { cause });
    this.name = 'KubeClientUnavailable';
  }
}

let loading: Promise<ClientLibrary> | undefined;

/**
 * The library, loaded once. Where Node.js can require() an ES module (20.19+) that is used: it is synchronous and
 * much faster than import() under ESM loader hooks (test runners install some). Older Node.js 20 gets import(),
 * which TypeScript leaves as is in CommonJS output; a static import would compile to a require() they cannot run.
 */
export function loadClientLibrary(): Promise<ClientLibrary> {
  loading ??= (async () => {
    try {
      if ((process.features as { require_module?: boolean }).require_module) return require('@kubernetes/client-node') as ClientLibrary;
      return await import('@kubernetes/client-node');
    } catch (error) {
      loading = undefined;
      throw new KubeClientUnavailable(error);
    }
  })();
  return loading;
}
