// The install manifests in daemonset/, read and given one image everywhere: what `ambit manifest generate` prints and `ambit install` applies.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Resource } from '../api';
import { assetDir, packageVersion } from './assets';

/** Where ambit's image is published; the tag is ambit's version. */
export const IMAGE_REPOSITORY = 'ghcr.io/ambit-mesh/ambit';
/** The environment variable that tells the control plane which image waypoints run. */
export const IMAGE_ENV = 'AMBIT_IMAGE';
/** The namespace every ambit component runs in. */
export const AMBIT_NAMESPACE = 'istio-system';

export function defaultImage(): string {
  return `${IMAGE_REPOSITORY}:${packageVersion()}`;
}

/** A manifest file that does not parse or holds something other than Kubernetes objects. */
export class ManifestFileError extends Error {
  readonly code = 'MANIFEST_FILE' as const;
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'ManifestFileError';
  }
}

/** An image reference that will not pull, e.g. with spaces or no repository. */
export class InvalidImage extends Error {
  readonly code = 'INVALID_IMAGE' as const;
  constructor(readonly image: string) {
    super(`${JSON.stringify(image)} is not an image reference like ${IMAGE_REPOSITORY}:<tag> or registry.example.com/ambit@sha256:<digest>`);
    this.name = 'InvalidImage';
  }
}

const IMAGE_REFERENCE = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

export interface ManifestOptions {
  /** The image every container runs (default IMAGE_REPOSITORY:<version>). */
  readonly image?: string;
  /** Default: the shipped daemonset/ directory. */
  readonly dir?: string;
}

export interface ManifestObject {
  readonly file: string;
  readonly object: Resource;
}

interface ContainerShape {
  image?: string;
  env?: { name: string; value?: string }[];
}

/** Every container and init container of a workload object (Deployment, DaemonSet, ...), or none. */
export function containersOf(object: Resource): ContainerShape[] {
  const pod = (object.spec as { template?: { spec?: { containers?: ContainerShape[]; initContainers?: ContainerShape[] } } } | undefined)?.template?.spec;
  return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
}

/** Every image an object names: container images and the AMBIT_IMAGE setting. */
export function imagesOf(object: Resource): string[] {
  const images: string[] = [];
  for (const container of containersOf(object)) {
    if (container.image !== undefined) images.push(container.image);
    for (const variable of container.env ?? []) if (variable.name === IMAGE_ENV && variable.value !== undefined) images.push(variable.value);
  }
  return images;
}

/** The objects of daemonset/*.yaml in file order, every ambit image replaced by `image`. */
export function renderManifests(options: ManifestOptions = {}): ManifestObject[] {
  const image = options.image ?? defaultImage();
  if (!IMAGE_REFERENCE.test(image)) throw new InvalidImage(image);
  const dir = options.dir ?? assetDir('daemonset');
  const files = fs.readdirSync(dir).filter((name) => /\.ya?ml$/.test(name)).sort();
  const objects: ManifestObject[] = [];
  for (const name of files) {
    const file = path.join(dir, name);
    const documents = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
    for (const document of documents) {
      if (document.errors.length > 0) throw new ManifestFileError(file, document.errors[0].message);
      const object = document.toJS() as Resource | null;
      if (object === null) continue;
      if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') {
        throw new ManifestFileError(file, 'every document must be a Kubernetes object with apiVersion, kind and metadata.name');
      }
      for (const container of containersOf(object)) {
        if (container.image?.startsWith(`${IMAGE_REPOSITORY}:`)) container.image = image;
        for (const variable of container.env ?? []) if (variable.name === IMAGE_ENV) variable.value = image;
      }
      objects.push({ file, object });
    }
  }
  return objects;
}

/** The manifests as one multi-document YAML stream, ready for `kubectl apply -f -`. */
export function manifestYaml(objects: readonly ManifestObject[], image: string): string {
  const header = `# ambit ${packageVersion()} for Kubernetes, image ${image}.\n# Needs Istio's and the Gateway API CRDs and a cacerts Secret in ${AMBIT_NAMESPACE}; \`ambit install\` creates the Secret. See docs/kubernetes.md.\n`;
  return header + objects.map(({ object }) => `---\n${YAML.stringify(object, { lineWidth: 0 })}`).join('');
}
