/**
 * The in-memory tracking store keeps the TrackingRecords contract (the same suite runs against the Table
 * store on Azurite), and its fault injection does what the workflow's unit tests rely on.
 */
import { InMemoryTrackingRecords } from '../../../shared/tracking/inMemoryTrackingRecords';
import { TrackingStorageError } from '../../../shared/tracking/errors';
import { describeTrackingRecordsContract, newRecord } from '../../helpers/trackingRecordsContract';

describeTrackingRecordsContract('in memory', async () => {
  let clockMs = 1_700_000_000_000;
  const records = new InMemoryTrackingRecords({ nowMs: () => clockMs });
  return {
    records,
    advanceClockMs: (ms) => (clockMs += ms),
    nowMs: () => clockMs,
    loseNextAnswer: (operation) => records.injectFault({ kind: 'lostAnswerRetried', operation }),
  };
});

describe('InMemoryTrackingRecords faults', () => {
  it('fails an operation as unavailable before anything is stored', async () => {
    const records = new InMemoryTrackingRecords();
    const record = newRecord();
    records.injectFault({ kind: 'unavailable', operation: 'insert' });
    await expect(records.create(record)).rejects.toBeInstanceOf(TrackingStorageError);
    expect(await records.read(record.trackingId)).toBeUndefined();
  });

  it('stores a write whose answer is lost without a retry, and the caller sees a retryable failure', async () => {
    const records = new InMemoryTrackingRecords();
    const created = await records.create(newRecord());
    if (!created.created) throw new Error('not created');
    records.injectFault({ kind: 'lostAnswer', operation: 'replace' });
    await expect(records.update(created.record, { state: 'CreatingPartner' })).rejects.toMatchObject({
      retryable: true,
    });
    expect((await records.read(created.record.trackingId))?.state).toBe('CreatingPartner');
  });

  it('runs an interleaved write of another worker between a read and the next write', async () => {
    const records = new InMemoryTrackingRecords();
    const created = await records.create(newRecord());
    if (!created.created) throw new Error('not created');
    records.injectFault({
      kind: 'interleave',
      operation: 'replace',
      run: async () => void (await records.update(created.record, { leaseOwner: 'other' })),
    });
    await expect(records.update(created.record, { leaseOwner: 'me' })).rejects.toMatchObject({
      name: 'TrackingConflictError',
    });
    expect((await records.read(created.record.trackingId))?.leaseOwner).toBe('other');
    expect(records.pendingFaults()).toBe(0);
  });

  it('hands out copies: changing a returned record changes nothing stored', async () => {
    const records = new InMemoryTrackingRecords();
    const created = await records.create(newRecord());
    if (!created.created) throw new Error('not created');
    const read = (await records.read(created.record.trackingId))!;
    read.state = 'Linked';
    expect((await records.read(created.record.trackingId))?.state).toBe('Received');
  });
});
