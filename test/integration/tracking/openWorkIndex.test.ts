/**
 * The open-work index and retention in Table Storage (Azurite), with an injected clock: a request the
 * process never sent (a crash between the entry write and the record write), entity-group batches beyond
 * one transaction, and every query the sweeper and retention make pins a PartitionKey.
 */
import { TableClient } from '@azure/data-tables';
import {
  RestError,
  createDefaultHttpClient,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import {
  DAY_MS,
  DEFAULT_ORPHAN_GRACE_MS,
  OPEN_MARKER_PREFIX,
  creationPartitionOf,
  openPartitionOf,
} from '../../../shared/tracking/openWork';
import { TrackingStore } from '../../../shared/tracking/trackingStore';
import { useAzurite } from '../../helpers/azurite';
import { newRecord } from '../../helpers/trackingRecordsContract';

const azurite = useAzurite();

/** Sends requests and remembers query filters; `crashBefore` refuses the next matching one unsent. */
class CrashingHttpClient implements HttpClient {
  readonly #inner = createDefaultHttpClient();
  crashBefore: ((request: PipelineRequest) => boolean) | undefined;
  readonly filters: string[] = [];

  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    if (this.crashBefore?.(request)) {
      this.crashBefore = undefined;
      throw new RestError('the process stopped here', { code: 'ECONNREFUSED', request });
    }
    const filter = new URL(request.url).searchParams.get('$filter');
    if (filter !== null) this.filters.push(filter);
    return this.#inner.sendRequest(request);
  }
}

describe('open-work index on Table Storage', () => {
  const clock = { ms: Date.UTC(2031, 5, 1) };
  const httpClient = new CrashingHttpClient();
  let store: TrackingStore;
  let raw: TableClient;
  /** The record's open-work entries (their row keys without the creation day's prefix): its shard, and the recent creation days. */
  const entryKeysOf = async (trackingId: string): Promise<string[]> => {
    const keys: string[] = [];
    const partitions = [0, 1, 2].map((days) => creationPartitionOf(clock.ms - days * DAY_MS, trackingId));
    for (const partition of [openPartitionOf(trackingId), ...partitions])
      for await (const entity of raw.listEntities({ queryOptions: { filter: `PartitionKey eq '${partition}'` } })) {
        const rowKey = String(entity.rowKey).replace(OPEN_MARKER_PREFIX, '');
        if (rowKey.startsWith(trackingId)) keys.push(rowKey);
      }
    return keys;
  };
  const listed = async (): Promise<string[]> => {
    const ids: string[] = [];
    for await (const record of store.listOpen()) ids.push(record.trackingId);
    return ids;
  };

  beforeAll(async () => {
    await azurite.ready;
    const table = TableClient.fromConnectionString(azurite.connectionString, 'indextest', {
      allowInsecureConnection: true,
      httpClient,
      retryOptions: { maxRetries: 0 },
    });
    store = new TrackingStore({ table, nowMs: () => clock.ms });
    raw = TableClient.fromConnectionString(azurite.connectionString, 'indextest', { allowInsecureConnection: true });
    await store.ensureTable();
  });

  it('recovers from a crash between the entry write and the record insert: the orphan entry goes after the grace', async () => {
    const record = newRecord({ state: 'CreatingPartner' });
    httpClient.crashBefore = (request) =>
      request.method === 'POST' &&
      typeof request.body === 'string' &&
      request.body.includes(`"PartitionKey":"${record.trackingId}"`);
    await expect(store.create(record)).rejects.toMatchObject({ retryable: true });
    expect(await store.read(record.trackingId)).toBeUndefined();
    expect(await entryKeysOf(record.trackingId)).toEqual([record.trackingId]);
    expect(await listed()).not.toContain(record.trackingId);
    expect(await entryKeysOf(record.trackingId)).toEqual([record.trackingId]); // an insert may still be in flight
    clock.ms += DEFAULT_ORPHAN_GRACE_MS + 1;
    await listed();
    expect(await entryKeysOf(record.trackingId)).toEqual([]);
  });

  it('keeps a record whose closing write crashed listed, and files a closed one for retention in batches', async () => {
    const crashed = await store.create(newRecord({ state: 'CreatingPartner' }));
    if (!crashed.created) throw new Error('not created');
    httpClient.crashBefore = (request) => request.method === 'PUT';
    await expect(store.update(crashed.record, { state: 'Completed', request: undefined })).rejects.toBeDefined();
    const closedIds: string[] = [];
    for (let i = 0; i < 130; i++) {
      const created = await store.create(newRecord({ state: 'Received', request: undefined }));
      if (!created.created) throw new Error('not created');
      await store.update(created.record, { state: 'Rejected' });
      closedIds.push(created.record.trackingId);
    }
    const open = await listed();
    expect(open).toContain(crashed.record.trackingId);
    for (const id of closedIds) expect(open).not.toContain(id);
    expect(await entryKeysOf(closedIds[0])).toEqual([]);
    expect(await entryKeysOf(crashed.record.trackingId)).toEqual([crashed.record.trackingId]);
    expect(httpClient.filters.every((filter) => filter.startsWith('PartitionKey eq '))).toBe(true);
  });

  it('deletes the expired closed records (more than one transaction of them) and only those', async () => {
    const stillOpen = await store.create(newRecord({ state: 'LinkQueued', request: undefined }));
    clock.ms += 30 * DAY_MS;
    const young = await store.create(newRecord({ state: 'Rejected', request: undefined }));
    clock.ms += DAY_MS;
    httpClient.filters.length = 0;
    const report = await store.purgeClosedBefore(clock.ms - 20 * DAY_MS);
    expect(report.deleted).toBeGreaterThanOrEqual(130);
    expect(report.truncated).toBe(false);
    expect(httpClient.filters.length).toBeGreaterThan(0);
    expect(httpClient.filters.every((filter) => filter.startsWith('PartitionKey eq '))).toBe(true);
    if (!young.created || !stillOpen.created) throw new Error('not created');
    expect(await store.read(young.record.trackingId)).toMatchObject({ state: 'Rejected' });
    expect(await store.read(stillOpen.record.trackingId)).toMatchObject({ state: 'LinkQueued' });
    clock.ms += 30 * DAY_MS;
    expect(await store.purgeClosedBefore(clock.ms - 20 * DAY_MS)).toMatchObject({ deleted: 1 });
    expect(await store.read(young.record.trackingId)).toBeUndefined();
    expect(await store.read(stillOpen.record.trackingId)).toMatchObject({ state: 'LinkQueued' });
  });
});
