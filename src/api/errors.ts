// Errors for manifests a user wrote: each names the file and line, and what to change there.

/** Common shape of every problem found in a manifest file. */
export abstract class ManifestError extends Error {
  abstract readonly code: 'INVALID_RESOURCE' | 'INVALID_YAML';
  /** File the problem is in; line 1-based, 0 when the object did not come from a file. */
  readonly file: string;
  readonly line: number;

  protected constructor(message: string, file: string, line: number) {
    super(message);
    this.file = file;
    this.line = line;
  }
}

/** A well-formed document whose content is not a valid ambit resource. */
export class ValidationError extends ManifestError {
  readonly code = 'INVALID_RESOURCE' as const;
  /** "Deployment bookinfo/reviews-v1", or "document 3" when the object has no usable name. */
  readonly object: string;
  /** Dotted path of the field at fault, e.g. "spec.template.spec.containers[0].command"; '' for the object as a whole. */
  readonly field: string;
  readonly reason: string;

  constructor(file: string, line: number, object: string, field: string, reason: string) {
    super(field === '' ? `${file}:${line}: ${object}: ${reason}` : `${file}:${line}: ${object}: ${field}: ${reason}`, file, line);
    this.name = 'ValidationError';
    this.object = object;
    this.field = field;
    this.reason = reason;
  }
}

/** Text that does not parse as YAML (or JSON). */
export class YamlSyntaxError extends ManifestError {
  readonly code = 'INVALID_YAML' as const;
  readonly reason: string;

  constructor(file: string, line: number, yamlMessage: string) {
    const reason = yamlMessage.split('\n')[0];
    super(`${file}:${line}: invalid YAML: ${reason}`, file, line);
    this.name = 'YamlSyntaxError';
    this.reason = reason;
  }
}

/** A path given to the loader that cannot be read as manifests. */
export class ManifestPathError extends Error {
  readonly code = 'MANIFEST_PATH' as const;
  readonly path: string;

  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(`${path}: ${reason}`, options);
    this.name = 'ManifestPathError';
    this.path = path;
  }
}
