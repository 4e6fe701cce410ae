// How the CLI talks back: errors as one line, manifest problems as file:line lines, tables and yaml/json views.
import path from 'node:path';
import { stringify } from 'yaml';
import type { LocatedResource, Resource } from '../api';
import { SOURCE_DIR_ANNOTATION } from '../local/deployment-controller';

/** An expected failure: printed as "ambit: <message>" with no stack. */
export class CliError extends Error {
  readonly code = 'CLI_ERROR';
}

export function printManifestErrors(errors: readonly Error[]): void {
  for (const error of errors) process.stderr.write(`${error.message}\n`);
}

/** Records where each object came from, so that pod commands run relative to their manifest (as `cwd`). */
export function withSourceDir(resources: readonly LocatedResource[]): LocatedResource[] {
  return resources.map(({ resource, source }) => {
    if (!source.file || !['Pod', 'Deployment'].includes(resource.kind)) return { resource, source };
    const annotations = { ...(resource.metadata.annotations ?? {}), [SOURCE_DIR_ANNOTATION]: path.dirname(path.resolve(source.file)) };
    return { resource: { ...resource, metadata: { ...resource.metadata, annotations } }, source };
  });
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]))).join('   ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function printObjects(objects: readonly Resource[], format: 'yaml' | 'json'): string {
  if (format === 'json') return JSON.stringify(objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects }, null, 2) + '\n';
  return objects.map((object) => stringify(object)).join('---\n');
}

export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}
