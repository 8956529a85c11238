/**
 * The open-work index and retention on the in-memory store (the same ConditionalTrackingRecords logic
 * runs over the Table rows): crashes between the record's write and the index's, races with the sweeper's
 * tidy-up, and a property test that every record with open work always has an entry.
 */
import fc from 'fast-check';
import { InMemoryTrackingRecords } from '../../../shared/tracking/inMemoryTrackingRecords';
import {
  DAY_MS,
  DEFAULT_ORPHAN_GRACE_MS,
  FINAL_PARTITION_PREFIX,
  isOpenEntryKey,
  isOpenWork,
  trackingIdOfOpenRowKey,
  INDEX_SHARDS,
} from '../../../shared/tracking/openWork';
import type { TrackingRecord } from '../../../shared/tracking/trackingRecord';
import { newRecord } from '../../helpers/trackingRecordsContract';

const START_MS = 1_800_000_000_000;

function world(): { records: InMemoryTrackingRecords; clock: { ms: number } } {
  const clock = { ms: START_MS };
  return { records: new InMemoryTrackingRecords({ nowMs: () => clock.ms }), clock };
}

async function listed(records: InMemoryTrackingRecords): Promise<string[]> {
  const ids: string[] = [];
  for await (const record of records.listOpen()) ids.push(record.trackingId);
  return ids;
}

/** Open-work entries wherever they are: a create's in its creation day's partition, the others in `open-*`. */
const openEntries = (records: InMemoryTrackingRecords) => records.indexRows().filter((row) => isOpenEntryKey(row));
const openEntryIds = (records: InMemoryTrackingRecords) =>
  openEntries(records).map((row) => trackingIdOfOpenRowKey(row.rowKey));
const finalEntryIds = (records: InMemoryTrackingRecords) =>
  records
    .indexRows()
    .filter((row) => row.partition.startsWith(FINAL_PARTITION_PREFIX))
    .map((row) => row.rowKey);

async function created(records: InMemoryTrackingRecords, overrides: Parameters<typeof newRecord>[0] = {}) {
  const result = await records.create(newRecord(overrides));
  if (!result.created) throw new Error('not created');
  return result.record;
}

describe('the open-work index', () => {
  it('writes the entry before the record: a crash before the insert leaves an orphan entry, removed after the grace', async () => {
    const { records, clock } = world();
    const record = newRecord({ state: 'CreatingPartner' });
    records.injectFault({ kind: 'unavailable', operation: 'insert' });
    await expect(records.create(record)).rejects.toMatchObject({ retryable: true });
    expect(openEntryIds(records)).toEqual([record.trackingId]);
    expect(await listed(records)).toEqual([]);
    expect(openEntryIds(records)).toEqual([record.trackingId]); // may be an insert still in flight
    clock.ms += DEFAULT_ORPHAN_GRACE_MS + 1;
    expect(await listed(records)).toEqual([]);
    expect(openEntries(records)).toEqual([]);
  });

  it('leaves neither entry nor record when the entry write itself fails', async () => {
    const { records } = world();
    const record = newRecord();
    records.injectFault({ kind: 'unavailable', operation: 'indexWrite' });
    await expect(records.create(record)).rejects.toMatchObject({ retryable: true });
    expect(records.indexRows()).toEqual([]);
    expect(await records.read(record.trackingId)).toBeUndefined();
  });

  it('costs one index write per record that enters the open set, and none for writes inside it', async () => {
    const { records } = world();
    const before = records.stats();
    const record = await created(records, { state: 'CreatingPartner' });
    const linking = await records.update(record, { state: 'CreatingMicrosoft', engagementId: 'e' });
    await records.update(linking, { state: 'Linked', request: undefined });
    const after = records.stats();
    expect(after.indexRequests - before.indexRequests).toBe(1);
    expect(after.writes - before.writes).toBe(3);
  });

  it('keeps the entry of a closed record until listOpen, which files it for retention first and then removes it', async () => {
    const { records } = world();
    const record = await created(records, { state: 'CreatingPartner' });
    await records.update(record, { state: 'Completed', request: undefined });
    expect(openEntryIds(records)).toEqual([record.trackingId]); // the closing write did not touch the index
    records.injectFault({ kind: 'unavailable', operation: 'indexDelete' }); // crash between the two index writes
    await expect(listed(records)).rejects.toMatchObject({ retryable: true });
    expect(finalEntryIds(records)).toEqual([record.trackingId]);
    expect(openEntryIds(records)).toEqual([record.trackingId]);
    expect(await listed(records)).toEqual([]);
    expect(openEntryIds(records)).toEqual([]);
    expect(finalEntryIds(records)).toEqual([record.trackingId]);
  });

  it('reads only the index partitions and the records they name', async () => {
    const { records } = world();
    for (let i = 0; i < 20; i++) {
      const record = await created(records, { state: 'CreatingPartner' });
      await records.update(record, { state: 'Completed', request: undefined });
    }
    await listed(records); // tidies the 20 closed entries away
    const open = await Promise.all(Array.from({ length: 5 }, () => created(records, { state: 'LinkQueued' })));
    const before = records.stats();
    expect((await listed(records)).sort()).toEqual(open.map((r) => r.trackingId).sort());
    const after = records.stats();
    expect(after.reads - before.reads).toBe(5);
    // The sweeper's cursor (1), the two creation days not settled yet (yesterday, today: one range query
    // per shard, 8 each), one query per open-* partition (8): the same whatever the history.
    expect(after.indexRequests - before.indexRequests).toBe(1 + 2 * INDEX_SHARDS + INDEX_SHARDS);
  });

  it('keeps the entry written by a reopening update while that update may still land', async () => {
    const { records } = world();
    let record = await created(records, {
      state: 'CreatingPartner',
      callbackUrl: 'https://h.test',
      callbackState: 'pending',
    });
    record = await records.update(record, { state: 'Completed', request: undefined, callbackState: 'delivered' });
    await listed(records);
    expect(openEntryIds(records)).toEqual([]);
    // The sweeper tidies the index between the reopening update's entry write and its record write.
    records.injectFault({ kind: 'interleave', operation: 'replace', run: async () => void (await listed(records)) });
    await records.update(record, { callbackState: 'pending' });
    expect(openEntryIds(records)).toEqual([record.trackingId]);
    expect(await listed(records)).toEqual([record.trackingId]);
  });

  it('gives a record a fresh entry when its insert lands after the grace (the sweeper took the entry for an orphan)', async () => {
    const { records, clock } = world();
    const record = newRecord({ state: 'CreatingPartner' });
    records.injectFault({
      kind: 'interleave',
      operation: 'insert',
      run: async () => {
        clock.ms += DEFAULT_ORPHAN_GRACE_MS + 1;
        await listed(records); // the record is not there yet: its entry goes
        expect(openEntries(records)).toEqual([]);
      },
    });
    await records.create(record);
    expect(await listed(records)).toEqual([record.trackingId]);
  });

  it('lists a record once although a replay gave it a second entry', async () => {
    const { records } = world();
    const record = newRecord({ state: 'LinkQueued' });
    await records.create(record);
    await records.create(record); // a replay of the same request
    expect(openEntries(records)).toHaveLength(2);
    expect(await listed(records)).toEqual([record.trackingId]);
  });

  it('moves the entries of a settled creation day into the open-* partitions, then reads only the days not settled', async () => {
    const { records, clock } = world();
    const parked = await created(records, { state: 'AwaitingReauthorization', parkedFrom: 'CreatingPartner' });
    const done = await created(records, { state: 'CreatingPartner' });
    await records.update(done, { state: 'Completed', request: undefined });
    clock.ms += 3 * DAY_MS;
    records.injectFault({ kind: 'unavailable', operation: 'indexDelete' }); // crash after the new entries
    await expect(listed(records)).rejects.toMatchObject({ retryable: true });
    expect(openEntryIds(records).filter((id) => id === parked.trackingId).length).toBeGreaterThanOrEqual(1);
    expect(await listed(records)).toEqual([parked.trackingId]);
    expect(openEntries(records).map((row) => row.partition.startsWith('open-'))).toEqual([true]);
    expect(finalEntryIds(records)).toEqual([done.trackingId]);
    // A year later, with the parked record still open: a sweep reads the same few partitions.
    for (let day = 0; day < 365; day++) {
      clock.ms += DAY_MS;
      await created(records, { state: 'Rejected' });
    }
    await listed(records);
    const before = records.stats();
    expect(await listed(records)).toEqual([parked.trackingId]);
    expect(records.stats().indexRequests - before.indexRequests).toBe(1 + 2 * INDEX_SHARDS + INDEX_SHARDS);
  });

  type Step =
    | { kind: 'create'; open: boolean; crash: 'none' | 'beforeEntry' | 'beforeRecord' }
    | { kind: 'advance'; pick: number; crash: boolean }
    | { kind: 'reopen'; pick: number; crash: boolean }
    | { kind: 'sweep'; crash: boolean }
    | { kind: 'wait'; ms: number }
    | { kind: 'days'; days: number };

  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      kind: fc.constant('create' as const),
      open: fc.boolean(),
      crash: fc.constantFrom('none' as const, 'none' as const, 'beforeEntry' as const, 'beforeRecord' as const),
    }),
    fc.record({ kind: fc.constant('advance' as const), pick: fc.nat(), crash: fc.boolean() }),
    fc.record({ kind: fc.constant('reopen' as const), pick: fc.nat(), crash: fc.boolean() }),
    fc.record({ kind: fc.constant('sweep' as const), crash: fc.boolean() }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: DEFAULT_ORPHAN_GRACE_MS }) }),
    // Past midnight, or past a creation day's settling: the sweeper then moves that day's entries.
    fc.record({ kind: fc.constant('days' as const), days: fc.integer({ min: 1, max: 3 }) }),
  );

  /** The next write of a record's life: CreatingPartner → Completed (callback pending) → callback delivered. */
  function nextChanges(record: TrackingRecord): Partial<TrackingRecord> | undefined {
    if (record.state === 'CreatingPartner') return { state: 'Completed', request: undefined };
    if (record.callbackState === 'pending') return { callbackState: 'delivered' };
    return undefined;
  }

  it('always has an entry for every record with open work, whatever crashes; and after a sweep past the grace, only those', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 40 }), async (steps) => {
        const { records, clock } = world();
        const attempt = (run: () => Promise<unknown>) => run().catch(() => undefined);
        for (const step of steps) {
          const all = records.all();
          const picked = all.length ? all[('pick' in step ? step.pick : 0) % all.length] : undefined;
          if (step.kind === 'create') {
            if (step.crash === 'beforeEntry') records.injectFault({ kind: 'unavailable', operation: 'indexWrite' });
            if (step.crash === 'beforeRecord') records.injectFault({ kind: 'unavailable', operation: 'insert' });
            await attempt(() =>
              records.create(
                newRecord(
                  step.open
                    ? { state: 'CreatingPartner', callbackUrl: 'https://h.test', callbackState: 'pending' }
                    : { state: 'Rejected' },
                ),
              ),
            );
          } else if (step.kind === 'advance' && picked) {
            const changes = nextChanges(picked);
            if (step.crash) records.injectFault({ kind: 'unavailable', operation: 'replace' });
            if (changes) await attempt(() => records.update(picked, changes));
          } else if (step.kind === 'reopen' && picked && !isOpenWork(picked)) {
            if (step.crash) records.injectFault({ kind: 'lostAnswer', operation: 'replace' });
            await attempt(() => records.update(picked, { callbackState: 'pending' }));
          } else if (step.kind === 'sweep') {
            if (step.crash) records.injectFault({ kind: 'unavailable', operation: 'indexDelete' });
            await attempt(() => listed(records));
          } else if (step.kind === 'wait') {
            clock.ms += step.ms;
          } else if (step.kind === 'days') {
            clock.ms += step.days * DAY_MS;
          }
          records.clearFaults(); // a fault the step did not meet must not hit the next one
          const indexed = new Set(openEntryIds(records));
          for (const record of records.all()) if (isOpenWork(record)) expect(indexed).toContain(record.trackingId);
        }
        clock.ms += DEFAULT_ORPHAN_GRACE_MS + 1;
        const open = (await listed(records)).sort();
        const expected = records
          .all()
          .filter(isOpenWork)
          .map((r) => r.trackingId)
          .sort();
        expect(open).toEqual(expected);
        expect([...new Set(openEntryIds(records))].sort()).toEqual(expected);
        const filed = new Set(finalEntryIds(records));
        for (const record of records.all()) if (!isOpenWork(record)) expect(filed).toContain(record.trackingId);
      }),
      { numRuns: 150 },
    );
  });
});

describe('rebuildIndexes (records written before the indexes)', () => {
  it('gives the sweeper back every open record and retention every closed one, once', async () => {
    const { records, clock } = world();
    const parked = await created(records, { state: 'AwaitingReauthorization', parkedFrom: 'Received' });
    const closed = await created(records, { state: 'Rejected', partnerReferralId: 'P-1' });
    await listed(records);
    await records.purgeClosedBefore(clock.ms - 400 * DAY_MS); // the retention cursor exists
    records.dropIndexRows(); // as a table written before the indexes
    expect(await listed(records)).toEqual([]);
    const rowsBefore = records.indexRows();
    expect(await records.rebuildIndexes({ dryRun: true })).toMatchObject({ open: 1, openEntriesWritten: 1 });
    expect(records.indexRows()).toEqual(rowsBefore);
    expect(await records.rebuildIndexes()).toEqual({
      records: 2,
      open: 1,
      openEntriesWritten: 1,
      retentionEntriesWritten: 1,
      referralRowsWritten: 1,
    });
    expect(await listed(records)).toEqual([parked.trackingId]);
    expect(await records.findReferral('p-1')).toBe(closed.trackingId);
    expect((await records.rebuildIndexes()).openEntriesWritten).toBe(0);
    clock.ms += 401 * DAY_MS;
    expect(await records.purgeClosedBefore(clock.ms - 400 * DAY_MS)).toMatchObject({ deleted: 1 });
    expect(await records.read(closed.trackingId)).toBeUndefined();
    expect(await records.read(parked.trackingId)).toMatchObject({ state: 'AwaitingReauthorization' });
  });
});

describe('retention', () => {
  it('deletes only closed records last written before the cutoff, refiles one written again, keeps open work', async () => {
    const { records, clock } = world();
    const rejected = await created(records, { state: 'Rejected' });
    const open = await created(records, { state: 'LinkQueued' });
    let touched = await created(records, { state: 'CreatingPartner' });
    touched = await records.update(touched, { state: 'Completed', request: undefined });
    await listed(records); // files `touched` for retention
    clock.ms += 100 * DAY_MS;
    touched = await records.update(touched, { partnerOrganizationName: 'renamed' }); // written again, still closed
    clock.ms += 350 * DAY_MS;
    const report = await records.purgeClosedBefore(clock.ms - 400 * DAY_MS);
    expect(report).toMatchObject({ deleted: 1, refiled: 1, truncated: false });
    expect(await records.read(rejected.trackingId)).toBeUndefined();
    expect(await records.read(open.trackingId)).toMatchObject({ state: 'LinkQueued' });
    expect(await records.read(touched.trackingId)).toMatchObject({ partnerOrganizationName: 'renamed' });
    clock.ms += 100 * DAY_MS;
    expect(await records.purgeClosedBefore(clock.ms - 400 * DAY_MS)).toMatchObject({ deleted: 1 });
    expect(await records.read(touched.trackingId)).toBeUndefined();
    expect(await records.read(open.trackingId)).toMatchObject({ state: 'LinkQueued' });
  });

  it('reads only the expired days: its cost does not depend on how many records are younger', async () => {
    const { records, clock } = world();
    for (let i = 0; i < 3; i++) await created(records, { state: 'Rejected' });
    clock.ms += 30 * DAY_MS;
    for (let i = 0; i < 200; i++) await created(records, { state: 'Rejected' });
    clock.ms += 5 * DAY_MS;
    const before = records.stats();
    const report = await records.purgeClosedBefore(clock.ms - 20 * DAY_MS);
    const after = records.stats();
    expect(report.deleted).toBe(3);
    expect(records.all()).toHaveLength(200);
    // Per day looked at: one listing; per expired record: its partition read and its delete; then the cursor.
    const requests = after.indexRequests - before.indexRequests + (after.reads - before.reads);
    expect(requests).toBeLessThan(3 * 3 + 100);
  });

  it('stops at maxRecords and carries on from the same day next time', async () => {
    const { records, clock } = world();
    for (let i = 0; i < 5; i++) await created(records, { state: 'Rejected' });
    clock.ms += 10 * DAY_MS;
    expect(await records.purgeClosedBefore(clock.ms - DAY_MS, { maxRecords: 3 })).toMatchObject({
      deleted: 3,
      truncated: true,
    });
    expect(await records.purgeClosedBefore(clock.ms - DAY_MS, { maxRecords: 3 })).toMatchObject({
      deleted: 2,
      truncated: false,
    });
    expect(records.all()).toEqual([]);
  });
});
