import { TableClient } from '@azure/data-tables';
import { startAzurite, type RunningAzurite } from '../../../sandbox/azurite';
import { TrackingStore } from '../../../shared/tracking/trackingStore';
import { TrackingConflictError, InvalidTransitionError } from '../../../shared/tracking/errors';
import type { TrackingRecord } from '../../../shared/tracking/trackingRecord';

let azurite: RunningAzurite;
let store: TrackingStore;
let clockMs = 1_700_000_000_000;

beforeAll(async () => {
  azurite = await startAzurite({ inMemory: true, quiet: true });
  const table = TableClient.fromConnectionString(azurite.connectionString, 'trackingtest', {
    allowInsecureConnection: true,
  });
  store = new TrackingStore({ table, nowMs: () => clockMs });
});
afterAll(async () => azurite?.stop());

let counter = 0;
const newRecord = (overrides: Partial<TrackingRecord> = {}) => ({
  trackingId: `r${(++counter).toString(16).padStart(31, '0')}`,
  state: 'Received' as const,
  dealType: 'CoSell',
  source: 'http' as const,
  keySource: 'header' as const,
  requestHash: 'h1',
  attempts: 0,
  // A partial request (only its size matters here), typed as the record's request.
  request: {
    referral: { name: 'Deal', notes: 'x'.repeat(70_000) },
    dealType: 'CoSell',
  } as unknown as TrackingRecord['request'],
  ...overrides,
});

describe('TrackingStore (Azurite)', () => {
  it('creates a record once and returns the existing one for the same trackingId', async () => {
    const record = newRecord();
    const first = await store.create(record);
    const second = await store.create({ ...record, requestHash: 'other' });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    if (!second.created) expect(second.existing.requestHash).toBe('h1');
  });

  it('keeps a request larger than one table property (chunked) intact', async () => {
    const record = newRecord();
    await store.create(record);
    const read = await store.read(record.trackingId);
    expect(read?.request).toEqual(record.request);
  });

  it('lets exactly one of two concurrent creates of the same id win', async () => {
    const record = newRecord();
    const results = await Promise.all(Array.from({ length: 10 }, () => store.create(record)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('writes a change only with the etag of the read that decided it', async () => {
    const record = newRecord();
    const { created } = await store.create(record);
    expect(created).toBe(true);
    const read = (await store.read(record.trackingId))!;
    const moved = await store.update(read, { state: 'CreatingPartner', attempts: 1 });
    expect(moved.state).toBe('CreatingPartner');
    await expect(store.update(read, { state: 'Rejected' })).rejects.toBeInstanceOf(TrackingConflictError);
    expect((await store.read(record.trackingId))?.state).toBe('CreatingPartner');
  });

  it('refuses a transition the state machine does not allow', async () => {
    const record = newRecord();
    await store.create(record);
    const read = (await store.read(record.trackingId))!;
    await expect(store.update(read, { state: 'Linked' })).rejects.toBeInstanceOf(InvalidTransitionError);
  });

  it('purges the request when asked and keeps the ids and error', async () => {
    const record = newRecord();
    await store.create(record);
    let read = (await store.read(record.trackingId))!;
    read = await store.update(read, { state: 'CreatingPartner' });
    await store.update(read, {
      state: 'Rejected',
      request: undefined,
      lastError: { step: 'partner', status: 400, code: 'invalidRequest', message: 'bad' },
    });
    const final = (await store.read(record.trackingId))!;
    expect(final.request).toBeUndefined();
    expect(final.lastError).toEqual({ step: 'partner', status: 400, code: 'invalidRequest', message: 'bad' });
  });

  it('lists open records not updated since a time, from the open-work index', async () => {
    clockMs += 1_000_000;
    const stale = newRecord();
    await store.create(stale);
    clockMs += 60_000;
    const fresh = newRecord();
    await store.create(fresh);
    const found: string[] = [];
    for await (const r of store.listOpen({ updatedBeforeEpochMs: clockMs - 30_000 })) found.push(r.trackingId);
    expect(found).toContain(stale.trackingId);
    expect(found).not.toContain(fresh.trackingId);
  });
});
