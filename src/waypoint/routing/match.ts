// Route matching: string matches and whole HTTPMatchRequests compiled once per push into predicates over RequestFacts.
import { compileRe2 } from '../../api/regex';
import type { RouteMatchDoc, StringMatchDoc } from '../config/types';
import type { RequestFacts } from './request-facts';

/** A compiled StringMatchDoc; `undefined` input means the value is absent. */
export type StringMatcher = (value: string | undefined) => boolean;

export function compileStringMatch(doc: StringMatchDoc, options: { ignoreCase?: boolean } = {}): StringMatcher {
  const fold = options.ignoreCase ? (s: string): string => s.toLowerCase() : (s: string): string => s;
  if ('present' in doc) return (value) => value !== undefined;
  if ('exact' in doc) {
    const expected = fold(doc.exact);
    return (value) => value !== undefined && fold(value) === expected;
  }
  if ('prefix' in doc) {
    const prefix = fold(doc.prefix);
    return (value) => value !== undefined && fold(value).startsWith(prefix);
  }
  if ('pathPrefix' in doc) {
    const prefix = fold(doc.pathPrefix).replace(/\/+$/, '');
    return (value) => {
      if (value === undefined) return false;
      const v = fold(value);
      return v === prefix || v.startsWith(`${prefix}/`) || prefix === '';
    };
  }
  const pattern = compileRe2(options.ignoreCase ? `(?i)${doc.regex}` : doc.regex);
  return (value) => value !== undefined && pattern.test(value);
}

/** The part of the path a prefix or path-prefix match consumed, which prefix rewrites and redirects replace. */
export function matchedPrefix(doc: StringMatchDoc | undefined, path: string): string {
  if (doc === undefined) return '/';
  if ('prefix' in doc) return path.slice(0, doc.prefix.length);
  if ('pathPrefix' in doc) return path.slice(0, doc.pathPrefix.replace(/\/+$/, '').length);
  return path;
}

export interface CompiledMatch {
  readonly doc: RouteMatchDoc;
  test(facts: RequestFacts, port: number): boolean;
}

/** Compiles one match; regexes are compiled here, so a bad one fails the push (and is NACKed). */
export function compileMatch(doc: RouteMatchDoc): CompiledMatch {
  const checks: ((facts: RequestFacts, port: number) => boolean)[] = [];
  if (doc.port !== undefined) checks.push((_f, port) => port === doc.port);
  if (doc.uri) {
    const uri = compileStringMatch(doc.uri, { ignoreCase: doc.ignoreUriCase === true });
    checks.push((f) => uri(f.path));
  }
  if (doc.method) {
    const method = compileStringMatch(doc.method);
    checks.push((f) => method(f.method));
  }
  if (doc.authority) {
    const authority = compileStringMatch(doc.authority);
    checks.push((f) => authority(f.authority));
  }
  if (doc.scheme) {
    const scheme = compileStringMatch(doc.scheme);
    checks.push((f) => scheme(f.scheme));
  }
  for (const { name, match } of doc.headers ?? []) {
    const matcher = compileStringMatch(match);
    checks.push((f) => matcher(f.header(name)));
  }
  for (const { name, match } of doc.withoutHeaders ?? []) {
    const matcher = compileStringMatch(match);
    checks.push((f) => !matcher(f.header(name)));
  }
  for (const { name, match } of doc.queryParams ?? []) {
    const matcher = compileStringMatch(match);
    checks.push((f) => matcher(f.queryParam(name)));
  }
  const sourceLabels = doc.sourceLabels;
  if (sourceLabels !== undefined) {
    const entries = Object.entries(sourceLabels);
    checks.push((f) => {
      const labels = f.source.workload?.labels;
      return labels !== undefined && entries.every(([k, v]) => labels[k] === v);
    });
  }
  if (doc.sourceNamespace !== undefined) checks.push((f) => f.source.namespace === doc.sourceNamespace);
  return { doc, test: (facts, port) => checks.every((check) => check(facts, port)) };
}
