/**
 * The cross-instance redemption lease: one Table Storage row that at most one instance holds at a time,
 * so that two instances never redeem the same refresh token (Entra rotates it on every redemption; a
 * replay of the spent one can revoke the whole token family).
 *
 * Row: table `referrals`, PartitionKey `$lease`, RowKey `partner-center-token`, columns `ownerId`,
 * `leaseUntilEpochMs`. Every write is conditional: `createEntity` when the row is absent (409 if another
 * instance created it first), `updateEntity` with the ETag of the read that saw the lease free or expired
 * (412 if another instance wrote in between). The etag is always the real one, never `*`.
 *
 * ```
 *  row:       free (leaseUntil ≤ now)   │ held by A: leaseUntil = t0 + L (extended with If-Match if A runs long)  │ free (0)
 *  ───────────────────────────────────────┼─────────────────────────────────────────────────────────────────────┼───────────────▶ t
 *  A:  read ─ claim (create / If-Match) t0  re-read RT vN ─ redeem vN ─ write RT vN+1 (new version) ─ release t1 (If-Match) ─ use AT
 *                                          │◀──────── must finish before t0 + L: deadline passed to every retry ───▶│
 *  B:  read ─ held by A ─ sleep(jitter) ─ read ─ held ─ sleep ─ ...... read ─ free ─ claim ─ re-read RT vN+1 ─ redeem ─ write vN+2 ─ release
 *  B, A crashed after t0:   read ─ held ─ sleep ─ ... ─ read ─ expired (now > t0 + L) ─ updateEntity(If-Match: read ETag) ─ ...
 *  A and B both see it free:  both update with the same read ETag: one wins, the other gets 412 and reads again
 * ```
 *
 * L (`leaseDurationMs`, default 60 s) must outlast one redemption plus the Key Vault write; the broker
 * stops retrying when an attempt could not end inside the lease, and extends the lease (If-Match) before
 * the Key Vault write if little time is left. A holder that dies keeps the others waiting at most L.
 * Expiry compares epoch ms from different instances' clocks (NTP-synchronised in Azure; skew ≪ L).
 *
 * With TOKEN_SHARING=keyvault the row also carries `sharedTokenRefreshAtEpochMs`: the refresh point of the
 * access token the last holder stored in Key Vault (a time, never the token). Every claim and extension
 * carries it over; a release may set it. Instances read it (a Table read, no Key Vault call) to know
 * whether reading the shared token is worth a Key Vault read.
 */
import { isRestError } from '@azure/core-rest-pipeline';
import type { Logger } from '../platform/logging';
import { TOKEN_LEASE_KEYS } from './constants';
import { TokenLeaseError } from './errors';
import type { RetryDeps } from './retry';
import type { LeaseTableClient } from './types';

/** A lease this instance holds: the ETag of its last write and when it ends. */
export interface HeldLease {
  etag: string;
  leaseUntilEpochMs: number;
  /** The row's `sharedTokenRefreshAtEpochMs` when it was claimed (see the module comment). */
  sharedTokenRefreshAtEpochMs?: number;
}

/** What the row says without claiming it. */
export interface LeaseRowView {
  ownerId: string;
  leaseUntilEpochMs: number;
  sharedTokenRefreshAtEpochMs?: number;
}

/** Options of {@link TokenLease}. */
export interface TokenLeaseOptions {
  table: LeaseTableClient;
  /** Written to the row so operators and the other instances see who holds it. */
  ownerId: string;
  durationMs: number;
  pollIntervalMs: number;
  /** Longest wait for a lease held elsewhere before giving up (retryable). */
  waitMs: number;
  deps: RetryDeps;
  logger: Logger;
  /** Called each time the lease is found held by another instance. */
  onWait?: (heldBy: string) => void;
}

interface LeaseRow {
  partitionKey: string;
  rowKey: string;
  ownerId: string;
  leaseUntilEpochMs: number;
  sharedTokenRefreshAtEpochMs?: number;
}

/** The row to write: the column only when it has a value (a deployment without sharing never sees it). */
function leaseRow(ownerId: string, leaseUntilEpochMs: number, sharedTokenRefreshAtEpochMs?: number): LeaseRow {
  return {
    ...TOKEN_LEASE_KEYS,
    ownerId,
    leaseUntilEpochMs,
    ...(sharedTokenRefreshAtEpochMs !== undefined ? { sharedTokenRefreshAtEpochMs } : {}),
  };
}

/** Table errors other than 404/409/412 tolerated in one acquire before giving up. */
const MAX_TRANSIENT_TABLE_ERRORS = 3;

/** Claims, extends and releases the redemption lease row. */
export class TokenLease {
  readonly #o: TokenLeaseOptions;
  #tableReady: Promise<void> | undefined;

  constructor(options: TokenLeaseOptions) {
    this.#o = options;
  }

  /**
   * Claims the lease, waiting (jittered polls, bounded by `waitMs`) while another instance holds an
   * unexpired one. Throws {@link TokenLeaseError} (retryable) when the wait or Table Storage fails.
   */
  async acquire(): Promise<HeldLease> {
    await this.#ensureTable();
    const { deps, durationMs, pollIntervalMs, waitMs } = this.#o;
    const deadlineEpochMs = deps.nowMs() + waitMs;
    // Bounded even when the clock does not move (tests): every round either returns, sleeps or re-reads after a lost race.
    const maxRounds = Math.ceil(waitMs / Math.max(1, pollIntervalMs / 2)) + 20;
    let transientErrors = 0;
    let heldBy: string | undefined;
    for (let round = 0; round < maxRounds; round++) {
      const nowMs = deps.nowMs();
      try {
        const current = await this.#read();
        const shared = current?.row.sharedTokenRefreshAtEpochMs;
        const claim = leaseRow(this.#o.ownerId, nowMs + durationMs, shared);
        const held = (etag: string | undefined): HeldLease => ({
          etag: requireEtag(etag),
          leaseUntilEpochMs: claim.leaseUntilEpochMs,
          ...(shared !== undefined ? { sharedTokenRefreshAtEpochMs: shared } : {}),
        });
        if (!current) return held((await this.#o.table.createEntity(claim)).etag);
        if (current.row.leaseUntilEpochMs <= nowMs || current.row.ownerId === this.#o.ownerId) {
          return held((await this.#o.table.updateEntity(claim, 'Replace', { etag: current.etag })).etag);
        }
        heldBy = current.row.ownerId;
        this.#o.onWait?.(heldBy);
        if (nowMs >= deadlineEpochMs) break;
        const jitteredMs = pollIntervalMs * (0.5 + deps.random());
        await deps.sleep(
          Math.max(1, Math.min(jitteredMs, current.row.leaseUntilEpochMs - nowMs + 1, deadlineEpochMs - nowMs)),
        );
      } catch (thrown) {
        const status = statusOf(thrown);
        if (status === 409 || status === 412) continue; // another instance won this round: look again
        if (++transientErrors > MAX_TRANSIENT_TABLE_ERRORS) {
          throw new TokenLeaseError(`Table Storage failed while claiming the token lease (${describe(thrown)})`, {
            operation: 'claim',
            cause: sanitize(thrown),
          });
        }
        await deps.sleep(Math.round(pollIntervalMs * (0.5 + deps.random())));
      }
    }
    throw new TokenLeaseError(`The token lease is still held by ${heldBy ?? 'another instance'} after ${waitMs} ms`, {
      operation: 'claim',
      heldBy,
    });
  }

  /** The row as it is (no claim); undefined when absent. Table errors propagate. */
  async peek(): Promise<LeaseRowView | undefined> {
    await this.#ensureTable();
    const current = await this.#read();
    if (!current) return undefined;
    const { ownerId, leaseUntilEpochMs, sharedTokenRefreshAtEpochMs } = current.row;
    return {
      ownerId,
      leaseUntilEpochMs,
      ...(sharedTokenRefreshAtEpochMs !== undefined ? { sharedTokenRefreshAtEpochMs } : {}),
    };
  }

  /** Pushes the end of a held lease to now + duration (If-Match). Throws {@link TokenLeaseError} if it was lost. */
  async extend(lease: HeldLease): Promise<HeldLease> {
    const leaseUntilEpochMs = this.#o.deps.nowMs() + this.#o.durationMs;
    try {
      const row = leaseRow(this.#o.ownerId, leaseUntilEpochMs, lease.sharedTokenRefreshAtEpochMs);
      const updated = await this.#o.table.updateEntity(row, 'Replace', { etag: lease.etag });
      return { ...lease, etag: requireEtag(updated.etag), leaseUntilEpochMs };
    } catch (thrown) {
      throw new TokenLeaseError(
        statusOf(thrown) === 412
          ? 'The token lease was taken over by another instance'
          : `Could not extend the token lease (${describe(thrown)})`,
        { operation: 'extend', cause: sanitize(thrown) },
      );
    }
  }

  /**
   * Frees a held lease (leaseUntilEpochMs = 0, If-Match), recording `sharedTokenRefreshAtEpochMs` when
   * given (else keeping the claimed value). Never throws: an unreleased lease expires by itself.
   */
  async release(lease: HeldLease, options: { sharedTokenRefreshAtEpochMs?: number } = {}): Promise<void> {
    try {
      await this.#o.table.updateEntity(
        leaseRow(this.#o.ownerId, 0, options.sharedTokenRefreshAtEpochMs ?? lease.sharedTokenRefreshAtEpochMs),
        'Replace',
        { etag: lease.etag },
      );
    } catch (thrown) {
      const lost = statusOf(thrown) === 412;
      this.#o.logger.warn(
        lost
          ? 'Token lease was taken over before release (it had expired)'
          : 'Could not release the token lease; it expires by itself',
        {
          leaseUntilEpochMs: lease.leaseUntilEpochMs,
          reason: describe(thrown),
        },
      );
    }
  }

  async #read(): Promise<{ row: LeaseRow; etag: string } | undefined> {
    try {
      const entity = await this.#o.table.getEntity<{
        ownerId?: unknown;
        leaseUntilEpochMs?: unknown;
        sharedTokenRefreshAtEpochMs?: unknown;
      }>(TOKEN_LEASE_KEYS.partitionKey, TOKEN_LEASE_KEYS.rowKey);
      const leaseUntilEpochMs = Number(entity.leaseUntilEpochMs ?? 0);
      const shared = Number(entity.sharedTokenRefreshAtEpochMs);
      return {
        row: leaseRow(
          typeof entity.ownerId === 'string' ? entity.ownerId : '',
          Number.isFinite(leaseUntilEpochMs) ? leaseUntilEpochMs : 0,
          entity.sharedTokenRefreshAtEpochMs !== undefined && Number.isFinite(shared) ? shared : undefined,
        ),
        etag: requireEtag(entity.etag),
      };
    } catch (thrown) {
      if (statusOf(thrown) === 404) return undefined;
      throw thrown;
    }
  }

  /** Creates the table once per process (409 TableAlreadyExists is fine); a failure is retried at the next acquire. */
  #ensureTable(): Promise<void> {
    this.#tableReady ??= this.#o.table.createTable().catch((thrown: unknown) => {
      if (statusOf(thrown) === 409) return;
      this.#tableReady = undefined;
      throw new TokenLeaseError(`Could not create the lease table (${describe(thrown)})`, {
        operation: 'createTable',
        cause: sanitize(thrown),
      });
    });
    return this.#tableReady;
  }
}

function requireEtag(etag: string | undefined): string {
  if (!etag) throw new TokenLeaseError('Table Storage answered without an ETag', { operation: 'claim' });
  return etag;
}

/** The HTTP status of a Table Storage failure (the SDK's RestError); undefined for anything else. */
function statusOf(thrown: unknown): number | undefined {
  return isRestError(thrown) ? thrown.statusCode : undefined;
}

function describe(thrown: unknown): string {
  if (!isRestError(thrown)) return thrown instanceof Error ? thrown.name : 'Error';
  return [thrown.name, thrown.statusCode, thrown.code].filter((part) => part !== undefined).join(' ');
}

function sanitize(thrown: unknown): Error {
  return Object.assign(new Error(describe(thrown)), { statusCode: statusOf(thrown) });
}
