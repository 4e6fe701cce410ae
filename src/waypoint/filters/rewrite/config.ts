// Rewrites and header manipulation, build step: path/authority rewrites and compiled header operations for a route.
import { compileRe2 } from '../../../api/regex';
import type { HeaderOpsDoc, HeaderRulesDoc, RewriteDoc } from '../../config/types';

export interface HeaderOps {
  readonly set: readonly (readonly [string, string])[];
  readonly add: readonly (readonly [string, string])[];
  readonly remove: readonly string[];
}

export interface HeaderRules {
  readonly request?: HeaderOps;
  readonly response?: HeaderOps;
}

export interface RewriteConfig {
  readonly prefix?: string;
  readonly fullPath?: string;
  /** Global regex over the path and its JS replacement string (RE2's \1 became $1). */
  readonly regex?: { readonly pattern: RegExp; readonly replacement: string };
  readonly authority?: string;
  /** Gateway API: replacing a prefix with "/" drops it without leaving "//" (Istio's special case). */
  readonly gatewaySemantics: boolean;
}

function ops(doc: HeaderOpsDoc | undefined): HeaderOps | undefined {
  if (doc === undefined) return undefined;
  return { set: doc.set ?? [], add: doc.add ?? [], remove: doc.remove ?? [] };
}

export function compileHeaderRules(doc: HeaderRulesDoc | undefined): HeaderRules | undefined {
  if (doc === undefined) return undefined;
  const request = ops(doc.request);
  const response = ops(doc.response);
  return request || response ? { ...(request ? { request } : {}), ...(response ? { response } : {}) } : undefined;
}

export function compileRewrite(doc: RewriteDoc | undefined, gatewaySemantics: boolean): RewriteConfig | undefined {
  if (doc === undefined) return undefined;
  let regex: RewriteConfig['regex'];
  if (doc.regex) {
    // compileRe2 anchors the whole input; a rewrite substitutes every match, so compile the body unanchored.
    const anchored = compileRe2(doc.regex.match);
    const body = anchored.source.replace(/^\^\(\?:/, '').replace(/\)\$$/, '');
    regex = { pattern: new RegExp(body, anchored.flags.includes('g') ? anchored.flags : `${anchored.flags}g`), replacement: doc.regex.rewrite.replace(/\\([0-9])/g, '$$$1') };
  }
  return {
    ...(doc.prefix !== undefined ? { prefix: doc.prefix } : {}),
    ...(doc.fullPath !== undefined ? { fullPath: doc.fullPath } : {}),
    ...(regex ? { regex } : {}),
    ...(doc.authority !== undefined ? { authority: doc.authority } : {}),
    gatewaySemantics,
  };
}
