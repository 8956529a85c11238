/**
 * The list's filters twice: as an OData condition on the index projection (server side, one partition
 * at a time) and as a check of the tracking record itself (after the record is read, so a stale
 * projection can never put a non-matching record on a page).
 */
import { odata } from '@azure/data-tables';
import { KeySource } from '../tracking/trackingRecord';
import { isFinalState } from '../tracking/states';
import {
  decisionOf,
  directionOf,
  externalReferenceIdOf,
  IN_PROGRESS_CONDITION,
  isInProgressState,
  microsoftAnswerOf,
  type IndexableRecord,
  type IndexEntry,
} from './indexEntry';
import type { ListFilters } from './listQuery';

/**
 * The OData condition on index properties for `filters` (undefined: none). It never excludes an entry
 * whose record matches: an in-progress entry keeps the state and updatedAtEpochMs of the first write of
 * its run (indexEntry.ts, `projectionChanged`), so an in-progress state and `updatedSince` also take every
 * in-progress entry, and {@link recordMatches} decides on the record.
 */
export function projectionFilterOf(filters: ListFilters): string | undefined {
  const conditions: string[] = [];
  if (filters.states) {
    const exact = filters.states.filter((state) => !isInProgressState(state)).map((state) => odata`state eq ${state}`);
    const anyInProgress = filters.states.some(isInProgressState) ? [IN_PROGRESS_CONDITION] : [];
    conditions.push(`(${[...exact, ...anyInProgress].join(' or ')})`);
  }
  if (filters.final !== undefined) conditions.push(`final eq ${filters.final ? 'true' : 'false'}`);
  if (filters.dealType) conditions.push(odata`dealType eq ${filters.dealType}`);
  if (filters.direction) conditions.push(odata`direction eq ${filters.direction}`);
  if (filters.decision) conditions.push(odata`decision eq ${filters.decision}`);
  if (filters.updatedSinceEpochMs !== undefined) {
    conditions.push(`(updatedAtEpochMs ge ${Math.floor(filters.updatedSinceEpochMs)}.0 or ${IN_PROGRESS_CONDITION})`);
  }
  if (filters.externalReferenceId !== undefined) {
    // Records keyed by their externalReferenceId are found by a point read instead (listReferrals.ts).
    conditions.push(odata`externalReferenceId eq ${filters.externalReferenceId}`);
    conditions.push(odata`keySource ne ${KeySource.ExternalReferenceId}`);
  }
  return conditions.length > 0 ? conditions.join(' and ') : undefined;
}

/** True when the record itself meets every filter (`entry` supplies the externalReferenceId once the request is purged). */
export function recordMatches(record: IndexableRecord, filters: ListFilters, entry?: IndexEntry): boolean {
  if (filters.states && !filters.states.includes(record.state)) return false;
  if (filters.final !== undefined && isFinalState(record.state) !== filters.final) return false;
  if (filters.dealType && record.dealType !== filters.dealType) return false;
  if (filters.direction && directionOf(record.direction) !== filters.direction) return false;
  if (filters.decision && decisionOf(microsoftAnswerOf(record.microsoft).decision) !== filters.decision) return false;
  if (filters.updatedSinceEpochMs !== undefined && record.updatedAtEpochMs < filters.updatedSinceEpochMs) return false;
  if (filters.externalReferenceId !== undefined) {
    const id = externalReferenceIdOf(record.request) ?? entry?.externalReferenceId;
    if (id !== filters.externalReferenceId) return false;
  }
  return true;
}
