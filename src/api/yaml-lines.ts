// Maps a field path inside a parsed YAML document to the line it was written on.

import { isMap, isScalar, isSeq, type LineCounter } from 'yaml';
import type { FieldPath } from './schema';

interface Ranged {
  range?: [number, number, number] | null;
}

function lineOf(node: unknown, lines: LineCounter): number | undefined {
  const range = (node as Ranged | null)?.range;
  return range ? lines.linePos(range[0]).line : undefined;
}

/**
 * The line of the node at `path` below `root`: for a map key, the line of
 * the key; for a list item, the line of the item. Stops at the deepest node
 * that exists, so a path into a missing field yields its parent's line.
 */
export function lineOfPath(root: unknown, path: FieldPath, lines: LineCounter): number {
  let node: unknown = root;
  let line = lineOf(root, lines) ?? 1;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (pair === undefined) break;
      line = lineOf(pair.key, lines) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg];
      line = lineOf(node, lines) ?? line;
    } else {
      break;
    }
  }
  return line;
}
