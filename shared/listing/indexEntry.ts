/**
 * One referral index entry: where it lives (a creation-day partition, newest first inside it) and the
 * small projection of the tracking record that the list filters on (docs/console.md).
 *
 * ```
 * PartitionKey  created-2025-11-26-3                    (UTC day of createdAtEpochMs, then the trackingId's shard)
 * RowKey        8235860781234-r3f9c…                    (9999999999999 − createdAtEpochMs, 13 digits, then the trackingId)
 * properties    state final dealType direction decision keySource externalReferenceId
 *               createdAtEpochMs updatedAtEpochMs linkedAtEpochMs decisionAtEpochMs respondByEpochMs
 * ```
 * Table queries return a partition in RowKey order, so the inverted time makes a shard read newest first;
 * a day's read merges its eight shards by RowKey (referralIndex.ts).
 */
import { creationPartitionOf, creationPartitionsOfDay, utcDay } from '../tracking/openWork';
import type { CompanionRow } from '../tracking/trackingRecords';
import { isFinalState, TrackingState } from '../tracking/states';
import { Decision, Direction } from './constants';

/** The fields of a tracking record the index reads (structural: any record store's records fit). */
export interface IndexableRecord {
  trackingId: string;
  state: TrackingState;
  dealType: string;
  keySource: string;
  request?: unknown;
  createdAtEpochMs: number;
  updatedAtEpochMs: number;
  /** Records without it are outbound. */
  direction?: unknown;
  /** Microsoft's answer (`decision`, `decidedAt`, `respondBy`, ISO 8601); absent means none recorded yet. */
  microsoft?: unknown;
}

/** What an index entry holds about its record. */
export interface IndexProjection {
  trackingId: string;
  state: TrackingState;
  final: boolean;
  dealType: string;
  direction: Direction;
  decision?: Decision;
  keySource: string;
  externalReferenceId?: string;
  createdAtEpochMs: number;
  updatedAtEpochMs: number;
  /** When the record became Linked (the Microsoft referral exists): the start of Microsoft's 14 days [inferred]. */
  linkedAtEpochMs?: number;
  /** When Microsoft's answer was seen made (`microsoft.decidedAt`). */
  decisionAtEpochMs?: number;
  /** Microsoft's deadline (`microsoft.respondBy`: 14 days after the Microsoft referral was created). */
  respondByEpochMs?: number;
}

/** An entry as stored: its keys and its projection. */
export interface IndexEntry extends IndexProjection {
  partitionKey: string;
  rowKey: string;
}

const NEWEST_EPOCH_MS = 9_999_999_999_999;
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
/** RowKey shape: 13 digits, a dash, a trackingId. */
export const ROW_KEY_PATTERN = /^\d{13}-r[0-9a-f]{31}$/;
/** Every entry's RowKey sorts below this (13 digits first): the open-work entries of the day sort above. */
export const ENTRY_ROW_KEY_UPPER_BOUND = '~';
const LONGEST_EXTERNAL_REFERENCE_ID = 1024;

/** UTC day (`YYYY-MM-DD`) of an instant. */
export const dayOf: (epochMs: number) => string = utcDay;

/** True for a real calendar day written `YYYY-MM-DD`. */
export function isDay(text: string): boolean {
  if (!DAY_PATTERN.test(text)) return false;
  const epochMs = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(epochMs) && dayOf(epochMs) === text;
}

/** The day before `day`. */
export function previousDay(day: string): string {
  return dayOf(Date.parse(`${day}T00:00:00Z`) - 86_400_000);
}

/** PartitionKeys of a creation day (`YYYY-MM-DD`): one per shard. */
export function partitionKeysOf(day: string): string[] {
  return creationPartitionsOfDay(Date.parse(`${day}T00:00:00Z`));
}

/** RowKey of a record inside its day: newest first. */
export function rowKeyOf(createdAtEpochMs: number, trackingId: string): string {
  return `${String(NEWEST_EPOCH_MS - Math.floor(createdAtEpochMs)).padStart(13, '0')}-${trackingId}`;
}

/** The keys of the entry of a record created at `createdAtEpochMs`. */
export function entryKeysOf(createdAtEpochMs: number, trackingId: string): { partitionKey: string; rowKey: string } {
  return {
    partitionKey: creationPartitionOf(createdAtEpochMs, trackingId),
    rowKey: rowKeyOf(createdAtEpochMs, trackingId),
  };
}

/**
 * The projection of `record`. `previous` is the record as it was before this write (updates): it still
 * holds the request when this write purges it, and says whether this write is the one that links.
 */
export function projectionOf(record: IndexableRecord, previous?: IndexableRecord): IndexProjection {
  const externalReferenceId = externalReferenceIdOf(record.request) ?? externalReferenceIdOf(previous?.request);
  const answer = microsoftAnswerOf(record.microsoft);
  const decision = decisionOf(answer.decision);
  const decisionAtEpochMs = epochMsOf(answer.decidedAt);
  const respondByEpochMs = epochMsOf(answer.respondBy);
  const justLinked = record.state === 'Linked' && previous !== undefined && previous.state !== 'Linked';
  return {
    trackingId: record.trackingId,
    state: record.state,
    final: isFinalState(record.state),
    dealType: record.dealType,
    direction: directionOf(record.direction),
    ...(decision ? { decision } : {}),
    keySource: record.keySource,
    ...(externalReferenceId ? { externalReferenceId } : {}),
    createdAtEpochMs: record.createdAtEpochMs,
    updatedAtEpochMs: record.updatedAtEpochMs,
    ...(justLinked ? { linkedAtEpochMs: record.updatedAtEpochMs } : {}),
    ...(decision && decision !== Decision.Pending && decisionAtEpochMs !== undefined ? { decisionAtEpochMs } : {}),
    ...(respondByEpochMs !== undefined ? { respondByEpochMs } : {}),
  };
}

/**
 * True for a state the index keeps as one class, "in progress": not final and not parked (waiting for a
 * refresh token). The summary counts these as one outcome, and the list filters them by class.
 */
export function isInProgressState(state: TrackingState): boolean {
  return !isFinalState(state) && state !== TrackingState.AwaitingReauthorization;
}

/**
 * True when merging `next` into an entry that holds `current` changes what the index answers. A run of
 * in-progress states keeps the projection of its first write (its state and updatedAtEpochMs): the list
 * reads every state from the record, filters in-progress states by class (listFilters.ts) and the summary
 * counts them as one outcome, so a write between two in-progress states (a co-sell deal's CreatingPartner
 * → CreatingMicrosoft, a retry's attempt count) costs no index request. Every other difference counts,
 * for the fields `next` holds (a merge keeps the fields it does not name).
 */
export function projectionChanged(current: IndexProjection, next: IndexProjection): boolean {
  const sameClass = isInProgressState(current.state) && isInProgressState(next.state);
  for (const [name, value] of Object.entries(next) as Array<[keyof IndexProjection, unknown]>) {
    if (sameClass && (name === 'state' || name === 'updatedAtEpochMs')) continue;
    if (current[name] !== value) return true;
  }
  return false;
}

/** The OData condition that holds for every entry in the in-progress class (see {@link isInProgressState}). */
export const IN_PROGRESS_CONDITION = `(final eq false and state ne '${TrackingState.AwaitingReauthorization}')`;

/**
 * The entry of a newly created record as a companion row of the tracking store: written in the same
 * entity-group transaction as the create's open-work entry (same table, same creation-day shard partition).
 */
export function listEntryRowOf(record: IndexableRecord): CompanionRow {
  const keys = entryKeysOf(record.createdAtEpochMs, record.trackingId);
  const properties: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(projectionOf(record)))
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') properties[name] = value;
  return { partition: keys.partitionKey, rowKey: keys.rowKey, properties };
}

/** The fields of a record's `microsoft` answer the index reads (anything else: none). */
export function microsoftAnswerOf(value: unknown): { decision?: unknown; decidedAt?: unknown; respondBy?: unknown } {
  return typeof value === 'object' && value !== null ? value : {};
}

/** Milliseconds of an ISO 8601 text; undefined for anything else. */
function epochMsOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const epochMs = Date.parse(value);
  return Number.isFinite(epochMs) ? epochMs : undefined;
}

/** Direction of a record: `inbound` only when the record says so. */
export function directionOf(value: unknown): Direction {
  return value === Direction.Inbound ? Direction.Inbound : Direction.Outbound;
}

/** Microsoft's answer on a record, when it holds a known one. */
export function decisionOf(value: unknown): Decision | undefined {
  return (Object.values(Decision) as unknown[]).includes(value) ? (value as Decision) : undefined;
}

/** The CRM's id of the deal, read from a validated request while the record still holds it. */
export function externalReferenceIdOf(request: unknown): string | undefined {
  if (typeof request !== 'object' || request === null || !('referral' in request)) return undefined;
  const referral = request.referral;
  if (typeof referral !== 'object' || referral === null || !('externalReferenceId' in referral)) return undefined;
  const id = referral.externalReferenceId;
  return typeof id === 'string' && id.trim() !== '' ? id.slice(0, LONGEST_EXTERNAL_REFERENCE_ID) : undefined;
}

/** Reads a stored entity back into an entry; undefined for anything that is not one (bookkeeping rows). */
export function entryFromEntity(entity: Record<string, unknown>): IndexEntry | undefined {
  const { partitionKey, rowKey, trackingId, state, dealType, keySource } = entity;
  if (typeof partitionKey !== 'string' || typeof rowKey !== 'string' || !ROW_KEY_PATTERN.test(rowKey)) return undefined;
  if (typeof trackingId !== 'string' || typeof state !== 'string') return undefined;
  const decision = decisionOf(entity.decision);
  const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
  const linkedAtEpochMs = number(entity.linkedAtEpochMs);
  const decisionAtEpochMs = number(entity.decisionAtEpochMs);
  const respondByEpochMs = number(entity.respondByEpochMs);
  const externalReferenceId = typeof entity.externalReferenceId === 'string' ? entity.externalReferenceId : undefined;
  return {
    partitionKey,
    rowKey,
    trackingId,
    state: state as TrackingState,
    final: entity.final === true,
    dealType: typeof dealType === 'string' ? dealType : '',
    direction: directionOf(entity.direction),
    ...(decision ? { decision } : {}),
    keySource: typeof keySource === 'string' ? keySource : '',
    ...(externalReferenceId ? { externalReferenceId } : {}),
    createdAtEpochMs: number(entity.createdAtEpochMs) ?? 0,
    updatedAtEpochMs: number(entity.updatedAtEpochMs) ?? 0,
    ...(linkedAtEpochMs !== undefined ? { linkedAtEpochMs } : {}),
    ...(decisionAtEpochMs !== undefined ? { decisionAtEpochMs } : {}),
    ...(respondByEpochMs !== undefined ? { respondByEpochMs } : {}),
  };
}
