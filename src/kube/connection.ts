// One connection to a cluster: the kubeconfig (file, default chain or in-cluster) and the API clients made from it.
import type {
  AppsV1Api,
  AuthenticationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { loadClientLibrary, type ClientLibrary } from './client-library';

export interface KubeConnectionOptions {
  /** A kubeconfig file. Default: $KUBECONFIG, then ~/.kube/config, then the pod's service account (in-cluster). */
  readonly kubeconfig?: string;
  /** A context of that kubeconfig other than its current one. */
  readonly context?: string;
}

/** The kubeconfig cannot be used: unreadable, malformed, or without the context asked for. */
export class KubeConfigInvalid extends Error {
  readonly code = 'KUBECONFIG_INVALID' as const;
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'KubeConfigInvalid';
  }
}

export class KubeConnection {
  private readonly clients = new Map<unknown, unknown>();

  private constructor(
    readonly lib: ClientLibrary,
    readonly config: KubeConfig,
  ) {}

  static async open(options: KubeConnectionOptions = {}): Promise<KubeConnection> {
    const lib = await loadClientLibrary();
    const config = new lib.KubeConfig();
    try {
      if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
      else config.loadFromDefault();
    } catch (error) {
      const where = options.kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config';
      throw new KubeConfigInvalid(`cannot load the kubeconfig ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (options.context !== undefined) {
      if (!config.getContextObject(options.context)) throw new KubeConfigInvalid(`the kubeconfig has no context "${options.context}"`);
      config.setCurrentContext(options.context);
    }
    if (!config.getCurrentCluster()) throw new KubeConfigInvalid(`the kubeconfig's current context "${config.getCurrentContext()}" names no cluster`);
    return new KubeConnection(lib, config);
  }

  /** The API server's URL, for messages. */
  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '';
  }

  /** The current context's namespace ("default" when it names none). */
  get namespace(): string {
    return this.config.getContextObject(this.config.getCurrentContext())?.namespace ?? 'default';
  }

  core(): CoreV1Api {
    return this.client(this.lib.CoreV1Api);
  }

  apps(): AppsV1Api {
    return this.client(this.lib.AppsV1Api);
  }

  discovery(): DiscoveryV1Api {
    return this.client(this.lib.DiscoveryV1Api);
  }

  coordination(): CoordinationV1Api {
    return this.client(this.lib.CoordinationV1Api);
  }

  authentication(): AuthenticationV1Api {
    return this.client(this.lib.AuthenticationV1Api);
  }

  rbac(): RbacAuthorizationV1Api {
    return this.client(this.lib.RbacAuthorizationV1Api);
  }

  custom(): CustomObjectsApi {
    return this.client(this.lib.CustomObjectsApi);
  }

  /** The generic client (any apiVersion/kind, server-side apply); it reads API discovery to find each kind's path. */
  objects(): KubernetesObjectApi {
    let client = this.clients.get(this.lib.KubernetesObjectApi) as KubernetesObjectApi | undefined;
    if (!client) {
      client = this.lib.KubernetesObjectApi.makeApiClient(this.config);
      this.clients.set(this.lib.KubernetesObjectApi, client);
    }
    return client;
  }

  private client<T>(type: new (configuration: never) => T): T {
    let client = this.clients.get(type) as T | undefined;
    if (!client) {
      client = this.config.makeApiClient(type as unknown as Parameters<KubeConfig['makeApiClient']>[0]) as T;
      this.clients.set(type, client);
    }
    return client;
  }
}
