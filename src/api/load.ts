// Reads manifests (multi-document YAML or JSON, files or directories) into validated resources with file:line errors.

import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { isScalar, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { ManifestPathError, ValidationError, YamlSyntaxError, type ManifestError } from './errors';
import { describeObject, resourceKey, type LocatedResource } from './resource';
import { formatPath, isPlainObject, type FieldPath } from './schema';
import { rememberFieldLines } from './source-lines';
import { checkResource, validateResource, type ValidateOptions } from './validate';
import { lineOfPath } from './yaml-lines';

export { validateResource };

export interface ManifestLoad {
  /** Valid resources, defaulted, in the order they were written. */
  resources: LocatedResource[];
  /** Every problem found, in file order; resources with errors are left out of `resources`. */
  errors: ManifestError[];
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

function parseDocument(doc: Document, n: number, file: string, lines: LineCounter, options: ValidateOptions, out: ManifestLoad): void {
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    out.errors.push(new YamlSyntaxError(file, lines.linePos(err.pos[0]).line, err.message));
    return;
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return;
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    out.errors.push(new YamlSyntaxError(file, lineOfPath(root, [], lines), err instanceof Error ? err.message : String(err)));
    return;
  }
  const items = isPlainObject(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : undefined;
  if (items === undefined) {
    addChecked(value, [], `document ${n}`);
    return;
  }
  items.forEach((item, i) => addChecked(item, ['items', i], `document ${n} items[${i}]`));

  function addChecked(item: unknown, prefix: FieldPath, fallbackName: string): void {
    const checked = checkResource(item, options);
    const located = checked.problems
      .map((p) => ({ line: lineOfPath(root, [...prefix, ...p.node], lines), problem: p }))
      .sort((a, b) => a.line - b.line);
    for (const { line, problem } of located) {
      out.errors.push(new ValidationError(file, line, checked.object ?? fallbackName, formatPath(problem.path), problem.reason));
    }
    if (checked.resource !== undefined) {
      out.resources.push({ resource: checked.resource, source: { file, line: lineOfPath(root, prefix, lines) } });
      rememberFieldLines(checked.resource, (path) => lineOfPath(root, [...prefix, ...path], lines));
    }
  }
}

function parseInto(text: string, file: string, options: ValidateOptions, out: ManifestLoad): void {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  docs.forEach((doc, i) => parseDocument(doc, i + 1, file, lines, options, out));
}

/** The same object twice in one set of manifests is almost always a copy-paste slip, so the later one is refused. */
function refuseDuplicates(load: ManifestLoad): ManifestLoad {
  const first = new Map<string, LocatedResource>();
  const resources: LocatedResource[] = [];
  const errors = [...load.errors];
  for (const located of load.resources) {
    const key = resourceKey(located.resource);
    const earlier = first.get(key);
    if (earlier === undefined) {
      first.set(key, located);
      resources.push(located);
    } else {
      const { file, line } = located.source;
      errors.push(new ValidationError(file, line, describeObject(located.resource), '', `defined more than once (first at ${earlier.source.file}:${earlier.source.line})`));
    }
  }
  return { resources, errors };
}

/** Parses one file's text: YAML with `---` separated documents, or JSON; empty documents are skipped, `kind: List` is expanded. */
export function parseManifests(text: string, file: string, options: ValidateOptions = {}): ManifestLoad {
  const out: ManifestLoad = { resources: [], errors: [] };
  parseInto(text, file, options, out);
  return refuseDuplicates(out);
}

function collectFiles(path: string, explicit: boolean, seen: Set<string>, out: string[]): void {
  let stats;
  try {
    stats = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ManifestPathError(path, code === 'ENOENT' ? 'no such file or directory' : `cannot read (${code ?? String(err)})`, { cause: err });
  }
  // Keyed by real path so a file listed twice, or reached through a symlink, loads once and links cannot loop.
  const real = realpathSync(path);
  if (seen.has(real)) return;
  if (stats.isDirectory()) {
    seen.add(real);
    // Sorted by name so the same tree always loads in the same order; dotfiles (.git, editor swap files) are not manifests.
    const names = readdirSync(path).filter((name) => !name.startsWith('.')).sort();
    for (const name of names) collectFiles(join(path, name), false, seen, out);
  } else if (stats.isFile() && (explicit || MANIFEST_EXTENSIONS.has(extname(path).toLowerCase()))) {
    seen.add(real);
    out.push(path);
  }
}

/** Loads files and directories (recursively: *.yaml, *.yml, *.json, sorted) in the order given. Throws ManifestPathError for a path that cannot be read. */
export function loadManifestPaths(paths: readonly string[], options: ValidateOptions = {}): ManifestLoad {
  const files: string[] = [];
  const seen = new Set<string>();
  for (const path of paths) collectFiles(path, true, seen, files);
  const out: ManifestLoad = { resources: [], errors: [] };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ManifestPathError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
    }
    parseInto(text, file, options, out);
  }
  return refuseDuplicates(out);
}
