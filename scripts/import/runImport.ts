/**
 * One import run, start to end: read → validate every row → (`--dry-run` stops here) → skip rows an
 * earlier run finished → submit the rest → report and summary. The CLI (scripts/import.ts) only parses
 * arguments and signals; tests call this directly.
 */
import { ExitCode, ImportRowState, OutcomeKind } from './constants';
import { ImportApiError } from './errors';
import { sendRequest } from './http';
import { loadMapping } from './mapping';
import { createProgress, formatDuration, formatRate, ProgressMode } from './progress';
import { readImportFile, type InputFormat } from './reader';
import { readDoneFromReport, writeReport, type ReportLine } from './report';
import { describeIssue, type RowIssue } from './rows';
import { appendState, readDoneFromState, type StateEntry } from './stateFile';
import { submitRows, type SubmitJob, type SubmitResult, type SubmitterOptions } from './submitter';
import { validateRows, type ValidRow } from './validation';

/** Options of {@link runImport}. */
export interface ImportOptions extends Pick<
  SubmitterOptions,
  | 'functionKey'
  | 'sendKeyHeader'
  | 'concurrency'
  | 'maxAttempts'
  | 'requestTimeoutMs'
  | 'pollTimeoutMs'
  | 'maxRetryAfterMs'
  | 'backoffBaseMs'
  | 'backoffMaxMs'
  | 'defaultPollIntervalMs'
  | 'stopSignal'
  | 'abortSignal'
> {
  inputPath: string;
  format?: InputFormat;
  mappingPath?: string;
  keyColumn?: string;
  dryRun?: boolean;
  /** `http://127.0.0.1:7071/api`. */
  apiBaseUrl: string;
  reportPath: string;
  /** The state file; undefined: none. */
  statePath?: string;
  /** Skip rows an earlier run finished (state file, earlier report). @default true */
  resume?: boolean;
  allowUnknownFields?: boolean;
  allowInsecureCallback?: boolean;
  progress?: ProgressMode;
  progressIntervalMs?: number;
  /** Problems printed to stderr before "… more in the report". @default 20 */
  maxProblemsShown?: number;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Counts and the exit code of a run. */
export interface ImportSummary {
  exitCode: ExitCode;
  rows: number;
  accepted: number;
  skipped: number;
  /** Accepted, not final when the poll time ran out (or the run stopped). */
  inProgress: number;
  /** Accepted answers that were replays (`Idempotent-Replayed`): nothing new was created. */
  replayed: number;
  refused: number;
  failed: number;
  notSubmitted: number;
  /** Rows sent in this run, and the time and rate of the submission. */
  submitted: number;
  submitElapsedMs: number;
  rowsPerSecond: number;
  /** The one-line summary printed on stdout. */
  line: string;
}

type Outcome = ReportLine & { kind: OutcomeKind; replayed?: boolean };

/** Runs an import (see the module comment). Throws the importer's errors for usage and file problems. */
export async function runImport(options: ImportOptions): Promise<ImportSummary> {
  const mapping = options.mappingPath ? loadMapping(options.mappingPath) : undefined;
  const source = readImportFile(options.inputPath, { format: options.format, mapping });
  const pass = validateRows(source, {
    keyColumn: options.keyColumn,
    allowUnknownFields: options.allowUnknownFields,
    allowInsecureCallback: options.allowInsecureCallback,
  });
  const outcomes = new Map<number, Outcome>();
  const maxShown = options.maxProblemsShown ?? 20;
  let shown = 0;
  let hidden = 0;
  const show = (line: number, text: string) => {
    if (shown < maxShown) options.stderr.write(`${source.filePath}:${line}: ${text}\n`);
    else hidden += 1;
    shown += 1;
  };
  const found: Array<{ line: number; text: string }> = [];
  for (const record of source.unreadable) {
    outcomes.set(record.line, {
      line: record.line,
      state: ImportRowState.Unreadable,
      error: record.message,
      kind: OutcomeKind.Refused,
    });
    found.push({ line: record.line, text: record.message });
  }
  for (const row of pass.invalid) {
    row.issues.forEach((issue) => found.push({ line: row.line, text: describeIssue(issue) }));
    outcomes.set(row.line, {
      line: row.line,
      externalReferenceId: row.externalReferenceId,
      state: ImportRowState.Invalid,
      error: row.issues.map(describeIssue).join('; '),
      kind: OutcomeKind.Refused,
    });
  }
  for (const problem of found.sort((a, b) => a.line - b.line)) show(problem.line, problem.text);
  const rows = source.rows.length + source.unreadable.length;

  if (options.dryRun) {
    for (const row of pass.valid) {
      outcomes.set(row.line, {
        line: row.line,
        externalReferenceId: row.externalReferenceId,
        state: ImportRowState.Valid,
        kind: OutcomeKind.Valid,
      });
    }
    return finish(options, outcomes, rows, { hidden, submitted: 0, submitElapsedMs: 0 });
  }

  const toSend = skipDone(options, pass.valid, outcomes);
  let submitted = 0;
  let submitElapsedMs = 0;
  let fatal: ImportApiError | undefined;
  if (toSend.length > 0) fatal = await preflight(options.apiBaseUrl);
  if (fatal) {
    for (const row of toSend) {
      outcomes.set(row.line, {
        line: row.line,
        externalReferenceId: row.externalReferenceId,
        state: ImportRowState.NotSubmitted,
        error: fatal.message,
        kind: OutcomeKind.NotSubmitted,
      });
    }
  } else if (toSend.length > 0) {
    const byLine = new Map(toSend.map((row) => [row.line, row]));
    const progress = createProgress({
      total: toSend.length,
      mode: options.progress ?? ProgressMode.lines,
      stream: options.stderr,
      intervalMs: options.progressIntervalMs,
    });
    let done = 0;
    let refused = 0;
    const serverProblems: Array<{ line: number; text: string }> = [];
    const startedMs = Date.now();
    const run = await submitRows(
      toSend.map((row): SubmitJob => ({ line: row.line, key: row.key, body: row.body })),
      {
        ...options,
        onResult: (job, result) => {
          const row = byLine.get(job.line)!;
          const outcome = outcomeOf(row, result, (pointer) => source.columnsFor(pointer));
          outcomes.set(job.line, outcome);
          if (result.kind !== 'notSubmitted') submitted += 1;
          done += 1;
          if (outcome.kind === OutcomeKind.Refused) {
            refused += 1;
            serverProblems.push({ line: job.line, text: outcome.error ?? outcome.state });
          }
          if (result.kind === 'accepted' && options.statePath) {
            appendState(options.statePath, {
              key: row.key,
              bodyHash: row.bodyHash,
              trackingId: result.trackingId,
              state: result.state,
              line: row.line,
              at: new Date().toISOString(),
            });
          }
          progress.update({ done, refused });
        },
      },
    );
    submitElapsedMs = Date.now() - startedMs;
    progress.stop();
    fatal = run.fatal;
    for (const problem of serverProblems.sort((a, b) => a.line - b.line)) show(problem.line, problem.text);
  }
  const summary = finish(options, outcomes, rows, { hidden, submitted, submitElapsedMs });
  if (fatal) {
    options.stderr.write(`import: ${fatal.message}\n`);
    return { ...summary, exitCode: ExitCode.UsageOrFile };
  }
  return summary;
}

/** Marks the rows an earlier run finished as skipped; returns the rows left to send. */
function skipDone(options: ImportOptions, valid: readonly ValidRow[], outcomes: Map<number, Outcome>): ValidRow[] {
  if (options.resume === false) return [...valid];
  const fromState: Map<string, StateEntry> = options.statePath
    ? readDoneFromState(options.statePath)
    : new Map<string, StateEntry>();
  let fromReport = new Map<string, { trackingId: string; state: string }>();
  try {
    fromReport = readDoneFromReport(options.reportPath);
  } catch {
    options.stderr.write(`import: ${options.reportPath} could not be read as an earlier report; not using it.\n`);
  }
  const left: ValidRow[] = [];
  for (const row of valid) {
    const inState = fromState.get(row.key);
    // The state file knows the content that was accepted: a changed row is sent again. The report
    // (no hashes) only speaks for rows the state file does not know.
    const earlier = inState
      ? inState.bodyHash === row.bodyHash
        ? inState
        : undefined
      : row.externalReferenceId !== undefined
        ? fromReport.get(row.externalReferenceId)
        : undefined;
    if (earlier) {
      outcomes.set(row.line, {
        line: row.line,
        externalReferenceId: row.externalReferenceId,
        trackingId: earlier.trackingId,
        state: earlier.state,
        kind: OutcomeKind.Skipped,
      });
    } else {
      left.push(row);
    }
  }
  return left;
}

/** Checks that the URL answers like the bridge before sending rows (GET /health needs no key). */
async function preflight(apiBaseUrl: string): Promise<ImportApiError | undefined> {
  const url = `${apiBaseUrl.replace(/\/+$/, '')}/health`;
  const answer = await sendRequest({ method: 'GET', url, timeoutMs: 15_000 });
  if (answer.status === 0) {
    return new ImportApiError(
      `Cannot reach ${url} (${answer.failure ?? 'no answer'}): check --url and that the app runs.`,
    );
  }
  if (answer.status === 404)
    return new ImportApiError(`No bridge at ${apiBaseUrl} (GET /health answered 404): check --url.`);
  return undefined;
}

function outcomeOf(row: ValidRow, result: SubmitResult, columnsFor: (pointer: string) => string[]): Outcome {
  const base = { line: row.line, externalReferenceId: row.externalReferenceId };
  switch (result.kind) {
    case 'accepted':
      return {
        ...base,
        trackingId: result.trackingId,
        state: result.state,
        kind: OutcomeKind.Accepted,
        replayed: result.replayed,
      };
    case 'refused': {
      const issues: RowIssue[] = result.errors?.length
        ? result.errors.map((e) => ({
            pointer: e.pointer,
            columns: columnsFor(e.pointer),
            code: e.code,
            message: e.message,
          }))
        : [{ code: 'refused', message: result.message }];
      return {
        ...base,
        trackingId: result.trackingId,
        state: result.state,
        error: issues.map(describeIssue).join('; '),
        kind: OutcomeKind.Refused,
      };
    }
    case 'failed':
      return {
        ...base,
        trackingId: result.trackingId,
        state: ImportRowState.Failed,
        error: result.message,
        kind: OutcomeKind.Failed,
      };
    case 'notSubmitted':
      return {
        ...base,
        trackingId: result.trackingId,
        state: ImportRowState.NotSubmitted,
        error: result.message,
        kind: OutcomeKind.NotSubmitted,
      };
  }
}

function finish(
  options: ImportOptions,
  outcomes: ReadonlyMap<number, Outcome>,
  rows: number,
  run: { hidden: number; submitted: number; submitElapsedMs: number },
): ImportSummary {
  const all = [...outcomes.values()];
  writeReport(options.reportPath, all);
  const count = (kind: OutcomeKind) => all.filter((o) => o.kind === kind).length;
  const accepted = count(OutcomeKind.Accepted);
  const skipped = count(OutcomeKind.Skipped);
  const refused = count(OutcomeKind.Refused);
  const failed = count(OutcomeKind.Failed);
  const notSubmitted = count(OutcomeKind.NotSubmitted);
  const valid = count(OutcomeKind.Valid);
  const replayed = all.filter((o) => o.replayed === true).length;
  const inProgress = all.filter(
    (o) => o.kind === OutcomeKind.Accepted && !['Completed', 'Linked'].includes(o.state),
  ).length;
  const rowsPerSecond = run.submitElapsedMs > 0 ? run.submitted / (run.submitElapsedMs / 1000) : 0;
  if (run.hidden > 0) options.stderr.write(`import: ${run.hidden} more problems in ${options.reportPath}\n`);
  const interrupted = options.stopSignal?.aborted === true;
  let line: string;
  if (options.dryRun) {
    line = `import --dry-run: ${rows} rows, ${valid} valid, ${refused} refused; nothing was sent; report ${options.reportPath}`;
  } else {
    const rate =
      run.submitted > 0
        ? ` in ${formatDuration(run.submitElapsedMs)} (${formatRate(run.submitted, run.submitElapsedMs)} rows/s)`
        : '';
    line =
      `import: ${rows} rows: ${accepted + skipped} accepted (${skipped} skipped as done before` +
      `${inProgress > 0 ? `, ${inProgress} still in progress` : ''}` +
      `${replayed > 0 ? `, ${replayed} known to the bridge already` : ''}), ${refused} refused, ${failed} failed` +
      `${notSubmitted > 0 ? `, ${notSubmitted} not submitted` : ''}; ${run.submitted} sent${rate}` +
      `${interrupted ? '; stopped by Ctrl-C: run the same command again to go on' : ''}; report ${options.reportPath}`;
  }
  options.stdout.write(`${line}\n`);
  const exitCode = interrupted
    ? ExitCode.Interrupted
    : refused + failed + notSubmitted > 0
      ? ExitCode.SomeRefused
      : ExitCode.AllAccepted;
  return {
    exitCode,
    rows,
    accepted,
    skipped,
    inProgress,
    replayed,
    refused,
    failed,
    notSubmitted,
    submitted: run.submitted,
    submitElapsedMs: run.submitElapsedMs,
    rowsPerSecond,
    line,
  };
}
