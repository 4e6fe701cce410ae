// String formats Kubernetes and Istio define (DNS names, label keys, IPs, CIDRs, durations, hosts), as schemas.

import { isIP } from 'node:net';
import { compileRe2, RegexSyntaxError } from './regex';
import { str, type Schema } from './schema';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && s.split('.').every((part) => DNS_LABEL.test(part));
}

export function isDns1035Label(s: string): boolean {
  return s.length <= 63 && DNS_1035_LABEL.test(s);
}

/** Label and annotation keys: an optional DNS subdomain prefix and '/', then a name. */
export function isQualifiedName(s: string): boolean {
  const slash = s.indexOf('/');
  const name = slash < 0 ? s : s.slice(slash + 1);
  if (slash >= 0 && !isDnsSubdomain(s.slice(0, slash))) return false;
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}

export function isLabelValue(s: string): boolean {
  return s === '' || (s.length <= 63 && QUALIFIED_NAME.test(s));
}

export function isIpAddress(s: string): boolean {
  return isIP(s) !== 0;
}

export function isCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const family = isIP(s.slice(0, slash));
  const bits = s.slice(slash + 1);
  if (family === 0 || !/^(0|[1-9][0-9]*)$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** Istio host names: "*", "*.example.com", "reviews", "reviews.bookinfo.svc.cluster.local" (case-insensitive). */
export function isIstioHost(s: string): boolean {
  if (s === '*') return true;
  const rest = s.startsWith('*.') ? s.slice(2) : s;
  return rest.length > 0 && rest.length <= 255 && rest.split('.').every((part) => part.length <= 63 && DNS_LABEL.test(part.toLowerCase()));
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Parses an Istio (Go-style) duration such as "1h2m", "1.5s" or "500ms" to milliseconds; undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < s.length) {
    const m = DURATION_PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]];
  }
  return total;
}

function formatMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function formatSchema(check: (s: string) => boolean, what: string): Schema {
  return str({ format: (s) => (check(s) ? undefined : `${JSON.stringify(s)} is not a valid ${what}`) });
}

export function dnsLabel(): Schema {
  return formatSchema(isDnsLabel, "DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)");
}

export function dnsSubdomain(): Schema {
  return formatSchema(isDnsSubdomain, "DNS-1123 subdomain (lower case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters)");
}

export function dns1035Label(): Schema {
  return formatSchema(isDns1035Label, "DNS-1035 label (lower case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters)");
}

export function labelKey(): Schema {
  return formatSchema(isQualifiedName, "label key (an optional DNS subdomain and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)");
}

export function annotationKey(): Schema {
  return formatSchema(isQualifiedName, "annotation key (an optional DNS subdomain and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)");
}

export function labelValue(): Schema {
  return formatSchema(isLabelValue, "label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, or empty)");
}

export function ipAddress(): Schema {
  return formatSchema(isIpAddress, 'IP address');
}

export function cidr(): Schema {
  return formatSchema(isCidr, 'CIDR (e.g. 10.0.0.0/8)');
}

export function ipOrCidr(): Schema {
  return formatSchema((s) => isIpAddress(s) || isCidr(s), 'IP address or CIDR');
}

/** Why `s` is not an Istio host (DNS name, "*." wildcard, or IP address), or undefined when it is one. */
export function istioHostReason(s: string): string | undefined {
  if (isIstioHost(s) || isIpAddress(s)) return undefined;
  return `${JSON.stringify(s)} is not a valid host (a DNS name such as "reviews" or "reviews.bookinfo.svc.cluster.local", optionally with a "*." prefix)`;
}

export function istioHost(): Schema {
  return str({ format: istioHostReason });
}

export interface DurationOptions {
  /** Smallest accepted duration in milliseconds. */
  minMs?: number;
}

export function duration(options: DurationOptions = {}): Schema {
  return str({
    format: (s) => {
      const ms = parseDuration(s);
      if (ms === undefined) return `${JSON.stringify(s)} is not a valid duration (e.g. "500ms", "10s", "1h2m")`;
      if (options.minMs !== undefined && ms < options.minMs) return `must be at least ${formatMs(options.minMs)} (got ${JSON.stringify(s)})`;
      return undefined;
    },
  });
}

/** A regular expression Envoy will accept (RE2). */
export function re2(): Schema {
  return str({
    format: (s) => {
      try {
        compileRe2(s);
        return undefined;
      } catch (err) {
        if (err instanceof RegexSyntaxError) return err.message;
        throw err;
      }
    },
  });
}
