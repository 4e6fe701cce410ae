// Request mirroring, per request: which mirrors get a copy of this request, and the shadow authority Envoy gives them.
import type { MirrorTarget } from './config';

export function pickMirrors(targets: readonly MirrorTarget[], random: () => number = Math.random): MirrorTarget[] {
  return targets.filter((t) => t.percentage >= 100 || random() * 100 < t.percentage);
}

/** Envoy appends "-shadow" to the host of mirrored requests so the mirror can tell copies apart. */
export function shadowAuthority(authority: string): string {
  const m = /^(\[[^\]]+\]|[^:]+)(:[0-9]+)?$/.exec(authority);
  return m ? `${m[1]}-shadow${m[2] ?? ''}` : `${authority}-shadow`;
}
