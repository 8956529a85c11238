import { randomUUID } from 'node:crypto';
import type { TableClient, TableEntity, TableEntityResult } from '@azure/data-tables';
import { canTransition, type TrackingState } from './states';
import type { TrackingChanges, TrackingRecord } from './trackingRecord';
import { InvalidTransitionError, TrackingConflictError, TrackingStorageError } from './errors';
import { recordTransition } from '../platform/metrics';

/** RowKey of the tracking record inside its partition. */
export const RECORD_ROW_KEY = 'record';

/** Table properties hold at most 32K UTF-16 characters: the request JSON is split into chunks. */
const CHUNK_CHARS = 30_000;
/** Properties stored as JSON text. */
const JSON_FIELDS = ['lastError'] as const;

/** Options for {@link TrackingStore}. */
export interface TrackingStoreOptions {
  /** A TableClient for the `referrals` table (Azurite locally, identity-based in Azure). */
  table: TableClient;
  /** Clock for timestamps. @default Date.now */
  nowMs?: () => number;
}

/** Result of {@link TrackingStore.create}. */
export type CreateResult = { created: true; record: TrackingRecord } | { created: false; existing: TrackingRecord };

/** Counts of storage operations, for benchmarks. */
export interface TrackingStoreStats {
  reads: number;
  writes: number;
  queries: number;
}

/**
 * Tracking records in Table Storage. Every state change is a conditional write with the ETag of the
 * read that decided it; the SDK's default `If-Match: *` is never used.
 *
 * A conditional write whose response is lost is retried by the SDK and then fails with 412 on our
 * own change. Each write therefore stamps a fresh `writeId`; on 412 the store re-reads, and when the
 * stored `writeId` is ours the write did land:
 * ```
 *  update(etag=E1, writeId=W) ──► service applies (etag E2) ──✗ response lost
 *  SDK retry (etag=E1)        ──► 412
 *  re-read                    ──► writeId == W ──► success with etag E2
 * ```
 */
export class TrackingStore {
  readonly #table: TableClient;
  readonly #nowMs: () => number;
  #tableReady: Promise<void> | undefined;
  readonly #stats: TrackingStoreStats = { reads: 0, writes: 0, queries: 0 };

  constructor(options: TrackingStoreOptions) {
    this.#table = options.table;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Storage operations made so far. */
  stats(): TrackingStoreStats {
    return { ...this.#stats };
  }

  /** Creates the table once per process (409 TableAlreadyExists is fine). */
  async ensureTable(): Promise<void> {
    this.#tableReady ??= this.#table.createTable().catch((error: unknown) => {
      this.#tableReady = undefined;
      throw new TrackingStorageError('Could not create the tracking table', { cause: error });
    });
    return this.#tableReady;
  }

  /** Inserts a new record; when the trackingId exists already, returns the existing one instead. */
  async create(record: Omit<TrackingRecord, 'etag' | 'createdAtEpochMs' | 'updatedAtEpochMs'>): Promise<CreateResult> {
    await this.ensureTable();
    const now = this.#nowMs();
    const writeId = randomUUID();
    const entity = toEntity({ ...record, createdAtEpochMs: now, updatedAtEpochMs: now, etag: '' }, writeId);
    try {
      this.#stats.writes++;
      const response = await this.#table.createEntity(entity);
      recordTransition(record.state, record.dealType);
      return {
        created: true,
        record: { ...record, createdAtEpochMs: now, updatedAtEpochMs: now, etag: response.etag ?? '' },
      };
    } catch (error) {
      if (statusOf(error) !== 409)
        throw new TrackingStorageError('Could not create a tracking record', { cause: error });
      const existing = await this.get(record.trackingId);
      if (!existing) throw new TrackingStorageError('Tracking record vanished after a conflict', { cause: error });
      // Our own insert whose response was lost: the SDK retried and got 409.
      if (existing.writeId === writeId) return { created: true, record: existing.record };
      return { created: false, existing: existing.record };
    }
  }

  /** Reads a record, or undefined when there is none. */
  async get(trackingId: string): Promise<{ record: TrackingRecord; writeId: string } | undefined> {
    await this.ensureTable();
    try {
      this.#stats.reads++;
      const entity = await this.#table.getEntity<Record<string, unknown>>(trackingId, RECORD_ROW_KEY);
      return { record: fromEntity(entity), writeId: String(entity.writeId ?? '') };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new TrackingStorageError('Could not read a tracking record', { cause: error });
    }
  }

  /** Reads a record's current state (convenience over {@link get}). */
  async read(trackingId: string): Promise<TrackingRecord | undefined> {
    return (await this.get(trackingId))?.record;
  }

  /**
   * Applies `changes` if the record still has `record.etag`; checks the state transition first.
   * Throws {@link TrackingConflictError} when someone else wrote in between.
   */
  async update(record: TrackingRecord, changes: TrackingChanges): Promise<TrackingRecord> {
    if (changes.state !== undefined && changes.state !== record.state && !canTransition(record.state, changes.state)) {
      throw new InvalidTransitionError(record.trackingId, record.state, changes.state);
    }
    const next: TrackingRecord = { ...record, ...changes, updatedAtEpochMs: this.#nowMs() };
    const writeId = randomUUID();
    try {
      this.#stats.writes++;
      const response = await this.#table.updateEntity(toEntity(next, writeId), 'Replace', { etag: record.etag });
      if (changes.state !== undefined && changes.state !== record.state)
        recordTransition(changes.state, record.dealType);
      return { ...next, etag: response.etag ?? '' };
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 404) {
        const current = await this.get(record.trackingId);
        if (current && current.writeId === writeId) return current.record;
        throw new TrackingConflictError(record.trackingId, { cause: error });
      }
      throw new TrackingStorageError('Could not update a tracking record', { cause: error });
    }
  }

  /** Records in one of `states` not updated since `updatedBeforeEpochMs` (the sweeper's query). */
  async *listStale(
    states: readonly TrackingState[],
    updatedBeforeEpochMs: number,
    options: { callbackPendingOnly?: boolean } = {},
  ): AsyncGenerator<TrackingRecord> {
    await this.ensureTable();
    const stateFilter = states.map((s) => `state eq '${s}'`).join(' or ');
    const callbackFilter = options.callbackPendingOnly ? " and callbackState eq 'pending'" : '';
    const filter = `RowKey eq '${RECORD_ROW_KEY}' and (${stateFilter}) and updatedAtEpochMs lt ${Math.floor(updatedBeforeEpochMs)}.0${callbackFilter}`;
    this.#stats.queries++;
    try {
      for await (const entity of this.#table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        yield fromEntity(entity);
      }
    } catch (error) {
      throw new TrackingStorageError('Could not list tracking records', { cause: error });
    }
  }
}

/** Serialises a record into a table entity (request JSON chunked, nested objects as JSON text). */
function toEntity(record: TrackingRecord, writeId: string): TableEntity<Record<string, unknown>> {
  const { trackingId, etag: _etag, request, ...rest } = record;
  const entity: TableEntity<Record<string, unknown>> = { partitionKey: trackingId, rowKey: RECORD_ROW_KEY, writeId };
  for (const [key, value] of Object.entries(rest)) {
    if (value === undefined) continue;
    entity[key] = (JSON_FIELDS as readonly string[]).includes(key) ? JSON.stringify(value) : value;
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

function serialisedRequest(request: unknown): string {
  if (typeof request !== 'object' || request === null) return JSON.stringify(request);
  let json = requestJsonCache.get(request);
  if (json === undefined) {
    json = JSON.stringify(request);
    requestJsonCache.set(request, json);
  }
  return json;
}

/** Reads a table entity back into a record. */
function fromEntity(entity: TableEntityResult<Record<string, unknown>>): TrackingRecord {
  const out: Record<string, unknown> = {};
  let request: unknown;
  const chunks = Number(entity.requestChunks ?? 0);
  if (chunks > 0) {
    let json = '';
    for (let i = 0; i < chunks; i++) json += String(entity[`request_${i}`] ?? '');
    request = JSON.parse(json);
  }
  for (const [key, value] of Object.entries(entity)) {
    if (key === 'partitionKey' || key === 'rowKey' || key === 'etag' || key === 'timestamp' || key === 'writeId')
      continue;
    if (key === 'requestChunks' || key.startsWith('request_') || key === 'odata.metadata') continue;
    out[key] =
      (JSON_FIELDS as readonly string[]).includes(key) && typeof value === 'string' ? JSON.parse(value) : value;
  }
  return {
    ...(out as Omit<TrackingRecord, 'trackingId' | 'etag'>),
    trackingId: String(entity.partitionKey),
    request,
    etag: entity.etag,
  };
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error
    ? Number((error).statusCode)
    : undefined;
}
