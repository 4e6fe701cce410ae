// A small argv parser: flags with values (--name v, --name=v, -n v), boolean flags, positionals, and everything after `--`.

export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: Map<string, string[]>;
  /** Words after a bare `--` (the command of `ambit exec`). */
  readonly rest: string[];
}

export class UsageError extends Error {
  readonly code = 'USAGE';
}

export interface FlagSpec {
  /** Long name without dashes, e.g. "namespace". */
  readonly name: string;
  readonly short?: string;
  /** Boolean flags take no value. */
  readonly boolean?: boolean;
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) {
    byName.set(`--${spec.name}`, spec);
    if (spec.short) byName.set(`-${spec.short}`, spec);
  }
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  const add = (name: string, value: string) => flags.set(name, [...(flags.get(name) ?? []), value]);
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') return { positionals, flags, rest: argv.slice(i + 1) };
    if (!word.startsWith('-') || word === '-') {
      positionals.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const key = eq > 0 ? word.slice(0, eq) : word;
    const spec = byName.get(key);
    if (!spec) throw new UsageError(`unknown flag ${key}`);
    if (spec.boolean) {
      add(spec.name, eq > 0 ? word.slice(eq + 1) : 'true');
      continue;
    }
    const value = eq > 0 ? word.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`flag ${key} needs a value`);
    add(spec.name, value);
  }
  return { positionals, flags, rest: [] };
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  const values = args.flags.get(name);
  return values?.[values.length - 1];
}

export function flagAll(args: ParsedArgs, name: string): string[] {
  return args.flags.get(name) ?? [];
}

export function booleanFlag(args: ParsedArgs, name: string): boolean {
  const value = flag(args, name);
  return value !== undefined && value !== 'false';
}
