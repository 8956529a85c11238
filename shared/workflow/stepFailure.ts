import { PartnerCenterError } from '../partner-center/errors';
import type { Logger } from '../platform/logging';
import { ensureError } from '../platform/errors';
import { TrackingConflictError } from '../tracking/errors';
import { TrackingState } from '../tracking/states';
import type { TrackingError, TrackingRecord, TrackingStep } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import { RELEASED_LEASE } from './lease';
import type { RunResult } from './stepResult';
import { STEPS, type StepName } from './stepTable';

/** True for the token broker's reauthorisation error (checked by name: holds across module copies). */
export function isReauthorizationRequired(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReauthorizationRequiredError';
}

/**
 * Maps what a step threw to a result, with one write (or none) and no re-read of what it wrote:
 * ```
 * reauthorisation required        ──► AwaitingReauthorization, parkedFrom = the step's waiting state  → parked
 * Partner Center refusal (4xx)    ──► Rejected, request purged                                       → rejected
 * TrackingConflictError (412)     ──► nothing written: another worker took the step over (our lease
 *                                     expired); the record as it stands                             → skipped
 * anything else                   ──► lease released, error recorded (best effort: the lease expires
 *                                     by itself if this write fails)                                 → retry
 * ```
 * A failure of the parking or rejecting write is itself a `retry` (the record keeps its lease until it expires).
 */
export async function recordStepFailure(
  records: TrackingRecords,
  logger: Logger,
  record: TrackingRecord,
  step: StepName,
  thrown: unknown,
): Promise<RunResult> {
  const error = ensureError(thrown);
  const row = STEPS[step];
  const log = logger.child({ trackingId: record.trackingId });
  if (error instanceof TrackingConflictError) return superseded(records, log, record, step);
  const lastError = toTrackingError(error, row.errorStep);
  try {
    if (isReauthorizationRequired(error)) {
      log.warn('Parked until a new refresh token is stored', { step });
      const parked = await records.update(record, {
        state: TrackingState.AwaitingReauthorization,
        parkedFrom: row.waiting,
        ...RELEASED_LEASE,
        lastError,
      });
      return { kind: 'parked', record: parked };
    }
    if (error instanceof PartnerCenterError && !error.retryable) {
      log.warn('Partner Center rejected the referral', { step, status: error.status, code: error.code });
      const rejected = await records.update(record, {
        state: TrackingState.Rejected,
        ...RELEASED_LEASE,
        lastError,
        request: undefined,
      });
      return { kind: 'rejected', record: rejected, error };
    }
  } catch (writeError) {
    if (writeError instanceof TrackingConflictError) return superseded(records, log, record, step);
    return { kind: 'retry', record, error: ensureError(writeError), step, queued: false };
  }
  const released = await records.update(record, { ...RELEASED_LEASE, lastError }).catch(() => undefined);
  return { kind: 'retry', record: released ?? record, error, step, queued: false };
}

/** Another worker wrote since our claim (our lease expired and it took the step over): leave it to them. */
async function superseded(
  records: TrackingRecords,
  log: Logger,
  record: TrackingRecord,
  step: StepName,
): Promise<RunResult> {
  log.info('Another worker took the step over', { step });
  const current = await records.read(record.trackingId).catch(() => undefined);
  return { kind: 'skipped', record: current ?? record, deferred: true };
}

/** The error as recorded on the record: codes and messages only. */
export function toTrackingError(error: Error, step: TrackingStep): TrackingError {
  if (error instanceof PartnerCenterError) {
    return {
      step,
      ...(error.status ? { status: error.status } : {}),
      code: error.code,
      message: error.message.slice(0, 1024),
    };
  }
  if (isReauthorizationRequired(error)) {
    return {
      step,
      code: 'reauthorizationRequired',
      message: 'The refresh token was refused: store a new one (npm run auth:consent).',
    };
  }
  return { step, code: error.name, message: describe(error) };
}

/** A short description of a failure for logs and records (never a stack, at most 500 characters). */
export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error).slice(0, 500);
}
