// `ambit install` and `ambit uninstall` through the client library: the daemonset/ manifests applied server-side (CA
// bootstrapped first), or removed again; the CRDs ambit reads are checked, not installed.
import { describeObject, type Resource } from '../api';
import { WATCHED_KINDS } from '../controlplane/sources/kubernetes/watched-kinds';
import { apiError, statusOf } from './api-errors';
import { bootstrapCa, removeCa } from './ca-bootstrap';
import type { KubeConnection } from './connection';
import { AMBIT_NAMESPACE, defaultImage, renderManifests } from './manifests';
import { applyObject, deleteObject } from './server-side-apply';

export const INSTALL_FIELD_MANAGER = 'ambit-install';
/** The Lease the control plane replicas elect a leader with (made at run time, removed by uninstall). */
export const LEADER_LEASE = 'ambit-controlplane';

export type StepOutcome = 'applied' | 'would apply' | 'created' | 'existing' | 'deleted' | 'absent' | 'kept';

export interface InstallStep {
  /** "Deployment istio-system/ambit-controlplane". */
  readonly what: string;
  readonly outcome: StepOutcome;
}

export interface InstallReport {
  readonly steps: InstallStep[];
  /** Problems that do not stop the install, e.g. CRDs not installed yet. */
  readonly warnings: string[];
}

export interface InstallOptions {
  readonly image?: string;
  readonly trustDomain?: string;
  /** Check and report only; write nothing. */
  readonly dryRun?: boolean;
  /** Called after each step, so a CLI can print progress. */
  readonly onStep?: (step: InstallStep) => void;
}

/** The kinds (from CRDs) the control plane reads that this cluster does not serve, as "Kind (group/version)". */
export async function missingCrdKinds(connection: KubeConnection): Promise<string[]> {
  const missing: string[] = [];
  for (const kind of WATCHED_KINDS.filter((candidate) => candidate.optional)) {
    const [group, version] = kind.apiVersion.split('/');
    try {
      await connection.custom().listClusterCustomObject({ group, version, plural: kind.plural, limit: 1 });
    } catch (error) {
      if (statusOf(error) !== 404) throw apiError(`list ${kind.kind} (${kind.apiVersion})`, error);
      missing.push(`${kind.kind} (${kind.apiVersion})`);
    }
  }
  return missing;
}

export async function installManifests(connection: KubeConnection, options: InstallOptions = {}): Promise<InstallReport> {
  const image = options.image ?? defaultImage();
  const objects = renderManifests({ image }).map(({ object }) => object);
  const steps: InstallStep[] = [];
  const record = (step: InstallStep) => {
    steps.push(step);
    options.onStep?.(step);
  };
  const warnings: string[] = [];
  const missing = await missingCrdKinds(connection);
  if (missing.length > 0) {
    warnings.push(`the cluster does not serve ${missing.join(', ')}: install Istio's CRDs and the Gateway API CRDs (docs/kubernetes.md); until then the control plane treats them as empty`);
  }
  if (options.dryRun) {
    for (const object of objects) record({ what: describeObject(object), outcome: 'would apply' });
    return { steps, warnings };
  }
  // The namespace first (everything else lives in it), then the CA the control plane's pods mount.
  const [namespaces, rest] = [objects.filter((object) => object.kind === 'Namespace'), objects.filter((object) => object.kind !== 'Namespace')];
  for (const object of namespaces) {
    await applyObject(connection, object, INSTALL_FIELD_MANAGER);
    record({ what: describeObject(object), outcome: 'applied' });
  }
  const ca = await bootstrapCa(connection, AMBIT_NAMESPACE, options.trustDomain ?? 'cluster.local', INSTALL_FIELD_MANAGER);
  record({ what: `Secret ${AMBIT_NAMESPACE}/cacerts`, outcome: ca.secret });
  record({ what: `ConfigMap ${AMBIT_NAMESPACE}/ambit-ca-root-cert`, outcome: 'applied' });
  for (const object of rest) {
    await applyObject(connection, object, INSTALL_FIELD_MANAGER);
    record({ what: describeObject(object), outcome: 'applied' });
  }
  return { steps, warnings };
}

export interface UninstallOptions {
  /** Also delete the cacerts Secret, if ambit made it (an operator's own CA is always kept). */
  readonly purgeCa?: boolean;
  readonly onStep?: (step: InstallStep) => void;
}

export async function uninstallManifests(connection: KubeConnection, options: UninstallOptions = {}): Promise<InstallReport> {
  const objects = renderManifests().map(({ object }) => object);
  const steps: InstallStep[] = [];
  const record = (step: InstallStep) => {
    steps.push(step);
    options.onStep?.(step);
  };
  for (const object of [...objects].reverse()) {
    // istio-system may hold Istio or the operator's own things; like istioctl, leave it.
    if (object.kind === 'Namespace') {
      record({ what: describeObject(object), outcome: 'kept' });
      continue;
    }
    record({ what: describeObject(object), outcome: (await deleteObject(connection, object)) ? 'deleted' : 'absent' });
  }
  const lease: Resource = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEADER_LEASE, namespace: AMBIT_NAMESPACE } };
  record({ what: describeObject(lease), outcome: (await deleteObject(connection, lease)) ? 'deleted' : 'absent' });
  const removed = await removeCa(connection, AMBIT_NAMESPACE, options.purgeCa ?? false);
  for (const what of removed) record({ what, outcome: 'deleted' });
  const warnings = options.purgeCa ? [] : [`Secret ${AMBIT_NAMESPACE}/cacerts (the mesh CA) is kept; \`ambit uninstall --purge\` deletes it if ambit made it`];
  return { steps, warnings };
}
