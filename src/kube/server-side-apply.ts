// Writes whole objects to the cluster with server-side apply (create or update in one call, owned by a field manager) and deletes them.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Resource } from '../api';
import { describeObject } from '../api';
import { apiError, statusOf } from './api-errors';
import type { KubeConnection } from './connection';

/** Applies `object` as `fieldManager`, taking over fields another manager set (force), and returns what the server stored. */
export async function applyObject(connection: KubeConnection, object: Resource, fieldManager: string): Promise<Resource> {
  try {
    const stored = await connection.objects().patch(object as KubernetesObject, undefined, undefined, fieldManager, true, connection.lib.PatchStrategy.ServerSideApply);
    return stored as unknown as Resource;
  } catch (error) {
    throw apiError(`apply ${describeObject(object)}`, error);
  }
}

/** Deletes `object` (dependents go by garbage collection); false when it was already gone. */
export async function deleteObject(connection: KubeConnection, object: Resource): Promise<boolean> {
  try {
    await connection.objects().delete(object as KubernetesObject, undefined, undefined, undefined, undefined, 'Background');
    return true;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw apiError(`delete ${describeObject(object)}`, error);
  }
}

/** Reads `object` back; undefined when it does not exist. */
export async function readObject(connection: KubeConnection, object: Resource): Promise<Resource | undefined> {
  try {
    return (await connection.objects().read(object as KubernetesObject & { metadata: { name: string; namespace?: string } })) as unknown as Resource;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw apiError(`read ${describeObject(object)}`, error);
  }
}
