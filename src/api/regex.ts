// RE2 regular expressions (what Envoy and Istio accept) compiled to JavaScript, refusing what RE2 lacks.

export class RegexSyntaxError extends Error {
  readonly code = 'INVALID_REGEX' as const;
  constructor(readonly pattern: string, readonly reason: string) {
    super(`invalid regular expression ${JSON.stringify(pattern)}: ${reason}`);
    this.name = 'RegexSyntaxError';
  }
}

/**
 * Compiles an RE2 pattern to a RegExp that must match the whole input, as
 * Envoy's safe_regex does. Leading RE2 flag groups like "(?i)" become JS
 * flags and "(?P<name>" becomes "(?<name>"; lookaround and backreferences,
 * which RE2 does not have, are refused rather than silently honoured.
 */
export function compileRe2(pattern: string): RegExp {
  let body = pattern;
  let flags = 'u';
  const flagGroup = /^\(\?([ims]+)\)/.exec(body);
  if (flagGroup) {
    for (const f of flagGroup[1]) if (!flags.includes(f)) flags += f;
    body = body.slice(flagGroup[0].length);
  }
  if (/\(\?<?[=!]/.test(body)) throw new RegexSyntaxError(pattern, 'lookaround assertions are not supported by RE2');
  if (/(^|[^\\])(\\\\)*\\[1-9]/.test(body)) throw new RegexSyntaxError(pattern, 'backreferences are not supported by RE2');
  body = body.replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(`^(?:${body})$`, flags);
  } catch (err) {
    const message = err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '') : String(err);
    throw new RegexSyntaxError(pattern, message);
  }
}
