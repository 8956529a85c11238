import { randomUUID } from 'node:crypto';
import { ChangeConflictError, ChangeStorageError } from './errors';
import type { ChangeRecord, ChangeRecordChanges, ChangeState, NewChangeRecord } from './changeRecord';

/** Result of {@link ChangeStore.create}. */
export type ChangeCreateResult = { created: true; change: ChangeRecord } | { created: false; existing: ChangeRecord };

/**
 * The port the update use case keeps change entities through; the same semantics as the tracking
 * records' port (trackingRecords.ts): `create` is a conditional insert (the idempotency claim), `update`
 * a conditional replace with the change's ETag (412 → {@link ChangeConflictError}), a write whose answer
 * was lost and was retried is recognised by its `writeId`, storage faults are {@link ChangeStorageError}.
 */
export interface ChangeStore {
  create(change: NewChangeRecord): Promise<ChangeCreateResult>;
  read(trackingId: string, changeId: string): Promise<ChangeRecord | undefined>;
  update(change: ChangeRecord, changes: ChangeRecordChanges): Promise<ChangeRecord>;
  /** Changes in `states` not written since `updatedBeforeEpochMs` (the sweeper's query). */
  listOpen(states: readonly ChangeState[], updatedBeforeEpochMs: number): AsyncIterable<ChangeRecord>;
}

/** What a storage primitive's conditional write answered. */
export type ChangeRowWrite = { ok: true; etag: string } | { ok: false };

/** Storage primitives under {@link ConditionalChangeStore} (Table, memory); they never retry on their own. */
export interface ChangeRows {
  insert(change: ChangeRecord, writeId: string): Promise<ChangeRowWrite>;
  replace(change: ChangeRecord, writeId: string, ifMatch: string): Promise<ChangeRowWrite>;
  get(trackingId: string, changeId: string): Promise<{ change: ChangeRecord; writeId: string } | undefined>;
  query(states: readonly ChangeState[], updatedBeforeEpochMs: number): AsyncIterable<ChangeRecord>;
}

/**
 * {@link ChangeStore} over storage primitives, shared by the Table and in-memory stores:
 * ```
 *  replace(etag=E1, writeId=W) ──► applied (E2) ──✗ answer lost ──► transport retry (E1) ──► 412
 *  re-read ──► writeId == W ──► ours, with E2      └─► writeId != W ──► ChangeConflictError
 * ```
 */
export class ConditionalChangeStore implements ChangeStore {
  readonly #rows: ChangeRows;
  readonly #nowMs: () => number;

  constructor(options: { rows: ChangeRows; nowMs?: () => number }) {
    this.#rows = options.rows;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Inserts a change; when its key was claimed already, returns the existing change. */
  async create(change: NewChangeRecord): Promise<ChangeCreateResult> {
    const now = this.#nowMs();
    const writeId = randomUUID();
    const draft: ChangeRecord = { ...change, createdAtEpochMs: now, updatedAtEpochMs: now, etag: '' };
    const written = await this.#rows.insert(draft, writeId);
    if (written.ok) return { created: true, change: { ...draft, etag: written.etag } };
    const existing = await this.#rows.get(change.trackingId, change.changeId);
    if (!existing) throw new ChangeStorageError(`Change ${change.changeId} vanished after a conflict`);
    if (existing.writeId === writeId) return { created: true, change: existing.change };
    return { created: false, existing: existing.change };
  }

  /** Reads a change, or undefined. */
  async read(trackingId: string, changeId: string): Promise<ChangeRecord | undefined> {
    return (await this.#rows.get(trackingId, changeId))?.change;
  }

  /** Applies `changes` if the change still has `change.etag`. */
  async update(change: ChangeRecord, changes: ChangeRecordChanges): Promise<ChangeRecord> {
    const next: ChangeRecord = { ...change, ...changes, updatedAtEpochMs: this.#nowMs() };
    const writeId = randomUUID();
    const written = await this.#rows.replace(next, writeId, change.etag);
    if (written.ok) return { ...next, etag: written.etag };
    const current = await this.#rows.get(change.trackingId, change.changeId);
    if (current && current.writeId === writeId) return current.change;
    throw new ChangeConflictError(change.trackingId, change.changeId);
  }

  /** Changes in `states` not written since `updatedBeforeEpochMs`. */
  listOpen(states: readonly ChangeState[], updatedBeforeEpochMs: number): AsyncIterable<ChangeRecord> {
    return this.#rows.query(states, updatedBeforeEpochMs);
  }
}
