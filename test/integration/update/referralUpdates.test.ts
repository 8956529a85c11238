/**
 * The update use case on Table Storage (Azurite) and the Partner Center simulator: change entities beside
 * their record in one partition, exactly once under concurrency, large changes chunked, the sweeper's
 * query of stuck changes, and records' own queries never seeing change rows.
 */
import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { startAzurite, type RunningAzurite } from '../../../sandbox/azurite';
import { startPartnerCenter, type RunningPartnerCenter } from '../../../sandbox/partner-center/server';
import { PartnerCenterClient } from '../../../shared/partner-center';
import { createLogger, silentSink } from '../../../shared/platform/logging';
import { TrackingStore } from '../../../shared/tracking/trackingStore';
import { ChangeState } from '../../../shared/update/changeRecord';
import { ChangeSweep } from '../../../shared/update/changeSweep';
import { ReferralUpdates } from '../../../shared/update/referralUpdates';
import { TableChangeStore } from '../../../shared/update/tableChangeStore';
import { ReferralWorkflow } from '../../../shared/workflow/referralWorkflow';
import { example, uniqueDeal } from '../../helpers/examples';

let azurite: RunningAzurite;
let simulator: RunningPartnerCenter;
let table: TableClient;
let records: TrackingStore;
let changes: TableChangeStore;
let client: PartnerCenterClient;
const queued: Array<{ trackingId: string; changeId: string }> = [];
const logger = createLogger({ sink: silentSink });

beforeAll(async () => {
  azurite = await startAzurite({ inMemory: true, quiet: true });
  simulator = await startPartnerCenter({ auth: false, seed: 3 });
  table = TableClient.fromConnectionString(azurite.connectionString, 'updatetest', { allowInsecureConnection: true });
  records = new TrackingStore({ table });
  changes = new TableChangeStore({ table });
  client = new PartnerCenterClient({
    baseUrl: simulator.url,
    tokens: { getAccessToken: async () => 't' },
    maxAttempts: 1,
  });
}, 60_000);
afterAll(async () => {
  await simulator?.close();
  await azurite?.stop();
});

const updates = (nowMs: () => number = Date.now) =>
  new ReferralUpdates({
    records,
    changes,
    partnerCenter: client,
    queue: { send: async (message) => void queued.push(message) },
    lease: { instanceId: randomUUID(), leaseDurationMs: 60_000, nowMs },
    logger,
  });

const deal = async () => {
  const workflow = new ReferralWorkflow({
    store: records,
    partnerCenter: client,
    submitQueue: { send: async () => undefined },
    linkQueue: { send: async () => undefined },
    logger,
  });
  const outcome = await workflow.submit({
    body: uniqueDeal(example('partner-led-deal.json'), randomUUID()),
    source: 'http',
  });
  if (outcome.kind !== 'tracked') throw new Error(outcome.kind);
  return outcome.record;
};
const referral = (id?: string): any => simulator.referrals().find((r) => r.id === id);

describe('changes on Table Storage', () => {
  it('applies a change and keeps its entity in the record’s partition, final and purged of its contents', async () => {
    const record = await deal();
    const outcome = await updates().change({
      trackingId: record.trackingId,
      body: { status: 'Active', team: [{ email: 'table.member@partner.example.com' }] },
      idempotencyKey: 'table-1',
      source: 'http',
      timeBudgetMs: 10_000,
    });
    expect(outcome).toMatchObject({ kind: 'answered', status: 200 });
    const rows: any[] = [];
    for await (const row of table.listEntities({ queryOptions: { filter: `PartitionKey eq '${record.trackingId}'` } }))
      rows.push(row);
    expect(rows.map((row) => String(row.rowKey).replace(/[0-9a-f]{32}$/, '<id>')).sort()).toEqual([
      'change-<id>',
      'record',
    ]);
    const change = rows.find((row) => row.rowKey !== 'record');
    expect(change).toMatchObject({ state: ChangeState.Applied });
    expect(change.changesChunks).toBeUndefined();
    expect((await records.read(record.trackingId))?.partnerCenter).toMatchObject({
      status: 'Active',
      substatus: 'Accepted',
    });
  });

  it('changes once for 10 concurrent identical requests from two instances, with a change larger than one table property (chunked)', async () => {
    const record = await deal();
    const notes = 'n'.repeat(3_900);
    const team = Array.from({ length: 50 }, (_, i) => ({
      firstName: 'f'.repeat(200),
      lastName: 'l'.repeat(200),
      email: `m${i}@partner.example.com`,
    }));
    const [a, b] = [updates(), updates()];
    const before = simulator.stats().calls.patch?.['200'] ?? 0;
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).change({
          trackingId: record.trackingId,
          body: { details: { notes }, team },
          idempotencyKey: 'big-1',
          source: 'http',
          timeBudgetMs: 10_000,
        }),
      ),
    );
    expect(outcomes.every((o) => o.kind === 'answered' || o.kind === 'pending')).toBe(true);
    expect((simulator.stats().calls.patch?.['200'] ?? 0) - before).toBe(1);
    expect(referral(record.partnerReferralId).team).toHaveLength(51);
  });

  it('finds a stuck change for the sweeper, while the records’ sweep query never sees change rows', async () => {
    const record = await deal();
    let clockMs = Date.now();
    simulator.setFaults({ serverErrors: { probability: 1, operations: ['get'] } });
    const stuck = await updates(() => clockMs).change({
      trackingId: record.trackingId,
      body: { name: 'stuck' },
      source: 'queue',
      messageKey: 'stuck-1',
    });
    simulator.clearFaults();
    expect(stuck).toMatchObject({ kind: 'pending' });
    queued.length = 0;
    clockMs += 5_000;
    const requeued = await new ChangeSweep({
      changes,
      queue: { send: async (m) => void queued.push(m) },
      logger,
    }).sweep(Date.now() + 10_000, 100);
    expect(requeued).toBeGreaterThanOrEqual(1);
    expect(queued.map((m) => m.trackingId)).toContain(record.trackingId);
    // The records' sweep reads the open-work index: a Completed record whose change is stuck is not open work
    // of its own (the change sweep above owns it), and no change row ever comes back as a record.
    const listed: Array<{ trackingId: string; state: string }> = [];
    for await (const found of records.listOpen()) listed.push(found);
    expect(listed.filter((found) => found.trackingId === record.trackingId)).toHaveLength(0);
    expect(listed.every((found) => /^r[0-9a-f]{31}$/.test(found.trackingId) && typeof found.state === 'string')).toBe(
      true,
    );
    const resumed = await updates().resume(
      record.trackingId,
      queued.find((m) => m.trackingId === record.trackingId)!.changeId,
    );
    expect(resumed).toMatchObject({ kind: 'answered', status: 200 });
    expect(referral(record.partnerReferralId).name).toBe('stuck');
  });
});
