// Schemas shared by the Gateway API kinds: hostnames, object references, durations.

import { parseDuration } from '../formats';
import { str, type Schema } from '../schema';

/** Gateway API hostnames: a DNS name, optionally with a "*." prefix; never an IP address or a port. */
export function isGatewayHostname(s: string): boolean {
  return s.length <= 253 && /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(s) && !/^[0-9.]+$/.test(s);
}

export function gatewayHostname(): Schema {
  return str({
    format: (s) => (isGatewayHostname(s) ? undefined : `${JSON.stringify(s)} is not a valid hostname (lower case DNS name, optionally with a "*." prefix; no IP address or port)`),
  });
}

/** Gateway API durations: up to four number+unit parts with units h, m, s, ms (GEP-2257), e.g. "1h", "10s", "500ms". */
export function isGatewayDuration(s: string): boolean {
  return /^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(s);
}

export function gatewayDuration(): Schema {
  return str({ format: (s) => (isGatewayDuration(s) && parseDuration(s) !== undefined ? undefined : `${JSON.stringify(s)} is not a valid duration (e.g. "10s", "500ms", "1h30m")`) });
}

/** Section names and listener names: DNS-1123 subdomains. */
export function sectionName(): Schema {
  return str({
    format: (s) => (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(s) && s.length <= 253 ? undefined : `${JSON.stringify(s)} is not a valid section name (lower case letters, digits, '-' and '.')`),
  });
}
