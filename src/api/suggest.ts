// "Did you mean" suggestions: the known name closest to a misspelt one, by edit distance.

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The known name within edit distance 2 of `name` (the first of the closest),
 * or undefined. Very short names need a closer match so that "to" does not
 * suggest "tcp".
 */
export function suggestName(name: string, known: readonly string[]): string | undefined {
  const limit = Math.min(2, Math.max(0, name.length - 1));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === name.toLowerCase() ? 0.5 : editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
