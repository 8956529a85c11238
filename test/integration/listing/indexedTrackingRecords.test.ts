/**
 * The referral index against Azurite: an entry is written before each record and after each
 * update, cleans up after a duplicate create, and the list walks day partitions newest first with a
 * cursor, skips orphan entries and never lists a record that does not match. The entries live in the
 * records' table, as deployed: a create's entry is written by the store with its open-work entry in one
 * request.
 */
import { TableClient } from '@azure/data-tables';
import {
  RestError,
  createDefaultHttpClient,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { startAzurite, type RunningAzurite } from '../../../sandbox/azurite';
import { toEntity } from '../../../shared/tracking/tableEntities';
import { TrackingStore } from '../../../shared/tracking/trackingStore';
import type { TrackingRecord } from '../../../shared/tracking/trackingRecord';
import { CreationClock } from '../../../shared/listing/creationClock';
import { IndexedTrackingRecords } from '../../../shared/listing/indexedTrackingRecords';
import { ReferralIndex } from '../../../shared/listing/referralIndex';
import { ReferralLister } from '../../../shared/listing/listReferrals';
import { parseListQuery, type ListQuery } from '../../../shared/listing/listQuery';
import { summarise } from '../../../shared/listing/summary';
import { entryKeysOf, ROW_KEY_PATTERN } from '../../../shared/listing/indexEntry';
import { listEntryRowsOf } from '../../../shared/listing/indexedTrackingRecords';
import { identifyRequest } from '../../../shared/workflow/idempotency';
import { INDEX_SHARDS } from '../../../shared/tracking/openWork';

const DAY_MS = 86_400_000;
let azurite: RunningAzurite;
let nowMs = Date.parse('2025-11-26T12:00:00Z');
let tables = 0;

beforeAll(async () => {
  azurite = await startAzurite({ inMemory: true, quiet: true });
});
afterAll(async () => azurite?.stop());

function setup() {
  const table = (name: string) =>
    TableClient.fromConnectionString(azurite.connectionString, `${name}${++tables}`, { allowInsecureConnection: true });
  const clock = new CreationClock(() => nowMs);
  const recordsTable = table('records');
  const indexTable = recordsTable;
  const index = new ReferralIndex({ table: indexTable });
  const plain = new TrackingStore({
    table: recordsTable,
    nowMs: clock.nowMs,
    companionsOf: listEntryRowsOf,
  });
  const records = new IndexedTrackingRecords({ records: plain, index, clock });
  const lister = new ReferralLister({ index, records, nowMs: () => nowMs });
  return { index, indexTable, plain, records, lister };
}

let counter = 0;
const newRecord = (overrides: Partial<TrackingRecord> = {}) => ({
  trackingId: `r${(++counter).toString(16).padStart(31, '0')}`,
  state: 'CreatingPartner' as const,
  dealType: 'Private',
  source: 'http' as const,
  keySource: 'header' as const,
  requestHash: 'h1',
  attempts: 1,
  request: { referral: { externalReferenceId: `crm-${counter}` } } as unknown as TrackingRecord['request'],
  ...overrides,
});

const query = (text: string): ListQuery => {
  const parsed = parseListQuery(new URLSearchParams(text).entries());
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.invalid));
  return parsed.query;
};
const entitiesOf = async (table: TableClient) => {
  const out: Array<Record<string, unknown>> = [];
  for await (const e of table.listEntities<Record<string, unknown>>())
    if (ROW_KEY_PATTERN.test(String(e.rowKey))) out.push(e); // list entries only (not meta, records, open work)
  return out;
};
const self = (id: string) => `https://app/api/referrals/${id}`;

describe('IndexedTrackingRecords (Azurite)', () => {
  it('writes an entry keyed by the creation instant and updates its projection with each write', async () => {
    const { indexTable, records } = setup();
    const created = await records.create(newRecord());
    if (!created.created) throw new Error('expected a new record');
    expect(created.record.createdAtEpochMs).toBe(nowMs);
    nowMs += 1_000;
    const completed = await records.update(created.record, { state: 'Completed', request: undefined });
    const [entry] = await entitiesOf(indexTable);
    expect(entry).toMatchObject({
      ...entryKeysOf(created.record.createdAtEpochMs, created.record.trackingId),
      state: 'Completed',
      final: true,
      direction: 'outbound',
      externalReferenceId: `crm-${counter}`,
      updatedAtEpochMs: completed.updatedAtEpochMs,
    });
  });

  it('leaves exactly one entry when the same record is created twice', async () => {
    const { indexTable, records } = setup();
    const record = newRecord();
    await records.create(record);
    nowMs += 7;
    const again = await records.create(record);
    expect(again.created).toBe(false);
    expect((await entitiesOf(indexTable)).map((e) => e.trackingId)).toEqual([record.trackingId]);
  });
});

describe('the folded layout (Azurite)', () => {
  /** Refuses the next request `crashBefore` matches, unsent (the process stopped before it). */
  class CrashingHttpClient implements HttpClient {
    readonly #inner = createDefaultHttpClient();
    crashBefore: ((request: PipelineRequest) => boolean) | undefined;
    requests: string[] = [];
    async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      if (this.crashBefore?.(request)) {
        this.crashBefore = undefined;
        throw new RestError('the process stopped here', { code: 'ECONNREFUSED', request });
      }
      this.requests.push(`${request.method} ${new URL(request.url).pathname}`);
      return this.#inner.sendRequest(request);
    }
  }

  function foldedWorld() {
    const httpClient = new CrashingHttpClient();
    const table = TableClient.fromConnectionString(azurite.connectionString, `folded${++tables}`, {
      allowInsecureConnection: true,
      httpClient,
      retryOptions: { maxRetries: 0 },
    });
    const clock = new CreationClock(() => nowMs);
    const index = new ReferralIndex({ table });
    const plain = new TrackingStore({ table, nowMs: clock.nowMs, companionsOf: listEntryRowsOf });
    const records = new IndexedTrackingRecords({ records: plain, index, clock });
    const lister = new ReferralLister({ index, records, nowMs: () => nowMs });
    return { httpClient, table, plain, records, lister };
  }

  it('writes the list entry and the open-work entry in one request before the record, and nothing else', async () => {
    const { httpClient, plain, records } = foldedWorld();
    await records.create(newRecord()); // the table and the firstDay bookkeeping, once per process
    httpClient.requests = [];
    const before = plain.stats();
    const created = await records.create(newRecord());
    if (!created.created) throw new Error('expected a new record');
    expect(httpClient.requests.map((r) => r.replace(/\/devstoreaccount1\//, ''))).toEqual([
      'POST $batch',
      expect.stringMatching(/^POST folded\d+$/),
    ]);
    expect(plain.stats().indexRequests - before.indexRequests).toBe(1);
  });

  it('a crash between that request and the record insert: the list skips the orphan, the sweeper drops its open-work entry after the grace', async () => {
    const { httpClient, table, plain, records, lister } = foldedWorld();
    const record = newRecord();
    httpClient.crashBefore = (request) =>
      request.method === 'POST' &&
      typeof request.body === 'string' &&
      request.body.includes(`"PartitionKey":"${record.trackingId}"`);
    await expect(records.create(record)).rejects.toMatchObject({ retryable: true });
    expect(await plain.read(record.trackingId)).toBeUndefined();
    expect((await entitiesOf(table)).map((e) => e.trackingId)).toEqual([record.trackingId]);
    expect((await lister.list(query('limit=10'), self)).items).toEqual([]);
    const markers = async () => {
      const out: string[] = [];
      for await (const e of table.listEntities({ queryOptions: { filter: `RowKey ge '~o-' and RowKey lt '~o.'` } }))
        out.push(String(e.rowKey));
      return out;
    };
    expect(await markers()).toEqual([`~o-${record.trackingId}`]);
    for await (const _ of plain.listOpen()); // young: may be an insert still in flight
    expect(await markers()).toEqual([`~o-${record.trackingId}`]);
    const grace = 600_001;
    nowMs += grace;
    for await (const _ of plain.listOpen());
    expect(await markers()).toEqual([]);
    nowMs -= grace;
  });

  it('gives a replayed create a second open-work entry (the first key is taken: 409 in the transaction) and one list entry', async () => {
    const { table, plain, records } = foldedWorld();
    const record = newRecord({ state: 'LinkQueued' });
    await records.create(record);
    nowMs += 3;
    expect((await records.create(record)).created).toBe(false);
    const open: string[] = [];
    for await (const r of plain.listOpen()) open.push(r.trackingId);
    expect(open).toEqual([record.trackingId]);
    expect((await entitiesOf(table)).map((e) => e.trackingId)).toEqual([record.trackingId]);
  });

  it('rebuilds the indexes of records written before them: one scan, then the sweeper and the list find them', async () => {
    const { table, plain, records, lister } = foldedWorld();
    await table.createTable();
    const open = {
      ...newRecord({ state: 'LinkQueued' }),
      createdAtEpochMs: nowMs - 90 * DAY_MS,
      updatedAtEpochMs: nowMs - 90 * DAY_MS,
      etag: '',
    };
    const closed = {
      ...newRecord({ state: 'Completed', partnerReferralId: 'pc-old-1' }),
      createdAtEpochMs: nowMs - 80 * DAY_MS,
      updatedAtEpochMs: nowMs - 80 * DAY_MS,
      etag: '',
    };
    for (const r of [open, closed]) await table.createEntity(toEntity(r as TrackingRecord, 'w0'));
    const none: string[] = [];
    for await (const r of plain.listOpen()) none.push(r.trackingId);
    expect(none).toEqual([]); // the sweeper cannot see a record without an entry
    const report = await records.rebuildIndexes();
    expect(report).toMatchObject({
      records: 2,
      open: 1,
      openEntriesWritten: 1,
      retentionEntriesWritten: 1,
      referralRowsWritten: 1,
      listEntriesWritten: 2,
    });
    const found: string[] = [];
    for await (const r of plain.listOpen()) found.push(r.trackingId);
    expect(found).toEqual([open.trackingId]);
    expect(await plain.findReferral('pc-old-1')).toBe(closed.trackingId);
    expect((await entitiesOf(table)).map((e) => e.trackingId).sort()).toEqual(
      [open.trackingId, closed.trackingId].sort(),
    );
    const listedIds: string[] = [];
    let cursor: string | null = '';
    for (let pages = 0; cursor !== null && pages < 10; pages++) {
      const page = await lister.list(query(cursor ? `cursor=${cursor}` : 'limit=50'), self);
      listedIds.push(...page.items.map((i) => i.trackingId));
      cursor = page.nextCursor;
    }
    expect(listedIds).toEqual([closed.trackingId, open.trackingId]); // newest first, across the 31-day pages
    expect(await records.rebuildIndexes()).toMatchObject({ openEntriesWritten: 0 }); // idempotent
  });
});

describe('ReferralLister (Azurite)', () => {
  it('pages newest first across day partitions with a cursor, and filters on the record', async () => {
    const { records, lister } = setup();
    const start = nowMs;
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      nowMs = start - i * DAY_MS; // one per day, going back
      const created = await records.create(newRecord({ dealType: i % 2 === 0 ? 'CoSell' : 'Private' }));
      made.push(created.created ? created.record.trackingId : '');
    }
    nowMs = start;
    const first = await lister.list(query('limit=2'), self);
    expect(first.items.map((i) => i.trackingId)).toEqual(made.slice(0, 2));
    const cursor = first.nextCursor ?? '';
    const second = await lister.list(query(`limit=2&cursor=${cursor}`), self);
    expect(second.items.map((i) => i.trackingId)).toEqual(made.slice(2, 4));
    const third = await lister.list(query(`limit=2&cursor=${second.nextCursor ?? ''}`), self);
    expect(third.items.map((i) => i.trackingId)).toEqual(made.slice(4));
    expect(third.nextCursor).toBeNull();
    const cosell = await lister.list(query('dealType=CoSell'), self);
    expect(cosell.items.map((i) => i.trackingId)).toEqual([made[0], made[2], made[4]]);
    expect(cosell.items[0]).toMatchObject({ direction: 'outbound', links: { self: self(made[0]) } });
    expect(cosell.cost).toMatchObject({ days: 5, partitions: 5 * INDEX_SHARDS });
  });

  it('pages a busy day spread over its shard partitions newest first, each record once, cursors inside the day', async () => {
    const { records, lister, indexTable } = setup();
    const made: string[] = [];
    for (let i = 0; i < 40; i++) {
      nowMs += 1_000;
      const created = await records.create(newRecord({ dealType: i % 3 === 0 ? 'CoSell' : 'Private' }));
      if (created.created) made.push(created.record.trackingId);
    }
    const partitions = new Set((await entitiesOf(indexTable)).map((e) => String(e.partitionKey)));
    expect([...partitions].filter((p) => p.startsWith('created-')).length).toBeGreaterThan(4); // spread, not one
    const listed: string[] = [];
    let cursor = '';
    for (let pages = 0; pages < 20; pages++) {
      const page = await lister.list(query(`limit=7${cursor ? `&cursor=${cursor}` : ''}`), self);
      listed.push(...page.items.map((i) => i.trackingId));
      if (pages === 0)
        expect(page.cost).toMatchObject({ days: 1, partitions: INDEX_SHARDS, entries: 7, recordReads: 7 });
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(listed).toEqual([...made].reverse());
    const cosell = await lister.list(query('dealType=CoSell&limit=5'), self);
    expect(cosell.items.map((i) => i.trackingId)).toEqual(
      [...made]
        .reverse()
        .filter((_, i) => (made.length - 1 - i) % 3 === 0)
        .slice(0, 5),
    );
  });

  it('writes no entry between two in-progress states, and still finds the record by its state and its last change', async () => {
    const { index, records, lister } = setup();
    const created = await records.create(newRecord({ dealType: 'CoSell' }));
    if (!created.created) throw new Error('expected a new record');
    nowMs += 1_000;
    const before = index.stats().writes;
    const linking = await records.update(created.record, { state: 'CreatingMicrosoft', partnerReferralId: 'p-9' });
    expect(index.stats().writes).toBe(before); // CreatingPartner → CreatingMicrosoft: the entry stays
    const since = `updatedSince=${new Date(nowMs).toISOString()}`;
    for (const text of ['state=CreatingMicrosoft', since, `${since}&state=CreatingMicrosoft&final=false`])
      expect((await lister.list(query(text), self)).items.map((i) => [i.trackingId, i.state])).toEqual([
        [linking.trackingId, 'CreatingMicrosoft'],
      ]);
    expect((await lister.list(query('state=CreatingPartner'), self)).items).toEqual([]); // the record decides
    expect(index.stats().writes).toBe(before); // and the list did not "repair" an entry that answers right
    const summary = await summarise({ index, days: 1, nowMs: () => nowMs });
    expect(summary.days[0].outcomes).toMatchObject({ inProgress: 1 });
    nowMs += 1_000;
    const parked = await records.update(linking, { state: 'AwaitingReauthorization' });
    expect(index.stats().writes).toBe(before + 1); // parked is its own class: written
    expect((await summarise({ index, days: 1, nowMs: () => nowMs })).days[0].outcomes).toMatchObject({ parked: 1 });
    await records.update(parked, { state: 'LinkQueued' });
    expect(index.stats().writes).toBe(before + 2);
  });

  it('skips an orphan entry and a stale projection that no longer matches, and repairs the projection', async () => {
    const { index, plain, records, lister } = setup();
    const created = await records.create(newRecord());
    if (!created.created) throw new Error('expected a new record');
    // An entry whose record was never inserted (a crash between the two writes).
    await index.write({
      trackingId: `r${'f'.repeat(31)}`,
      state: 'CreatingPartner',
      final: false,
      dealType: 'Private',
      direction: 'outbound',
      keySource: 'header',
      createdAtEpochMs: nowMs,
      updatedAtEpochMs: nowMs,
    });
    // The record moves on without the index (a lost index write).
    await plain.update(created.record, { state: 'Rejected' });
    const stale = await lister.list(query('state=CreatingPartner'), self);
    expect(stale.items).toEqual([]);
    const repaired = await lister.list(query('state=Rejected'), self);
    expect(repaired.items.map((i) => i.trackingId)).toEqual([created.record.trackingId]);
  });

  it('finds a record keyed by its externalReferenceId with a point read, and one keyed otherwise through the index', async () => {
    const { records, lister } = setup();
    const external = 'crm-shared-42';
    const byExternal = identifyRequest({ referral: { externalReferenceId: external } }, undefined).trackingId;
    await records.create(
      newRecord({
        trackingId: byExternal,
        keySource: 'externalReferenceId',
        request: { referral: { externalReferenceId: external } } as unknown as TrackingRecord['request'],
      }),
    );
    nowMs += 5;
    const byHeader = await records.create(
      newRecord({ request: { referral: { externalReferenceId: external } } as unknown as TrackingRecord['request'] }),
    );
    const page = await lister.list(query(`externalReferenceId=${external}`), self);
    expect(page.items.map((i) => i.trackingId)).toEqual([
      byExternal,
      byHeader.created ? byHeader.record.trackingId : '',
    ]);
  });

  it('summarises the days by outcome and counts co-sell deals waiting for Microsoft', async () => {
    const { index, records } = setup();
    const a = await records.create(newRecord({ dealType: 'CoSell' }));
    if (!a.created) throw new Error('expected a new record');
    nowMs += 10;
    const linking = await records.update(a.record, { state: 'CreatingMicrosoft', partnerReferralId: 'p1' });
    await records.update(linking, { state: 'Linked', microsoftReferralId: 'm1' });
    await records.create(newRecord({ state: 'Rejected', dealType: 'Unknown' }));
    const summary = await summarise({ index, days: 3, nowMs: () => nowMs });
    expect(summary.days).toHaveLength(3);
    expect(summary.days[2].outcomes).toMatchObject({ linked: 1, rejected: 1 });
    expect(summary.answers).toEqual({ accepted: 0, declined: 0, expired: 0, waiting: 1 });
    expect(summary.cost).toEqual({ partitions: 3 * INDEX_SHARDS, entries: 2 });
  });

  it("indexes Microsoft's answer when it reaches the record: the decision filter, the answers and the response time", async () => {
    const { index, records, lister } = setup();
    const self = (id: string) => `https://app.example/api/referrals/${id}`;
    const created = await records.create(newRecord({ dealType: 'CoSell' }));
    if (!created.created) throw new Error('expected a new record');
    nowMs += 10;
    const linking = await records.update(created.record, { state: 'CreatingMicrosoft', partnerReferralId: 'p2' });
    const linked = await records.update(linking, { state: 'Linked', microsoftReferralId: 'm2' });
    const askedAtMs = nowMs;
    const respondBy = new Date(askedAtMs + 14 * DAY_MS).toISOString();
    const waiting = await records.update(linked, { microsoft: { decision: 'Pending', respondBy } });
    expect((await lister.list(query('decision=Accepted'), self)).items).toEqual([]);
    expect((await lister.list(query('decision=Pending'), self)).items.map((i) => i.trackingId)).toEqual([
      created.record.trackingId,
    ]);
    await records.update(waiting, {
      microsoft: {
        decision: 'Accepted',
        msxId: '7-TEST',
        respondBy,
        decidedAt: new Date(askedAtMs + 30 * 3_600_000).toISOString(),
      },
    });
    const accepted = await lister.list(query('decision=Accepted'), self);
    expect(accepted.items.map((i) => [i.trackingId, i.decision, i.microsoft?.msxId])).toEqual([
      [created.record.trackingId, 'Accepted', '7-TEST'],
    ]);
    const summary = await summarise({ index, days: 1, nowMs: () => nowMs });
    expect(summary.answers).toEqual({ accepted: 1, declined: 0, expired: 0, waiting: 0 });
    expect(summary.responseTimes).toMatchObject({ count: 1, medianHours: 30 });
    expect(summary.responseTimes.histogram[1].count).toBe(1);
  });
});
