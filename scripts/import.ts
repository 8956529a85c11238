/**
 * `npm run import -- FILE [options]`: bulk import of an existing pipeline (docs/import.md).
 *
 * Reads JSONL (one `POST /api/referrals` body per line) or CSV with `--mapping`, validates every row
 * with the API's own contract, then submits the valid rows through the HTTP API with their idempotency
 * keys, and writes a CSV report. Exit codes: 0 every row accepted, 1 some refused or not submitted,
 * 2 usage or file error (or the API refused the whole run), 130 stopped by Ctrl-C.
 *
 * It prints line numbers, column names, keys and tracking ids, never a cell's content.
 */
import { parseArgs } from 'node:util';
import { ExitCode } from './import/constants';
import { ImportError, ImportFileError, ImportUsageError } from './import/errors';
import { ProgressMode } from './import/progress';
import { InputFormat } from './import/reader';
import { runImport, type ImportOptions } from './import/runImport';
import { defaultStatePath } from './import/stateFile';

/** Environment variables the importer reads. */
export const IMPORT_ENV = {
  /** Function key (x-functions-key) when --key is not given. */
  functionKey: 'BRIDGE_FUNCTION_KEY',
  /** API base when --url is not given. */
  url: 'BRIDGE_API_URL',
} as const;

/** The API base of the local sandbox. */
export const DEFAULT_API_URL = 'http://127.0.0.1:7071/api';

const USAGE = `Usage: npm run import -- FILE [options]

  FILE                      JSONL (one POST /api/referrals body per line) or CSV (with --mapping)
  --mapping FILE            CSV columns → referral fields (examples/import/*.mapping.json, docs/import.md)
  --format jsonl|csv        instead of guessing from the extension
  --key-column NAME         idempotency key from this column (JSONL: field or /pointer); default externalReferenceId
  --dry-run                 validate every row and write the report; send nothing
  --url URL                 API base (default $${IMPORT_ENV.url} or ${DEFAULT_API_URL})
  --key KEY                 function key (default $${IMPORT_ENV.functionKey}; prefer the variable: argv is visible)
  --report FILE             CSV report (default FILE.report.csv); an earlier one is read to skip finished rows
  --state FILE              state file (default FILE.import-state.jsonl)   --no-state   keep none
  --no-resume               send rows an earlier run finished too (harmless: the bridge answers with a replay)
  --no-key-header           send no Idempotency-Key: the bridge keys on externalReferenceId itself
  --concurrency N           requests in flight (default 8)
  --max-attempts N          tries over 429/5xx/timeouts per request (default 10)
  --timeout-ms N            per request (default 30000)
  --poll-timeout-ms N       follow a 202 this long before reporting "in progress" (default 120000)
  --drain-timeout-ms N      after Ctrl-C, wait this long for requests in flight (default 15000)
  --allow-unknown-fields    as the app's REFERRAL_ALLOW_UNKNOWN_FIELDS
  --allow-insecure-callback as the app's CALLBACK_ALLOW_PRIVATE_TARGETS
  --progress bar|lines|none default: bar on a terminal, lines otherwise
  --progress-interval-ms N  plain progress lines (default 5000)
  --max-problems N          problems printed before "more in the report" (default 20)
  -h, --help

Exit codes: 0 every row accepted, 1 some refused or not submitted, 2 usage or file error, 130 Ctrl-C.`;

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new ImportUsageError(`--${name} must be a whole number ≥ 1.`);
  return Number(value);
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw new ImportUsageError(`--${name} must be one of ${allowed.join(', ')}.`);
  return value as T;
}

/** The API base from `--url`: a bare origin gets `/api`. */
export function apiBaseOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ImportUsageError(`--url is not a URL.`);
  }
  if (!['http:', 'https:'].includes(parsed.protocol)) throw new ImportUsageError('--url must be http or https.');
  const trimmed = url.replace(/\/+$/, '');
  return parsed.pathname === '/' ? `${trimmed}/api` : trimmed;
}

/** node:util parseArgs over the options above; its errors become usage errors. */
function parseRaw(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        mapping: { type: 'string' },
        format: { type: 'string' },
        'key-column': { type: 'string' },
        'dry-run': { type: 'boolean' },
        url: { type: 'string' },
        key: { type: 'string' },
        report: { type: 'string' },
        state: { type: 'string' },
        'no-state': { type: 'boolean' },
        'no-resume': { type: 'boolean' },
        'no-key-header': { type: 'boolean' },
        concurrency: { type: 'string' },
        'max-attempts': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'poll-timeout-ms': { type: 'string' },
        'drain-timeout-ms': { type: 'string' },
        'allow-unknown-fields': { type: 'boolean' },
        'allow-insecure-callback': { type: 'boolean' },
        progress: { type: 'string' },
        'progress-interval-ms': { type: 'string' },
        'max-problems': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new ImportUsageError((error as Error).message, { cause: error });
  }
}

/** Parses the command line into {@link runImport} options (undefined for --help). */
export function parseCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream & { isTTY?: boolean } },
): (ImportOptions & { drainTimeoutMs: number }) | undefined {
  const { values, positionals } = parseRaw(argv);
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return undefined;
  }
  if (positionals.length !== 1) throw new ImportUsageError('give exactly one input FILE (see --help).');
  const inputPath = positionals[0];
  if (values.state !== undefined && values['no-state'])
    throw new ImportUsageError('--state and --no-state exclude each other.');
  return {
    inputPath,
    mappingPath: values.mapping,
    format: oneOf('format', values.format, Object.values(InputFormat)),
    keyColumn: values['key-column'],
    dryRun: values['dry-run'] ?? false,
    apiBaseUrl: apiBaseOf(values.url ?? env[IMPORT_ENV.url] ?? DEFAULT_API_URL),
    functionKey: values.key ?? (env[IMPORT_ENV.functionKey] || undefined),
    reportPath: values.report ?? `${inputPath}.report.csv`,
    statePath: values['no-state'] ? undefined : (values.state ?? defaultStatePath(inputPath)),
    resume: !values['no-resume'],
    sendKeyHeader: !values['no-key-header'],
    concurrency: positiveInteger('concurrency', values.concurrency, 8),
    maxAttempts: positiveInteger('max-attempts', values['max-attempts'], 10),
    requestTimeoutMs: positiveInteger('timeout-ms', values['timeout-ms'], 30_000),
    pollTimeoutMs: positiveInteger('poll-timeout-ms', values['poll-timeout-ms'], 120_000),
    drainTimeoutMs: positiveInteger('drain-timeout-ms', values['drain-timeout-ms'], 15_000),
    allowUnknownFields: values['allow-unknown-fields'] ?? false,
    allowInsecureCallback: values['allow-insecure-callback'] ?? false,
    progress:
      oneOf('progress', values.progress, Object.values(ProgressMode)) ??
      (io.stderr.isTTY ? ProgressMode.bar : ProgressMode.lines),
    progressIntervalMs: positiveInteger('progress-interval-ms', values['progress-interval-ms'], 5000),
    maxProblemsShown: positiveInteger('max-problems', values['max-problems'], 20),
    stdout: io.stdout,
    stderr: io.stderr,
  };
}

/** Runs the CLI; resolves to the exit code. Ctrl-C once: stop and drain; twice: abort requests in flight. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const stop = new AbortController();
  const abort = new AbortController();
  let drainTimeoutMs = 15_000;
  let drainTimer: NodeJS.Timeout | undefined;
  const onSigint = () => {
    if (stop.signal.aborted) {
      abort.abort();
      return;
    }
    process.stderr.write(
      '\nimport: stopping: no new rows; waiting for requests in flight (Ctrl-C again to abort them)\n',
    );
    stop.abort();
    drainTimer = setTimeout(() => abort.abort(), drainTimeoutMs);
    drainTimer.unref();
  };
  try {
    const options = parseCommandLine(argv, env, { stdout: process.stdout, stderr: process.stderr });
    if (!options) return ExitCode.AllAccepted;
    drainTimeoutMs = options.drainTimeoutMs;
    process.on('SIGINT', onSigint);
    const summary = await runImport({ ...options, stopSignal: stop.signal, abortSignal: abort.signal });
    return summary.exitCode;
  } catch (error) {
    if (error instanceof ImportError) {
      const kind = error instanceof ImportUsageError ? 'usage' : error instanceof ImportFileError ? 'file' : 'API';
      process.stderr.write(`import: ${error.message}\n`);
      process.stdout.write(`import: nothing imported (${kind} error)\n`);
      return ExitCode.UsageOrFile;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
    if (drainTimer) clearTimeout(drainTimer);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`import: unexpected error: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = ExitCode.UsageOrFile;
    },
  );
}
