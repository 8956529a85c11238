/**
 * The retention timer's use case on the in-memory store with an injected clock: TRACKING_RETENTION_DAYS
 * after a closed record's last write, and not a day before, it is deleted; open work never is.
 */
import { createLogger } from '../../../shared/platform/logging';
import { InMemoryTrackingRecords } from '../../../shared/tracking/inMemoryTrackingRecords';
import { DAY_MS } from '../../../shared/tracking/openWork';
import { Retention } from '../../../shared/tracking/retention';
import { newRecord } from '../../helpers/trackingRecordsContract';

describe('Retention', () => {
  const clock = { ms: Date.UTC(2030, 0, 10, 12) };
  const records = new InMemoryTrackingRecords({ nowMs: () => clock.ms });
  const retention = new Retention({
    records,
    retentionDays: 400,
    logger: createLogger({ sink: () => undefined }),
    nowMs: () => clock.ms,
  });

  it('deletes a closed record once it is older than the retention, and keeps records with open work', async () => {
    const closed = newRecord({ state: 'Rejected' });
    const open = newRecord({ state: 'LinkQueued' });
    await records.create(closed);
    await records.create(open);
    clock.ms += 399 * DAY_MS;
    expect(await retention.run()).toMatchObject({ deleted: 0 });
    expect(await records.read(closed.trackingId)).toBeDefined();
    clock.ms += 2 * DAY_MS;
    const report = await retention.run();
    expect(report).toMatchObject({ deleted: 1, truncated: false });
    expect(report.cutoffEpochMs).toBe(clock.ms - 400 * DAY_MS);
    expect(await records.read(closed.trackingId)).toBeUndefined();
    expect(await records.read(open.trackingId)).toMatchObject({ state: 'LinkQueued' });
  });
});
