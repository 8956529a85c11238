/**
 * Command-line options of the benchmarks: `--name value` / `--name=value` numbers and strings, and
 * `--flag` booleans, with defaults. Unknown options fail loudly so a typo never runs the wrong figure.
 */
import { parseArgs } from 'node:util';

/** One option: its kind and default. */
export type OptionSpec =
  | { kind: 'number'; default: number; min?: number }
  | { kind: 'string'; default: string }
  | { kind: 'strings' }
  | { kind: 'boolean'; default?: boolean };

/** The parsed values of a spec. */
export type ParsedOptions<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: S[K] extends { kind: 'number' }
    ? number
    : S[K] extends { kind: 'string' }
      ? string
      : S[K] extends { kind: 'strings' }
        ? string[]
        : boolean;
};

/**
 * Parses `argv` (default: the process's arguments after the script) against `spec`.
 *
 * @example
 * const options = parseOptions({ referrals: { kind: 'number', default: 1000, min: 1 }, chart: { kind: 'boolean' } });
 */
export function parseOptions<S extends Record<string, OptionSpec>>(
  spec: S,
  argv: string[] = process.argv.slice(2),
): ParsedOptions<S> {
  const config = Object.fromEntries(
    Object.entries(spec).map(([name, option]) => [
      name,
      {
        type: option.kind === 'boolean' ? ('boolean' as const) : ('string' as const),
        ...(option.kind === 'strings' ? { multiple: true } : {}),
      },
    ]),
  );
  const { values } = parseArgs({ args: argv, options: config, strict: true, allowPositionals: false });
  const out: Record<string, number | string | boolean | string[]> = {};
  for (const [name, option] of Object.entries(spec)) {
    const raw = (values as Record<string, string | boolean | string[] | undefined>)[name];
    if (option.kind === 'strings') {
      out[name] = Array.isArray(raw) ? raw : [];
    } else if (option.kind === 'boolean') {
      out[name] = raw === undefined ? (option.default ?? false) : Boolean(raw);
    } else if (option.kind === 'string') {
      out[name] = raw === undefined ? option.default : String(raw);
    } else {
      const value = raw === undefined ? option.default : Number(raw);
      if (!Number.isFinite(value) || (option.min !== undefined && value < option.min)) {
        throw new Error(
          `--${name} must be a number${option.min !== undefined ? ` ≥ ${option.min}` : ''} (got ${String(raw)})`,
        );
      }
      out[name] = value;
    }
  }
  return out as ParsedOptions<S>;
}

/** Runs a benchmark's `main`, then exits 0, or prints the error and exits 1 (servers it left open do not keep it alive). */
export function runBenchmark(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
