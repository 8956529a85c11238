import { TOKEN_LEASE_KEYS, TokenLeaseError } from '../../../shared/auth';
import { TokenLease } from '../../../shared/auth/tokenLease';
import { createLogger, silentSink } from '../../../shared/platform/logging';
import { FakeClock, InMemoryLeaseTable, recordingSleep } from './helpers/authStandIns';

const ROW = `${TOKEN_LEASE_KEYS.partitionKey}|${TOKEN_LEASE_KEYS.rowKey}`;

function lease(table: InMemoryLeaseTable, clock: FakeClock, ownerId: string, onSleep?: (delayMs: number) => void) {
  const { sleep, delays } = recordingSleep(clock, onSleep);
  const tokenLease = new TokenLease({
    table,
    ownerId,
    durationMs: 60_000,
    pollIntervalMs: 250,
    waitMs: 65_000,
    deps: { nowMs: () => clock.nowMs(), sleep, random: () => 0.5 },
    logger: createLogger({ sink: silentSink }),
  });
  return { tokenLease, delays };
}

describe('Class: TokenLease', () => {
  it('claims an absent lease by creating the row with its owner and end time', async () => {
    // Prepare
    const table = new InMemoryLeaseTable();
    const clock = new FakeClock();
    const { tokenLease } = lease(table, clock, 'instance-a');

    // Act
    const held = await tokenLease.acquire();

    // Assess
    expect(table.createTableCalls).toBe(1);
    expect(table.rows.get(ROW)?.entity).toEqual({
      ...TOKEN_LEASE_KEYS,
      ownerId: 'instance-a',
      leaseUntilEpochMs: clock.nowMs() + 60_000,
    });
    expect(held.leaseUntilEpochMs).toBe(clock.nowMs() + 60_000);
  });

  it("carries the shared token's refresh point over every claim and extension, and lets a release set it", async () => {
    // Prepare
    const table = new InMemoryLeaseTable();
    const clock = new FakeClock();
    const a = lease(table, clock, 'instance-a').tokenLease;
    const b = lease(table, clock, 'instance-b').tokenLease;
    const refreshAt = clock.nowMs() + 3_300_000;

    // Act
    await a.release(await a.acquire(), { sharedTokenRefreshAtEpochMs: refreshAt });
    const peeked = await b.peek();
    const heldByB = await b.extend(await b.acquire());
    const rowWhileHeld = { ...table.rows.get(ROW)?.entity };
    await b.release(heldByB);

    // Assess
    expect(peeked).toEqual({ ownerId: 'instance-a', leaseUntilEpochMs: 0, sharedTokenRefreshAtEpochMs: refreshAt });
    expect(heldByB.sharedTokenRefreshAtEpochMs).toBe(refreshAt);
    expect(rowWhileHeld).toMatchObject({ ownerId: 'instance-b', sharedTokenRefreshAtEpochMs: refreshAt });
    expect(table.rows.get(ROW)?.entity).toMatchObject({ leaseUntilEpochMs: 0, sharedTokenRefreshAtEpochMs: refreshAt });
  });

  it('releases by writing leaseUntilEpochMs 0 with the etag of its own last write', async () => {
    // Prepare
    const table = new InMemoryLeaseTable();
    const { tokenLease } = lease(table, new FakeClock(), 'instance-a');
    const held = await tokenLease.acquire();

    // Act
    await tokenLease.release(held);

    // Assess
    expect(table.rows.get(ROW)?.entity.leaseUntilEpochMs).toBe(0);
    expect(table.writes.at(-1)).toMatchObject({ op: 'update', etag: held.etag });
  });

  it('waits while another instance holds the lease and claims it once released', async () => {
    // Prepare: B holds it; A is released from its wait after three polls
    const table = new InMemoryLeaseTable();
    const clock = new FakeClock();
    const b = lease(table, clock, 'instance-b').tokenLease;
    const heldByB = await b.acquire();
    let polls = 0;
    const a = lease(table, clock, 'instance-a', () => {
      if (++polls === 3) void b.release(heldByB);
    });

    // Act
    await a.tokenLease.acquire();

    // Assess
    expect(a.delays.length).toBeGreaterThanOrEqual(3);
    expect(a.delays.every((d) => d >= 125 && d <= 375)).toBe(true); // 250 ms ×0.5–1.5 jitter
    expect(table.rows.get(ROW)?.entity.ownerId).toBe('instance-a');
  });

  it('takes over an expired lease with the ETag it read, never "*"', async () => {
    // Prepare: B claimed and crashed
    const table = new InMemoryLeaseTable();
    const clock = new FakeClock();
    await lease(table, clock, 'instance-b').tokenLease.acquire();
    const readEtag = table.rows.get(ROW)?.etag;
    clock.advanceMs(60_001);

    // Act
    await lease(table, clock, 'instance-a').tokenLease.acquire();

    // Assess
    expect(table.writes.at(-1)).toMatchObject({ op: 'update', etag: readEtag, entity: { ownerId: 'instance-a' } });
  });

  it('gives up with a retryable TokenLeaseError when the holder never lets go within the wait', async () => {
    // Prepare: B's lease is extended forever
    const table = new InMemoryLeaseTable();
    const clock = new FakeClock();
    const b = lease(table, clock, 'instance-b').tokenLease;
    let heldByB = await b.acquire();
    const a = lease(table, clock, 'instance-a', () => {
      void b.extend(heldByB).then((h) => (heldByB = h));
    });

    // Act
    const error = await a.tokenLease.acquire().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TokenLeaseError);
    expect(error).toMatchObject({ retryable: true, heldBy: 'instance-b', operation: 'claim' });
  });

  it('extends a held lease and refuses to extend one that was taken over', async () => {
    // Prepare
    const table = new InMemoryLeaseTable();
    const clock = new FakeClock();
    const a = lease(table, clock, 'instance-a').tokenLease;
    const held = await a.acquire();
    clock.advanceMs(30_000);

    // Act
    const extendedAtMs = clock.nowMs();
    const extended = await a.extend(held);
    clock.advanceMs(60_001);
    await lease(table, clock, 'instance-b').tokenLease.acquire();
    const lost = await a.extend(extended).catch((e: unknown) => e);

    // Assess
    expect(extended.leaseUntilEpochMs).toBe(extendedAtMs + 60_000);
    expect(lost).toMatchObject({ name: 'TokenLeaseError', operation: 'extend' });
  });

  it('lets only one of many simultaneous claimers win each round', async () => {
    // Prepare
    const table = new InMemoryLeaseTable();
    const clock = new FakeClock();
    const owners = Array.from({ length: 8 }, (_, i) => `instance-${i}`);
    const holders: string[] = [];
    let active = 0;
    let maxActive = 0;

    // Act: each claims, "works" across a few event-loop turns, releases
    await Promise.all(
      owners.map(async (owner) => {
        const { tokenLease } = lease(table, clock, owner);
        const held = await tokenLease.acquire();
        active++;
        maxActive = Math.max(maxActive, active);
        holders.push(owner);
        for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
        active--;
        await tokenLease.release(held);
      }),
    );

    // Assess
    expect(maxActive).toBe(1);
    expect(holders.sort()).toEqual([...owners].sort());
  });
});
