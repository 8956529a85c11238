/**
 * The contract of the `TrackingRecords` port, as one suite run against every implementation: the
 * in-memory store (test/unit/tracking) and the Table store on Azurite (test/integration/tracking).
 * `describeTrackingRecordsContract(name, harness)` registers the tests; the harness gives a store, a
 * clock and a way to lose the answer of the next write (the transport then retries it, as the Azure SDK
 * does).
 */
import { randomBytes } from 'node:crypto';
import { InvalidTransitionError, TrackingConflictError } from '../../shared/tracking/errors';
import type { NewTrackingRecord, TrackingRecord } from '../../shared/tracking/trackingRecord';
import type { TrackingRecords } from '../../shared/tracking/trackingRecords';

/** What an implementation gives the contract suite. */
export interface ContractHarness {
  records: TrackingRecords;
  /** Moves the store's clock forward. */
  advanceClockMs(ms: number): void;
  /** The clock's current time. */
  nowMs(): number;
  /** The next `insert` / `replace` is applied, its answer is lost, and the transport sends it again. */
  loseNextAnswer(operation: 'insert' | 'replace'): void;
}

const RUN_PREFIX = randomBytes(12).toString('hex').slice(0, 23);
let counter = 0;

/** A new record with a fresh trackingId (a large request: the Table store splits it into chunks). */
export function newRecord(overrides: Partial<NewTrackingRecord> = {}): NewTrackingRecord {
  counter += 1;
  return {
    trackingId: `r${RUN_PREFIX}${counter.toString(16).padStart(8, '0')}`,
    state: 'Received',
    dealType: 'CoSell',
    source: 'http',
    keySource: 'header',
    requestHash: 'h1',
    attempts: 0,
    request: {
      dealType: 'CoSell',
      referral: { name: 'Deal', details: { notes: 'x'.repeat(70_000) } },
      coSell: { notes: 'help', assistanceRequestCode: 'Other' },
    } as unknown as TrackingRecord['request'],
    ...overrides,
  };
}

async function collect(iterable: AsyncIterable<TrackingRecord>): Promise<string[]> {
  const ids: string[] = [];
  for await (const record of iterable) ids.push(record.trackingId);
  return ids;
}

/** Registers the contract tests for the implementation `setup` resolves to (called in beforeAll). */
export function describeTrackingRecordsContract(name: string, setup: () => Promise<ContractHarness>): void {
  describe(`TrackingRecords contract: ${name}`, () => {
    let h: ContractHarness;
    beforeAll(async () => {
      h = await setup();
    }, 60_000);

    it('inserts a record once and answers the stored one for the same trackingId', async () => {
      const record = newRecord();
      const first = await h.records.create(record);
      const second = await h.records.create({ ...record, requestHash: 'other' });
      expect(first.created).toBe(true);
      expect(second).toMatchObject({ created: false, existing: { trackingId: record.trackingId, requestHash: 'h1' } });
    });

    it('lets exactly one of ten concurrent inserts of the same trackingId win', async () => {
      const record = newRecord();
      const results = await Promise.all(Array.from({ length: 10 }, () => h.records.create(record)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
    });

    it('reads back every field it wrote, the request intact, with an ETag', async () => {
      const record = newRecord({
        lastError: { step: 'partner', status: 429, code: 'throttled', message: 'slow down' },
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        callbackUrl: 'https://example.test/hook',
        callbackState: 'pending',
        callbackBaseUrl: 'https://bridge.example.test',
        leaseOwner: 'me',
        leaseUntilEpochMs: h.nowMs() + 1000,
      });
      const created = await h.records.create(record);
      const read = await h.records.read(record.trackingId);
      expect(read).toMatchObject({ ...record, createdAtEpochMs: h.nowMs(), updatedAtEpochMs: h.nowMs() });
      expect(read?.etag).toEqual(expect.any(String));
      if (created.created) expect(read?.etag).toBe(created.record.etag);
    });

    it('answers undefined for a trackingId it does not hold', async () => {
      expect(await h.records.read(newRecord().trackingId)).toBeUndefined();
    });

    it('writes a change only with the ETag of the read that decided it (412 on a stale one, nothing changed)', async () => {
      const record = newRecord();
      const created = await h.records.create(record);
      if (!created.created) throw new Error('not created');
      const moved = await h.records.update(created.record, { state: 'CreatingPartner', attempts: 1 });
      expect(moved.etag).not.toBe(created.record.etag);
      await expect(h.records.update(created.record, { state: 'Rejected' })).rejects.toBeInstanceOf(
        TrackingConflictError,
      );
      expect(await h.records.read(record.trackingId)).toMatchObject({ state: 'CreatingPartner', attempts: 1 });
    });

    it('chains writes on the ETags it returns, with no read in between', async () => {
      const created = await h.records.create(newRecord());
      if (!created.created) throw new Error('not created');
      let record = await h.records.update(created.record, { state: 'CreatingPartner' });
      record = await h.records.update(record, { state: 'LinkQueued', engagementId: 'e1' });
      record = await h.records.update(record, { state: 'CreatingMicrosoft' });
      expect((await h.records.read(record.trackingId))?.etag).toBe(record.etag);
    });

    it('lets one of two writers holding the same ETag win', async () => {
      const created = await h.records.create(newRecord());
      if (!created.created) throw new Error('not created');
      const results = await Promise.allSettled([
        h.records.update(created.record, { state: 'CreatingPartner', leaseOwner: 'a' }),
        h.records.update(created.record, { state: 'CreatingPartner', leaseOwner: 'b' }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected');
      expect(lost?.status === 'rejected' && lost.reason).toBeInstanceOf(TrackingConflictError);
    });

    it('refuses a transition the state machine does not allow, before writing', async () => {
      const created = await h.records.create(newRecord());
      if (!created.created) throw new Error('not created');
      await expect(h.records.update(created.record, { state: 'Linked' })).rejects.toBeInstanceOf(
        InvalidTransitionError,
      );
      expect((await h.records.read(created.record.trackingId))?.etag).toBe(created.record.etag);
    });

    it('removes fields set to undefined (request purged, lease released) and keeps the rest', async () => {
      const created = await h.records.create(
        newRecord({ state: 'CreatingPartner', leaseOwner: 'me', leaseUntilEpochMs: 5 }),
      );
      if (!created.created) throw new Error('not created');
      const lastError = { step: 'partner' as const, status: 400, code: 'invalidRequest', message: 'bad' };
      await h.records.update(created.record, {
        state: 'Rejected',
        request: undefined,
        leaseOwner: undefined,
        leaseUntilEpochMs: undefined,
        lastError,
      });
      const read = await h.records.read(created.record.trackingId);
      expect(read?.request).toBeUndefined();
      expect(read?.leaseOwner).toBeUndefined();
      expect(read?.leaseUntilEpochMs).toBeUndefined();
      expect(read).toMatchObject({ state: 'Rejected', lastError, dealType: 'CoSell' });
    });

    it('recognises its own update whose answer was lost and retried (writeId), and returns the new ETag', async () => {
      const created = await h.records.create(newRecord());
      if (!created.created) throw new Error('not created');
      h.loseNextAnswer('replace');
      const moved = await h.records.update(created.record, { state: 'CreatingPartner', attempts: 1 });
      expect(moved.state).toBe('CreatingPartner');
      const read = await h.records.read(created.record.trackingId);
      expect(read?.etag).toBe(moved.etag);
      // The ETag it returned is the stored one: the next conditional write goes through.
      await expect(h.records.update(moved, { state: 'Completed' })).resolves.toMatchObject({ state: 'Completed' });
    });

    it('recognises its own insert whose answer was lost and retried (writeId) as created', async () => {
      const record = newRecord();
      h.loseNextAnswer('insert');
      const created = await h.records.create(record);
      expect(created.created).toBe(true);
      if (created.created) expect(created.record.etag).toBe((await h.records.read(record.trackingId))?.etag);
    });

    it("reports a conflict, not success, when the stored row carries another writer's writeId", async () => {
      const created = await h.records.create(newRecord());
      if (!created.created) throw new Error('not created');
      await h.records.update(created.record, { state: 'CreatingPartner', leaseOwner: 'other' });
      h.loseNextAnswer('replace');
      await expect(h.records.update(created.record, { state: 'CreatingPartner' })).rejects.toBeInstanceOf(
        TrackingConflictError,
      );
    });

    it('lists every record with open work once (non-final, callback pending), none that is closed', async () => {
      h.advanceClockMs(10_000_000);
      const open = newRecord({ state: 'LinkQueued' });
      const pendingFinal = newRecord({ state: 'Completed', callbackUrl: 'https://h.test', callbackState: 'pending' });
      const delivered = newRecord({ state: 'Completed', callbackUrl: 'https://h.test', callbackState: 'delivered' });
      const rejected = newRecord({ state: 'Rejected' });
      for (const r of [open, pendingFinal, delivered, rejected]) await h.records.create(r);
      h.advanceClockMs(60_000);
      const fresh = newRecord({ state: 'Received' });
      await h.records.create(fresh);
      const all = await collect(h.records.listOpen());
      expect(all).toEqual(expect.arrayContaining([open.trackingId, pendingFinal.trackingId, fresh.trackingId]));
      expect(all).not.toContain(delivered.trackingId);
      expect(all).not.toContain(rejected.trackingId);
      expect(new Set(all).size).toBe(all.length);
      const stale = await collect(h.records.listOpen({ updatedBeforeEpochMs: h.nowMs() - 30_000 }));
      expect(stale).toEqual(expect.arrayContaining([open.trackingId, pendingFinal.trackingId]));
      expect(stale).not.toContain(fresh.trackingId);
    });

    it('stops listing a record once it is closed (final, callback settled), and lists it again when reopened', async () => {
      const created = await h.records.create(
        newRecord({ state: 'CreatingPartner', callbackUrl: 'https://h.test', callbackState: 'pending' }),
      );
      if (!created.created) throw new Error('not created');
      const id = created.record.trackingId;
      const done = await h.records.update(created.record, { state: 'Completed', request: undefined });
      expect(await collect(h.records.listOpen())).toContain(id); // final, callback still pending
      const settled = await h.records.update(done, { callbackState: 'delivered' });
      expect(await collect(h.records.listOpen())).not.toContain(id);
      expect(await collect(h.records.listOpen())).not.toContain(id); // and the index entry is gone
      await h.records.update(settled, { callbackState: 'pending' });
      expect(await collect(h.records.listOpen())).toContain(id);
    });

    it('deletes closed records last written before the cutoff, and nothing else', async () => {
      const day = 86_400_000;
      const old = await h.records.create(newRecord({ state: 'Rejected' }));
      const oldOpen = await h.records.create(newRecord({ state: 'LinkQueued' }));
      const oldClosed = await h.records.create(newRecord({ state: 'CreatingPartner' }));
      if (!old.created || !oldOpen.created || !oldClosed.created) throw new Error('not created');
      await h.records.update(oldClosed.record, { state: 'Completed', request: undefined });
      await collect(h.records.listOpen()); // files the closed one for retention
      h.advanceClockMs(30 * day);
      const recent = await h.records.create(newRecord({ state: 'Rejected' }));
      if (!recent.created) throw new Error('not created');
      h.advanceClockMs(2 * day);
      const report = await h.records.purgeClosedBefore(h.nowMs() - 10 * day);
      expect(report.deleted).toBeGreaterThanOrEqual(2);
      expect(await h.records.read(old.record.trackingId)).toBeUndefined();
      expect(await h.records.read(oldClosed.record.trackingId)).toBeUndefined();
      expect(await h.records.read(oldOpen.record.trackingId)).toMatchObject({ state: 'LinkQueued' });
      expect(await h.records.read(recent.record.trackingId)).toMatchObject({ state: 'Rejected' });
      // The cursor moved past the expired days: a second run reads nothing and deletes nothing.
      expect(await h.records.purgeClosedBefore(h.nowMs() - 10 * day)).toMatchObject({ deleted: 0 });
    });
  });
}
