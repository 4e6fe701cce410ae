// Shared builders for the api tests: valid base objects to mutate, and error collection by message.

import { parseManifests } from '../../../src/api/load';
import { validateResource, type ValidateOptions } from '../../../src/api/validate';

/** Messages of every error for an object validated without a file (so at line 0 of "t.yaml"). */
export function objectErrors(value: unknown, options: ValidateOptions = {}): string[] {
  return validateResource(value, { file: 't.yaml', line: 0 }, options).errors.map((e) => e.message);
}

/** Messages of every error for manifest text read as "m.yaml". */
export function textErrors(text: string, options: ValidateOptions = {}): string[] {
  return parseManifests(text, 'm.yaml', options).errors.map((e) => e.message);
}

export type Obj = Record<string, unknown>;

function segments(path: string): (string | number)[] {
  return path.split('.').flatMap((part) => {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) return [part];
    const idx = [...m[2].matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
    return m[1] === '' ? idx : [m[1], ...idx];
  });
}

/**
 * A deep copy of `base` with the field at `path` ("spec.containers[0].name")
 * set to `value`, or removed when `value` is undefined; parents are created
 * as needed. Each table row starts from a valid object this way.
 */
export function withField(base: Obj, path: string, value: unknown): Obj {
  const copy = structuredClone(base);
  const segs = segments(path);
  let node: Record<string | number, unknown> = copy;
  for (const seg of segs.slice(0, -1)) {
    if (typeof node[seg] !== 'object' || node[seg] === null) node[seg] = {};
    node = node[seg] as Record<string | number, unknown>;
  }
  const last = segs[segs.length - 1];
  if (value === undefined) {
    if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
    else delete node[last];
  } else {
    node[last] = value;
  }
  return copy;
}

/** Several withField edits in a row. */
export function withFields(base: Obj, edits: Record<string, unknown>): Obj {
  return Object.entries(edits).reduce((obj, [path, value]) => withField(obj, path, value), base);
}

export function basePod(): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'], ports: [{ name: 'http', containerPort: 8080 }] }] },
  };
}

export function baseDeployment(): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'reviews-v1', namespace: 'bookinfo' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'reviews', version: 'v1' } },
      template: {
        metadata: { labels: { app: 'reviews', version: 'v1' } },
        spec: { containers: [{ name: 'reviews', command: ['node', 'server.js'] }] },
      },
    },
  };
}

export function baseService(): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'reviews', namespace: 'bookinfo' },
    spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] },
  };
}
