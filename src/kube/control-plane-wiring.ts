// What the control plane process adds on Kubernetes: informers as its source, TokenReview for callers, and, under a Lease,
// the waypoint reconciler. main.ts builds this before the ControlPlane and starts it once the ControlPlane serves.
import crypto from 'node:crypto';
import os from 'node:os';
import type { CaAuthenticator } from '../controlplane/ca/service';
import { TokenReviewAuthenticator } from '../controlplane/ca/token-review';
import { LeaseElector } from '../controlplane/leader';
import { KubernetesSource } from '../controlplane/sources/kubernetes';
import { admissionProblems } from '../controlplane/sources/kubernetes/admission';
import type { Logger } from '../telemetry/logger';
import { KubeConnection } from './connection';
import { LEADER_LEASE } from './install';
import { AMBIT_NAMESPACE, defaultImage, IMAGE_ENV } from './manifests';
import { WaypointReconciler } from './waypoint';

export interface KubernetesControlPlaneOptions {
  /** Default: in-cluster service account (or $KUBECONFIG / ~/.kube/config outside a cluster). */
  readonly kubeconfig?: string;
  readonly trustDomain: string;
  readonly logger: Logger;
  /** Default: $POD_NAMESPACE, else istio-system. */
  readonly namespace?: string;
  /** Default: $AMBIT_IMAGE, else this version's image. */
  readonly image?: string;
  /** Default: $POD_NAME (else the host name) plus a random suffix. */
  readonly identity?: string;
}

export interface KubernetesControlPlane {
  readonly connection: KubeConnection;
  readonly source: KubernetesSource;
  /** For the CA and xDS: ztunnel and waypoint tokens checked by TokenReview. */
  readonly authenticate: CaAuthenticator;
  readonly elector: LeaseElector;
  readonly waypoints: WaypointReconciler;
  /** Starts leader election and the reconciler; call after the source has synced. */
  start(): void;
  stop(): Promise<void>;
}

export async function kubernetesControlPlane(options: KubernetesControlPlaneOptions): Promise<KubernetesControlPlane> {
  const { logger } = options;
  const connection = await KubeConnection.open({ kubeconfig: options.kubeconfig });
  const namespace = options.namespace ?? process.env.POD_NAMESPACE ?? AMBIT_NAMESPACE;
  const source = new KubernetesSource({ connection, logger: logger.child({ part: 'informers' }), admit: admissionProblems });
  const authenticator = new TokenReviewAuthenticator({
    connection,
    trustDomain: options.trustDomain,
    // The informers already hold every pod; only a ztunnel too new for the cache costs an API read.
    lookupPod: (podNamespace, name) => source.snapshot().objects.get(`Pod/${podNamespace}/${name}`),
    logger: logger.child({ part: 'token-review' }),
  });
  const elector = new LeaseElector({
    connection,
    namespace,
    name: LEADER_LEASE,
    identity: options.identity ?? `${process.env.POD_NAME ?? os.hostname()}_${crypto.randomBytes(4).toString('hex')}`,
    logger: logger.child({ part: 'leader-election' }),
  });
  const waypoints = new WaypointReconciler({
    connection,
    source,
    image: options.image ?? process.env[IMAGE_ENV] ?? defaultImage(),
    controlPlaneAddress: `ambit-controlplane.${namespace}.svc:15012`,
    trustDomain: options.trustDomain,
    leadership: elector,
    logger: logger.child({ part: 'waypoints' }),
  });
  return {
    connection,
    source,
    authenticate: authenticator.authenticate,
    elector,
    waypoints,
    start: () => {
      elector.start();
      waypoints.start();
    },
    stop: async () => {
      waypoints.stop();
      await elector.stop();
    },
  };
}
