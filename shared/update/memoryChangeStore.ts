import { ChangeStorageError } from './errors';
import type { ChangeRecord, ChangeState } from './changeRecord';
import { ConditionalChangeStore, type ChangeRowWrite, type ChangeRows } from './changeStore';

/** A fault for the next matching operation (as the in-memory tracking store's faults). */
export interface MemoryChangeFault {
  kind: 'unavailable' | 'lostAnswerRetried';
  operation: 'insert' | 'replace' | 'get';
}

/** Change entities in memory with the Table store's semantics (unit tests, benchmarks). */
export class InMemoryChangeStore extends ConditionalChangeStore {
  readonly #rows: MemoryChangeRows;

  constructor(options: { nowMs?: () => number } = {}) {
    const rows = new MemoryChangeRows();
    super({ rows, nowMs: options.nowMs });
    this.#rows = rows;
  }

  /** Makes the next matching operation fail as `fault` says. */
  injectFault(fault: MemoryChangeFault): void {
    this.#rows.faults.push(fault);
  }

  /** Every stored change (tests). */
  all(): ChangeRecord[] {
    return [...this.#rows.entries.keys()].sort().map((key) => this.#rows.changeOf(key)!);
  }
}

class MemoryChangeRows implements ChangeRows {
  readonly entries = new Map<string, { json: string; etag: string; writeId: string }>();
  readonly faults: MemoryChangeFault[] = [];
  #counter = 0;

  async insert(change: ChangeRecord, writeId: string): Promise<ChangeRowWrite> {
    const fault = await this.#take('insert');
    if (fault === 'unavailable') throw unavailable();
    const key = keyOf(change.trackingId, change.changeId);
    if (this.entries.has(key)) return { ok: false };
    const written = this.#store(key, change, writeId);
    return fault === 'lostAnswerRetried' ? { ok: false } : written;
  }

  async replace(change: ChangeRecord, writeId: string, ifMatch: string): Promise<ChangeRowWrite> {
    const fault = await this.#take('replace');
    if (fault === 'unavailable') throw unavailable();
    const key = keyOf(change.trackingId, change.changeId);
    const row = this.entries.get(key);
    if (!row || row.etag !== ifMatch) return { ok: false };
    const written = this.#store(key, change, writeId);
    return fault === 'lostAnswerRetried' ? { ok: false } : written;
  }

  async get(trackingId: string, changeId: string) {
    if (await this.#take('get')) throw unavailable();
    const key = keyOf(trackingId, changeId);
    const row = this.entries.get(key);
    return row ? { change: this.changeOf(key)!, writeId: row.writeId } : undefined;
  }

  async *query(states: readonly ChangeState[], updatedBeforeEpochMs: number): AsyncGenerator<ChangeRecord> {
    await Promise.resolve(); // a storage round trip: other work interleaves here, as it does against a table
    for (const key of [...this.entries.keys()].sort()) {
      const change = this.changeOf(key)!;
      if (states.includes(change.state) && change.updatedAtEpochMs < updatedBeforeEpochMs) yield change;
    }
  }

  changeOf(key: string): ChangeRecord | undefined {
    const row = this.entries.get(key);
    return row ? { ...(JSON.parse(row.json) as Omit<ChangeRecord, 'etag'>), etag: row.etag } : undefined;
  }

  #store(key: string, change: ChangeRecord, writeId: string): ChangeRowWrite {
    const { etag: _etag, ...fields } = change;
    const etag = `W/"change-${++this.#counter}"`;
    this.entries.set(key, { json: JSON.stringify(fields), etag, writeId });
    return { ok: true, etag };
  }

  /** Removes the first fault for `operation`; resolves on a later tick, like a storage round trip. */
  async #take(operation: MemoryChangeFault['operation']): Promise<MemoryChangeFault['kind'] | undefined> {
    await Promise.resolve();
    const index = this.faults.findIndex((fault) => fault.operation === operation);
    return index < 0 ? undefined : this.faults.splice(index, 1)[0].kind;
  }
}

function keyOf(trackingId: string, changeId: string): string {
  return `${trackingId}/${changeId}`;
}

function unavailable(): ChangeStorageError {
  return new ChangeStorageError('In-memory change store: injected fault');
}
