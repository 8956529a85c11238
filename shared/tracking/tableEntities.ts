/**
 * Entity ↔ row mapping of the `referrals` table: a tracking record as an entity (request JSON chunked,
 * nested objects as JSON text), index entries, companion rows and the referral-id rows.
 */
import type { TableEntity, TableEntityResult } from '@azure/data-tables';
import { RECORD_ROW_KEY } from './openWork';
import type { TrackingRecord } from './trackingRecord';
import type { CompanionRow, IndexEntry, StoredIndexEntry } from './trackingRecords';

/** Table properties hold at most 32K UTF-16 characters: the request JSON is split into chunks. */
const CHUNK_CHARS = 30_000;
/** Properties stored as JSON text. */
const JSON_FIELDS: ReadonlySet<string> = new Set(['lastError', 'partnerCenter', 'microsoft', 'history', 'outbox']);
/** Entity properties that are not record fields. */
const ENTITY_ONLY_FIELDS: ReadonlySet<string> = new Set([
  'partitionKey',
  'rowKey',
  'etag',
  'timestamp',
  'writeId',
  'requestChunks',
  'odata.metadata',
]);

/** RowKey of a referral-id index row; its PartitionKey is `pc-<referral id, lower case>`. */
export const REFERRAL_INDEX_ROW_KEY = 'ref';

/** PartitionKey of the index row of a Partner Center referral id. */
export function referralIndexPartition(referralId: string): string {
  return `pc-${referralId.toLowerCase()}`;
}

/** The referral-id row of `referralId` as a table entity (`{ trackingId }`). */
export function toReferralEntity(referralId: string, trackingId: string): TableEntity<{ trackingId: string }> {
  return { partitionKey: referralIndexPartition(referralId), rowKey: REFERRAL_INDEX_ROW_KEY, trackingId };
}

/** An index entry as a table entity (`atEpochMs` a Double, `afterEtag` only when there is one). */
export function toIndexEntity(entry: IndexEntry): TableEntity<Record<string, unknown>> {
  return {
    partitionKey: entry.partition,
    rowKey: entry.rowKey,
    atEpochMs: { value: String(entry.atEpochMs), type: 'Double' },
    ...(entry.afterEtag ? { afterEtag: entry.afterEtag } : {}),
  };
}

/** A companion row as a table entity (values as the SDK writes plain values, as the list's own writes do). */
export function toCompanionEntity(row: CompanionRow): TableEntity<Record<string, unknown>> {
  return { ...row.properties, partitionKey: row.partition, rowKey: row.rowKey };
}

/** An index entity read back (with its ETag). */
export function fromIndexEntity(entity: TableEntityResult<Record<string, unknown>>): StoredIndexEntry {
  return {
    partition: String(entity.partitionKey),
    rowKey: String(entity.rowKey),
    atEpochMs: Number(entity.atEpochMs ?? 0),
    ...(typeof entity.afterEtag === 'string' ? { afterEtag: entity.afterEtag } : {}),
    etag: entity.etag,
  };
}

/**
 * Serialises a record into a table entity (request JSON chunked, nested objects as JSON text); benchmarks
 * fill tables with it.
 */
export function toEntity(record: TrackingRecord, writeId: string): TableEntity<Record<string, unknown>> {
  const { trackingId, etag: _etag, request, ...rest } = record;
  const entity: TableEntity<Record<string, unknown>> = { partitionKey: trackingId, rowKey: RECORD_ROW_KEY, writeId };
  for (const [key, value] of Object.entries(rest)) {
    if (value === undefined) continue;
    entity[key] = JSON_FIELDS.has(key) ? JSON.stringify(value) : value;
  }
  if (request !== undefined) {
    const json = serialisedRequest(request);
    const chunks = Math.ceil(json.length / CHUNK_CHARS);
    entity.requestChunks = chunks;
    for (let i = 0; i < chunks; i++) entity[`request_${i}`] = json.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
  }
  return entity;
}

/**
 * A request never changes once validated, and every update of a record carries the same object: its JSON
 * is computed once per object (`Replace` writes the whole entity each time).
 */
const requestJsonCache = new WeakMap<object, string>();

function serialisedRequest(request: object): string {
  let json = requestJsonCache.get(request);
  if (json === undefined) {
    json = JSON.stringify(request);
    requestJsonCache.set(request, json);
  }
  return json;
}

/** Reads a table entity back into a record (the fields this module wrote). */
export function fromEntity(entity: TableEntityResult<Record<string, unknown>>): TrackingRecord {
  const out: Record<string, unknown> = {};
  const chunks = Number(entity.requestChunks ?? 0);
  let json = '';
  for (let i = 0; i < chunks; i++) {
    const chunk = entity[`request_${i}`];
    json += typeof chunk === 'string' ? chunk : '';
  }
  for (const [key, value] of Object.entries(entity)) {
    if (ENTITY_ONLY_FIELDS.has(key) || key.startsWith('request_')) continue;
    out[key] = JSON_FIELDS.has(key) && typeof value === 'string' ? JSON.parse(value) : value;
  }
  return {
    ...(out as Omit<TrackingRecord, 'trackingId' | 'etag'>),
    trackingId: String(entity.partitionKey),
    request: chunks > 0 ? (JSON.parse(json) as TrackingRecord['request']) : undefined,
    etag: entity.etag,
  };
}
