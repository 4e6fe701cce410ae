// The apps/v1 Deployment kind: replicas of a pod template, selected by labels.

import type { KindDefinition } from '../kind';
import { matchLabelsSelector, templateMetaSchema } from '../metadata';
import type { Resource } from '../resource';
import { bool, int, object, opaque, required, type Cursor } from '../schema';
import { applyPodSpecDefaults, podSpecSchema, type PodSpec } from './pod';

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; name?: string };
  spec: PodSpec;
}

export interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  template: PodTemplate;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  progressDeadlineSeconds?: number;
  paused?: boolean;
  /** Accepted and not interpreted. */
  strategy?: unknown;
}

export type Deployment = Resource<DeploymentSpec>;

/** The selector must select the pods the template makes, and those pods must restart forever. */
function checkSelectorMatchesTemplate(spec: DeploymentSpec, at: Cursor): void {
  const selector = spec.selector.matchLabels;
  const labels = spec.template.metadata?.labels ?? {};
  const matchAt = at.at('selector').at('matchLabels');
  if (Object.keys(selector).length === 0) {
    matchAt.fail('must not be empty: a Deployment needs a selector');
    return;
  }
  const missing = Object.entries(selector).filter(([k, v]) => labels[k] !== v).map(([k, v]) => `${k}=${v}`);
  if (missing.length > 0) matchAt.fail(`does not match template.metadata.labels (missing ${missing.join(', ')})`);
  const restart = spec.template.spec.restartPolicy;
  if (restart !== undefined && restart !== 'Always') {
    at.at('template').at('spec').at('restartPolicy').fail(`must be Always in a Deployment (got ${JSON.stringify(restart)})`);
  }
}

const deploymentSpecSchema = object<DeploymentSpec>(
  {
    replicas: int({ min: 0 }),
    selector: required(matchLabelsSelector({ requireMatchLabels: true })),
    template: required(object({ metadata: templateMetaSchema(), spec: required(podSpecSchema) })),
    minReadySeconds: int({ min: 0 }),
    revisionHistoryLimit: int({ min: 0 }),
    progressDeadlineSeconds: int({ min: 1 }),
    paused: bool(),
    strategy: opaque(),
  },
  { refine: checkSelectorMatchesTemplate },
);

export const deploymentKind: KindDefinition = {
  group: 'apps',
  kind: 'Deployment',
  versions: ['v1'],
  namespaced: true,
  plural: 'deployments',
  singular: 'deployment',
  shortNames: ['deploy'],
  nameFormat: 'dns-1123-subdomain',
  fields: { spec: required(deploymentSpecSchema) },
  applyDefaults: (r) => {
    const spec = (r as Deployment).spec as DeploymentSpec;
    spec.replicas ??= 1;
    applyPodSpecDefaults(spec.template.spec);
  },
};
