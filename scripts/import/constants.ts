/**
 * Names shared by the importer's modules: exit codes, the importer's own row states and outcome kinds.
 */
import { TrackingState } from '../../shared/tracking/states';

/** Process exit codes of `npm run import`. */
export const ExitCode = {
  /** Every row was accepted (or had been accepted by an earlier run). */
  AllAccepted: 0,
  /** Some rows were refused, unreadable or could not be submitted. */
  SomeRefused: 1,
  /** Usage or file error (or the API refused the whole run): nothing was imported. */
  UsageOrFile: 2,
  /** Stopped by Ctrl-C (128 + SIGINT): the report holds what was done. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The report's `state` column: a tracking state of the bridge for rows it answered
 * (`Completed`, `Linked`, `LinkQueued`, `Rejected`, ...) or one of these for rows it never tracked.
 */
export const ImportRowState = {
  /** The line could not be read (bad JSON, bad CSV quoting, invalid UTF-8). */
  Unreadable: 'Unreadable',
  /** The body breaks the contract (found locally or answered 400 by the API); nothing was sent or recorded. */
  Invalid: 'Invalid',
  /** The idempotency key was used earlier for another payload (422 idempotency-key-reused). */
  KeyReused: 'KeyReused',
  /** Passed validation (`--dry-run` only). */
  Valid: 'Valid',
  /** Transient failures (429, 5xx, timeouts) outlasted the attempts: run again to retry. */
  Failed: 'Failed',
  /** Not sent: the run was stopped (Ctrl-C) or ended by an error of the whole run. */
  NotSubmitted: 'NotSubmitted',
} as const;
export type ImportRowState = (typeof ImportRowState)[keyof typeof ImportRowState];

/** What happened to a row, for counting and the exit code. */
export const OutcomeKind = {
  /** The bridge accepted it in this run (final or still in progress). */
  Accepted: 'accepted',
  /** Accepted by an earlier run (state file or report): not sent again. */
  Skipped: 'skipped',
  /** Invalid, unreadable, rejected by Partner Center or a reused key: fix the row. */
  Refused: 'refused',
  /** Could not be submitted (transient failures): run again. */
  Failed: 'failed',
  /** Not sent (Ctrl-C, or a whole-run error). */
  NotSubmitted: 'notSubmitted',
  /** Valid, not sent (`--dry-run`). */
  Valid: 'valid',
} as const;
export type OutcomeKind = (typeof OutcomeKind)[keyof typeof OutcomeKind];

/** Tracking states after which a rerun skips a row without calling the API. */
export const DONE_STATES: ReadonlySet<string> = new Set([TrackingState.Completed, TrackingState.Linked]);
