import { odata, type TableClient, type TableEntity, type TableEntityResult } from '@azure/data-tables';
import { isRestError } from '@azure/core-rest-pipeline';
import { ChangeStorageError } from './errors';
import { changeRowKey, type ChangeRecord, type ChangeState } from './changeRecord';
import { ConditionalChangeStore, type ChangeRowWrite, type ChangeRows } from './changeStore';

/** Table properties hold at most 32K UTF-16 characters: JSON fields are split into chunks of this size. */
const CHUNK_CHARS = 30_000;
const JSON_FIELDS = ['changes', 'base', 'answer', 'lastError', 'fields'] as const;
const ENTITY_ONLY = new Set(['partitionKey', 'rowKey', 'etag', 'timestamp', 'writeId', 'odata.metadata']);

/**
 * Change entities in the tracking table (`referrals`), beside their record: PartitionKey = trackingId,
 * RowKey = `change-<changeId>`. The record's own queries filter `RowKey eq 'record'`, so they never see these.
 */
export class TableChangeStore extends ConditionalChangeStore {
  constructor(options: { table: TableClient; nowMs?: () => number }) {
    super({ rows: new TableChangeRows(options.table), nowMs: options.nowMs });
  }
}

class TableChangeRows implements ChangeRows {
  readonly #table: TableClient;
  #ready: Promise<void> | undefined;

  constructor(table: TableClient) {
    this.#table = table;
  }

  #ensureTable(): Promise<void> {
    this.#ready ??= this.#table.createTable().catch((error: unknown) => {
      this.#ready = undefined;
      throw new ChangeStorageError('Could not create the tracking table', { cause: error });
    });
    return this.#ready;
  }

  async insert(change: ChangeRecord, writeId: string): Promise<ChangeRowWrite> {
    await this.#ensureTable();
    try {
      const response = await this.#table.createEntity(toEntity(change, writeId));
      return { ok: true, etag: response.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 409) return { ok: false };
      throw new ChangeStorageError('Could not create a change', { cause: error });
    }
  }

  async replace(change: ChangeRecord, writeId: string, ifMatch: string): Promise<ChangeRowWrite> {
    try {
      const response = await this.#table.updateEntity(toEntity(change, writeId), 'Replace', { etag: ifMatch });
      return { ok: true, etag: response.etag ?? '' };
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 404) return { ok: false };
      throw new ChangeStorageError('Could not update a change', { cause: error });
    }
  }

  async get(trackingId: string, changeId: string) {
    await this.#ensureTable();
    try {
      const entity = await this.#table.getEntity<Record<string, unknown>>(trackingId, changeRowKey(changeId));
      return { change: fromEntity(entity), writeId: typeof entity.writeId === 'string' ? entity.writeId : '' };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new ChangeStorageError('Could not read a change', { cause: error });
    }
  }

  async *query(states: readonly ChangeState[], updatedBeforeEpochMs: number): AsyncGenerator<ChangeRecord> {
    await this.#ensureTable();
    const stateFilter = states.map((state) => odata`state eq ${state}`).join(' or ');
    const filter =
      odata`RowKey gt ${'change-'} and RowKey lt ${'change.'} and (` +
      stateFilter +
      odata`) and updatedAtEpochMs lt ${Math.floor(updatedBeforeEpochMs)}.0`;
    try {
      for await (const entity of this.#table.listEntities<Record<string, unknown>>({ queryOptions: { filter } }))
        yield fromEntity(entity);
    } catch (error) {
      throw new ChangeStorageError('Could not list changes', { cause: error });
    }
  }
}

function toEntity(change: ChangeRecord, writeId: string): TableEntity<Record<string, unknown>> {
  const { trackingId, etag: _etag, ...rest } = change;
  const entity: TableEntity<Record<string, unknown>> = {
    partitionKey: trackingId,
    rowKey: changeRowKey(change.changeId),
    writeId,
  };
  for (const [key, value] of Object.entries(rest)) {
    if (value === undefined) continue;
    if (!(JSON_FIELDS as readonly string[]).includes(key)) {
      entity[key] = value;
      continue;
    }
    const json = JSON.stringify(value);
    const chunks = Math.ceil(json.length / CHUNK_CHARS);
    entity[`${key}Chunks`] = chunks;
    for (let i = 0; i < chunks; i++) entity[`${key}_${i}`] = json.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
  }
  return entity;
}

function fromEntity(entity: TableEntityResult<Record<string, unknown>>): ChangeRecord {
  const out: Record<string, unknown> = {};
  const chunked = new Set<string>();
  for (const field of JSON_FIELDS) {
    const chunks = Number(entity[`${field}Chunks`] ?? 0);
    if (chunks === 0) continue;
    let json = '';
    for (let i = 0; i < chunks; i++) {
      const chunk = entity[`${field}_${i}`];
      json += typeof chunk === 'string' ? chunk : '';
      chunked.add(`${field}_${i}`);
    }
    chunked.add(`${field}Chunks`);
    out[field] = JSON.parse(json);
  }
  for (const [key, value] of Object.entries(entity)) {
    if (ENTITY_ONLY.has(key) || chunked.has(key)) continue;
    out[key] = value;
  }
  return {
    ...(out as Omit<ChangeRecord, 'trackingId' | 'etag'>),
    fields: Array.isArray(out.fields) ? (out.fields as string[]) : [],
    trackingId: String(entity.partitionKey),
    etag: entity.etag,
  };
}

function statusOf(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
}
