/**
 * The reconciliation watermark and its lease: one row in the `referrals` table (PartitionKey `$sync`,
 * RowKey `reconcile-watermark`; columns `watermark`, `leaseOwner`, `leaseUntilEpochMs`). Every write is
 * conditional on the ETag of the read that decided it, so two instances never both advance it:
 * ```
 * A: read (E1, free) ─ claim: owner=A, until=now+L (If-Match E1) → E2 ─ list, apply … ─ advance + release (If-Match E2) ✓
 * B: read (E1, free) ─ claim (If-Match E1) → 412: A claimed first ─ skip this run
 * B, A crashed:  read (E2, until passed) ─ claim (If-Match E2) → E3 ─ …   A, late: advance (If-Match E2) → 412, nothing advanced
 * ```
 */
import { isRestError } from '@azure/core-rest-pipeline';
import type { TableClient } from '@azure/data-tables';
import { WATERMARK_KEYS } from './constants';
import { WatermarkLeaseLostError, WatermarkStorageError } from './errors';

/** The row's fields. */
export interface WatermarkState {
  /** The `updatedDateTime` up to which every change is known applied (ISO 8601). */
  watermark?: string;
  leaseOwner?: string;
  leaseUntilEpochMs?: number;
}

/** Conditional storage of the row: the Table row, or memory in unit tests. */
export interface WatermarkRows {
  read(): Promise<{ state: WatermarkState; etag: string } | undefined>;
  /** Inserts the row; `exists` when another instance did first. */
  create(state: WatermarkState): Promise<{ etag: string } | 'exists'>;
  /** Replaces the row if it still has `etag`; `stale` when it has not. */
  replace(state: WatermarkState, etag: string): Promise<{ etag: string } | 'stale'>;
}

/** A held watermark lease: the watermark it started from and the ETag of the claim. */
export interface WatermarkClaim {
  watermark?: string;
  etag: string;
  ownerId: string;
}

/** Claims and advances the watermark under its lease. */
export class WatermarkLease {
  constructor(readonly rows: WatermarkRows) {}

  /** Takes the lease for `durationMs`; undefined when another instance holds a live one (or claimed first). */
  async claim(ownerId: string, durationMs: number, nowMs: number): Promise<WatermarkClaim | undefined> {
    const current = await this.rows.read();
    const leased: WatermarkState = { ...current?.state, leaseOwner: ownerId, leaseUntilEpochMs: nowMs + durationMs };
    if (!current) {
      const created = await this.rows.create(leased);
      return created === 'exists' ? undefined : { etag: created.etag, ownerId };
    }
    const { leaseOwner, leaseUntilEpochMs } = current.state;
    if (leaseOwner && leaseOwner !== ownerId && (leaseUntilEpochMs ?? 0) > nowMs) return undefined;
    const written = await this.rows.replace(leased, current.etag);
    return written === 'stale' ? undefined : { watermark: current.state.watermark, etag: written.etag, ownerId };
  }

  /**
   * Sets the watermark (never backwards) and releases the lease, conditional on the claim's ETag.
   * Throws {@link WatermarkLeaseLostError} when another instance took the lease over meanwhile.
   */
  async advance(claim: WatermarkClaim, watermark: string | undefined): Promise<void> {
    const written = await this.rows.replace({ ...(watermark ? { watermark } : {}) }, claim.etag);
    if (written === 'stale') throw new WatermarkLeaseLostError();
  }
}

/** The watermark row in Table Storage (`referrals`, `$sync` / `reconcile-watermark`). */
export class TableWatermarkRows implements WatermarkRows {
  #ready: Promise<unknown> | undefined;
  constructor(readonly table: TableClient) {}

  async read(): Promise<{ state: WatermarkState; etag: string } | undefined> {
    await this.#ensureTable();
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(
        WATERMARK_KEYS.partitionKey,
        WATERMARK_KEYS.rowKey,
      );
      const state: WatermarkState = {
        ...(typeof entity.watermark === 'string' ? { watermark: entity.watermark } : {}),
        ...(typeof entity.leaseOwner === 'string' ? { leaseOwner: entity.leaseOwner } : {}),
        ...(typeof entity.leaseUntilEpochMs === 'number' ? { leaseUntilEpochMs: entity.leaseUntilEpochMs } : {}),
      };
      return { state, etag: entity.etag };
    } catch (error) {
      if (isRestError(error) && error.statusCode === 404) return undefined;
      throw new WatermarkStorageError('Could not read the reconciliation watermark', { cause: error });
    }
  }

  async create(state: WatermarkState): Promise<{ etag: string } | 'exists'> {
    await this.#ensureTable();
    try {
      const created = await this.table.createEntity({ ...WATERMARK_KEYS, ...entityOf(state) });
      return { etag: created.etag ?? '' };
    } catch (error) {
      if (isRestError(error) && error.statusCode === 409) return 'exists';
      throw new WatermarkStorageError('Could not create the reconciliation watermark', { cause: error });
    }
  }

  async replace(state: WatermarkState, etag: string): Promise<{ etag: string } | 'stale'> {
    try {
      const updated = await this.table.updateEntity({ ...WATERMARK_KEYS, ...entityOf(state) }, 'Replace', { etag });
      return { etag: updated.etag ?? '' };
    } catch (error) {
      if (isRestError(error) && (error.statusCode === 412 || error.statusCode === 404)) return 'stale';
      throw new WatermarkStorageError('Could not write the reconciliation watermark', { cause: error });
    }
  }

  #ensureTable(): Promise<unknown> {
    this.#ready ??= this.table.createTable().catch((error: unknown) => {
      this.#ready = undefined;
      throw new WatermarkStorageError('Could not create the table of the watermark', { cause: error });
    });
    return this.#ready;
  }
}

/** The watermark row in memory (unit tests), with the Table row's conditional semantics. */
export class InMemoryWatermarkRows implements WatermarkRows {
  #row: { state: WatermarkState; etag: string } | undefined;
  #version = 0;

  read(): Promise<{ state: WatermarkState; etag: string } | undefined> {
    return Promise.resolve(this.#row ? { state: { ...this.#row.state }, etag: this.#row.etag } : undefined);
  }

  create(state: WatermarkState): Promise<{ etag: string } | 'exists'> {
    return Promise.resolve(this.#row ? 'exists' : this.#store(state));
  }

  replace(state: WatermarkState, etag: string): Promise<{ etag: string } | 'stale'> {
    return Promise.resolve(!this.#row || this.#row.etag !== etag ? 'stale' : this.#store(state));
  }

  #store(state: WatermarkState): { etag: string } {
    this.#row = { state: { ...state }, etag: `W/"wm-${++this.#version}"` };
    return { etag: this.#row.etag };
  }
}

function entityOf(state: WatermarkState): Record<string, string | number> {
  const entity: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(state)) if (value !== undefined) entity[key] = value as string | number;
  return entity;
}
