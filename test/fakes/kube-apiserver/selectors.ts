// Label and field selectors with the API server's grammar: `a=b,c!=d,e in (x,y),f notin (z),g,!h` and `spec.nodeName=n`.

export type LabelRequirement =
  | { readonly op: 'eq'; readonly key: string; readonly value: string }
  | { readonly op: 'neq'; readonly key: string; readonly value: string }
  | { readonly op: 'in'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists'; readonly key: string }
  | { readonly op: 'notexists'; readonly key: string };

export interface FieldRequirement {
  readonly field: string;
  readonly equal: boolean;
  readonly value: string;
}

/** A malformed selector; the server answers 400 BadRequest with this message. */
export class SelectorError extends Error {
  readonly code = 'BAD_SELECTOR';
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else current += char;
  }
  if (current.trim() !== '') terms.push(current.trim());
  return terms.filter((term) => term !== '');
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

function checkKey(key: string, term: string): string {
  if (!KEY.test(key)) throw new SelectorError(`unable to parse requirement: invalid label key "${key}" in "${term}"`);
  return key;
}

export function parseLabelSelector(selector: string | undefined): LabelRequirement[] {
  if (selector === undefined || selector.trim() === '') return [];
  return splitTerms(selector).map((term): LabelRequirement => {
    const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (set) {
      const values = set[3].split(',').map((value) => value.trim()).filter((value) => value !== '');
      return { op: set[2] as 'in' | 'notin', key: checkKey(set[1], term), values };
    }
    if (term.startsWith('!')) return { op: 'notexists', key: checkKey(term.slice(1).trim(), term) };
    const inequality = /^([^!=\s]+)\s*!=\s*(\S*)$/.exec(term);
    if (inequality) return { op: 'neq', key: checkKey(inequality[1], term), value: inequality[2] };
    const equality = /^([^!=\s]+)\s*==?\s*(\S*)$/.exec(term);
    if (equality) return { op: 'eq', key: checkKey(equality[1], term), value: equality[2] };
    return { op: 'exists', key: checkKey(term, term) };
  });
}

export function labelsMatch(requirements: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const has = (key: string) => labels !== undefined && Object.prototype.hasOwnProperty.call(labels, key);
  return requirements.every((requirement) => {
    const value = labels?.[requirement.key];
    switch (requirement.op) {
      case 'eq':
        return has(requirement.key) && value === requirement.value;
      case 'neq':
        return !has(requirement.key) || value !== requirement.value;
      case 'in':
        return has(requirement.key) && requirement.values.includes(value as string);
      case 'notin':
        return !has(requirement.key) || !requirement.values.includes(value as string);
      case 'exists':
        return has(requirement.key);
      case 'notexists':
        return !has(requirement.key);
    }
  });
}

/** Parses a field selector, refusing fields the resource does not index (as the real server does). */
export function parseFieldSelector(selector: string | undefined, supported: readonly string[]): FieldRequirement[] {
  if (selector === undefined || selector.trim() === '') return [];
  return splitTerms(selector).map((term) => {
    const match = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (!match) throw new SelectorError(`invalid selector: '${term}'; can't understand '${term}'`);
    const field = match[1];
    if (!supported.includes(field)) throw new SelectorError(`field label not supported: ${field}`);
    return { field, equal: match[2] !== '!=', value: match[3] };
  });
}

function fieldValue(object: unknown, path: string): string {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) return '';
    current = (current as Record<string, unknown>)[part];
  }
  if (current === undefined || current === null) return '';
  return typeof current === 'string' ? current : String(current);
}

export function fieldsMatch(requirements: readonly FieldRequirement[], object: unknown): boolean {
  return requirements.every((requirement) => (fieldValue(object, requirement.field) === requirement.value) === requirement.equal);
}
