// Request mirroring, build step: where copies go and how often.
import type { MirrorDoc } from '../../config/types';

export interface MirrorTarget {
  readonly host: string;
  readonly subset?: string;
  readonly port?: number;
  readonly percentage: number;
}

export function compileMirrors(docs: readonly MirrorDoc[] | undefined): readonly MirrorTarget[] {
  return (docs ?? []).filter((m) => m.percentage > 0).map((m) => ({ host: m.host, ...(m.subset ? { subset: m.subset } : {}), ...(m.port !== undefined ? { port: m.port } : {}), percentage: m.percentage }));
}
