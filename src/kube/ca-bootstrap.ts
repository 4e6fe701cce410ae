// The mesh CA on a cluster: the cacerts Secret the control plane mounts (made once, by `ambit install`, when the operator
// brought none) and the ambit-ca-root-cert ConfigMap ztunnels and waypoints trust. The control plane itself never reads secrets.
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Resource } from '../api';
import { CA_FILES, DEFAULT_ROOT_TTL_DAYS } from '../controlplane/ca/ca-store';
import { generateRootCa } from '../pki';
import { apiError, statusOf } from './api-errors';
import type { KubeConnection } from './connection';
import { applyObject } from './server-side-apply';

export const CA_SECRET = 'cacerts';
export const ROOT_CONFIG_MAP = 'ambit-ca-root-cert';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

export interface CaBootstrapResult {
  /** 'created' when ambit made a new root; 'existing' when a cacerts Secret was already there (kept as is). */
  readonly secret: 'created' | 'existing';
  readonly rootCertPem: string;
}

/** cacerts holds neither a plug-in CA nor an ambit root; the control plane could not start from it. */
export class CaSecretUnusable extends Error {
  readonly code = 'CA_SECRET_UNUSABLE' as const;
  constructor(namespace: string, keys: readonly string[]) {
    super(`Secret ${namespace}/${CA_SECRET} has no ${CA_FILES.root} (keys: ${keys.join(', ') || 'none'}); give it Istio's plug-in files (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem) or delete it to let ambit make a root`);
    this.name = 'CaSecretUnusable';
  }
}

function decode(secret: V1Secret, key: string): string | undefined {
  const value = secret.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/** Ensures cacerts exists (generating ambit's self-signed root only when absent) and publishes its root certificate. */
export async function bootstrapCa(connection: KubeConnection, namespace: string, trustDomain: string, fieldManager: string): Promise<CaBootstrapResult> {
  const core = connection.core();
  let secret: V1Secret | undefined;
  try {
    secret = await core.readNamespacedSecret({ name: CA_SECRET, namespace });
  } catch (error) {
    if (statusOf(error) !== 404) throw apiError(`read Secret ${namespace}/${CA_SECRET}`, error);
  }
  let result: CaBootstrapResult;
  if (secret) {
    const root = decode(secret, CA_FILES.root);
    if (root === undefined) throw new CaSecretUnusable(namespace, Object.keys(secret.data ?? {}));
    result = { secret: 'existing', rootCertPem: root };
  } else {
    const root = generateRootCa({ trustDomain, ttlDays: DEFAULT_ROOT_TTL_DAYS });
    try {
      await core.createNamespacedSecret({
        namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'Opaque',
          metadata: { name: CA_SECRET, namespace, labels: { [MANAGED_BY_LABEL]: 'ambit' } },
          data: { [CA_FILES.root]: Buffer.from(root.certPem).toString('base64'), [CA_FILES.rootKey]: Buffer.from(root.keyPem).toString('base64') },
        },
      });
    } catch (error) {
      throw apiError(`create Secret ${namespace}/${CA_SECRET}`, error);
    }
    result = { secret: 'created', rootCertPem: root.certPem };
  }
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: ROOT_CONFIG_MAP, namespace, labels: { [MANAGED_BY_LABEL]: 'ambit' } },
    data: { [CA_FILES.root]: result.rootCertPem },
  };
  await applyObject(connection, configMap as unknown as Resource, fieldManager);
  return result;
}

/** Removes the root ConfigMap, and cacerts too when `purge` is set and ambit made it; returns what was deleted. */
export async function removeCa(connection: KubeConnection, namespace: string, purge: boolean): Promise<string[]> {
  const core = connection.core();
  const removed: string[] = [];
  const attempt = async (what: string, remove: () => Promise<unknown>) => {
    try {
      await remove();
      removed.push(what);
    } catch (error) {
      if (statusOf(error) !== 404) throw apiError(`delete ${what}`, error);
    }
  };
  await attempt(`ConfigMap ${namespace}/${ROOT_CONFIG_MAP}`, () => core.deleteNamespacedConfigMap({ name: ROOT_CONFIG_MAP, namespace }));
  if (purge) {
    let secret: V1Secret | undefined;
    try {
      secret = await core.readNamespacedSecret({ name: CA_SECRET, namespace });
    } catch (error) {
      if (statusOf(error) !== 404) throw apiError(`read Secret ${namespace}/${CA_SECRET}`, error);
    }
    // An operator's own CA (not labelled by ambit) is never deleted.
    if (secret?.metadata?.labels?.[MANAGED_BY_LABEL] === 'ambit') await attempt(`Secret ${namespace}/${CA_SECRET}`, () => core.deleteNamespacedSecret({ name: CA_SECRET, namespace }));
  }
  return removed;
}
