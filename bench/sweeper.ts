/**
 * Sweep cost against history size: fills an in-memory Azurite with `--final` closed records and `--open`
 * records with open work (entities shaped as the store writes them, index entries included), then runs one
 * sweep through the counting proxy and prices its requests by Azure Table's query model
 * (bench/lib/tableCostModel.ts): a query that pins PartitionKey examines that partition's entities, any
 * other query every entity of the table. For comparison it then sends the three queries the sweeper sent
 * before the open-work index (its `listStale` filters, table scans) through the same proxy.
 *
 * `--untidy K` adds K records closed since the last sweep (their open-work entries still there): the sweep
 * then also files them for retention and removes their entries; `tidyCpuMsPerRecord` is the CPU that costs
 * this process (the SDK's side, as an app instance would spend it) per record.
 *
 * ```sh
 * npm run bench:sweeper -- --final 100000 --open 100
 * npm run bench:sweeper -- --final 10000,100000 --open 100 --chart   # side by side; writes docs/figures/sweeper.svg
 * ```
 * The last line is one JSON object (one run), or `{"benchmark":"sweeper","runs":[...]}` for several sizes.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { TableClient, odata, type TableEntity, type TransactionAction } from '@azure/data-tables';
import { startAzurite } from '../sandbox/azurite';
import { createLogger } from '../shared/platform/logging';
import { listEntryRowOf } from '../shared/listing/indexEntry';
import {
  OPEN_MARKER_PREFIX,
  RECORD_ROW_KEY,
  SWEEP_CURSOR_KEYS,
  creationPartitionOf,
  finalPartitionOf,
  startOfUtcDay,
} from '../shared/tracking/openWork';
import { FINAL_STATES, TrackingState } from '../shared/tracking/states';
import type { TrackingRecord } from '../shared/tracking/trackingRecord';
import { toEntity, toIndexEntity } from '../shared/tracking/tableEntities';
import { TrackingStore } from '../shared/tracking/trackingStore';
import { Sweeper } from '../shared/workflow/sweeper';
import { LINK_QUEUE_NAME, SUBMIT_QUEUE_NAME } from '../shared/workflow/constants';
import { OPEN_STATES } from '../shared/workflow/stepTable';
import { parseOptions, runBenchmark } from './lib/args';
import { startCountingProxy, withTableEndpoint } from './lib/countingProxy';
import { mapWithConcurrency } from './lib/httpClient';
import { repoRoot } from './lib/repo';
import { round } from './lib/stats';
import { renderGroupedBarsSvg } from './lib/svgChart';
import { TableCostModel, type TableCostFigures } from './lib/tableCostModel';

/** The figures of one history size. */
export interface SweeperFigures {
  benchmark: 'sweeper';
  final: number;
  open: number;
  /** Records the sweep found with open work (requeued, resumed, callbacks retried). */
  openFound: number;
  tableScans: number;
  entitiesExamined: number;
  storageRequests: number;
  /** Requests of the sweep by kind (point reads, partition queries, writes). */
  requestsByKind: Pick<TableCostFigures, 'pointReads' | 'partitionQueries' | 'writes'>;
  sweepMs: number;
  /** The target: 2 × open + 50. */
  entitiesExaminedBound: number;
  /** The sweeper's queries before the index (`listStale`: three filters on non-key columns), same table. */
  previousDesign: { tableScans: number; entitiesExamined: number; storageRequests: number; queryMs: number };
  fillSeconds: number;
  /** Records closed since the last sweep (entries not tidied yet). */
  untidy: number;
  /** CPU of this process during the sweep, per record it read (open and untidy). */
  sweepCpuMsPerRecord: number;
}

const DAY_MS = 86_400_000;

async function measure(final: number, open: number, untidy: number): Promise<SweeperFigures> {
  const azurite = await startAzurite({ inMemory: true, quiet: true });
  const sizes = new Map<string, number>();
  let total = 0;
  let scannedTableSize = (): number => total;
  // Row keys of the creation-day partitions (the sweeper reads their open-work range only).
  const creationRowKeys = new Map<string, string[]>();
  const model = new TableCostModel({
    partitionSize: (p) => sizes.get(p) ?? 0,
    tableSize: () => scannedTableSize(),
    rangeSize: (p, from, to) => (creationRowKeys.get(p) ?? []).filter((key) => key >= from && key < to).length,
  });
  const { upstreamOrigin } = withTableEndpoint(azurite.connectionString, 'http://127.0.0.1:1');
  const proxy = await startCountingProxy({ upstreamUrl: upstreamOrigin, onRequest: model.see });
  try {
    const direct = TableClient.fromConnectionString(azurite.connectionString, 'referrals', {
      allowInsecureConnection: true,
    });
    await direct.createTable();
    const fillStartedMs = Date.now();
    const nowMs = Date.now();
    const closedAtMs = nowMs - 30 * DAY_MS;
    const entities: Array<TableEntity<Record<string, unknown>>> = [];
    const batched = new Map<string, Array<TableEntity<Record<string, unknown>>>>();
    const add = (entity: TableEntity<Record<string, unknown>>, batch: boolean) => {
      sizes.set(entity.partitionKey, (sizes.get(entity.partitionKey) ?? 0) + 1);
      total++;
      if (entity.partitionKey.startsWith('created-')) {
        const keys = creationRowKeys.get(entity.partitionKey) ?? [];
        keys.push(entity.rowKey);
        creationRowKeys.set(entity.partitionKey, keys);
      }
      if (!batch) entities.push(entity);
      else {
        const rows = batched.get(entity.partitionKey) ?? [];
        rows.push(entity);
        batched.set(entity.partitionKey, rows);
      }
    };
    for (let i = 0; i < final + open + untidy; i++) {
      const isOpen = i >= final && i < final + open;
      const isUntidy = i >= final + open;
      const record = sampleRecord(i, isOpen, isOpen || isUntidy ? nowMs - 600_000 : closedAtMs - (i % 20) * DAY_MS);
      add(toEntity(record, `fill-${i}`), false);
      // As the store writes them: the list entry (every record) in its creation day's partition; for a
      // record with open work (or closed since the last sweep) the create's open-work entry beside it, for
      // a closed one its retention entry.
      const listEntry = listEntryRowOf(record);
      add({ ...listEntry.properties, partitionKey: listEntry.partition, rowKey: listEntry.rowKey }, true);
      add(
        toIndexEntity(
          isOpen || isUntidy
            ? {
                partition: creationPartitionOf(record.createdAtEpochMs, record.trackingId),
                rowKey: `${OPEN_MARKER_PREFIX}${record.trackingId}`,
                atEpochMs: record.createdAtEpochMs,
              }
            : {
                partition: finalPartitionOf(record.updatedAtEpochMs),
                rowKey: record.trackingId,
                atEpochMs: record.updatedAtEpochMs,
              },
        ),
        true,
      );
    }
    // The sweeper's cursor where the previous sweep left it: yesterday, the oldest creation day not settled.
    add(toIndexEntity({ ...SWEEP_CURSOR_KEYS, atEpochMs: startOfUtcDay(nowMs) - DAY_MS }), false);
    await mapWithConcurrency(entities, 96, async (entity) => void (await direct.createEntity(entity)));
    const batches = [...batched.values()].flatMap((rows) =>
      Array.from({ length: Math.ceil(rows.length / 100) }, (_, k) => rows.slice(k * 100, k * 100 + 100)),
    );
    await mapWithConcurrency(batches, 16, async (rows) => {
      await direct.submitTransaction(rows.map((row): TransactionAction => ['create', row]));
    });
    const fillSeconds = (Date.now() - fillStartedMs) / 1000;

    const proxied = TableClient.fromConnectionString(
      withTableEndpoint(azurite.connectionString, proxy.url).connectionString,
      'referrals',
      { allowInsecureConnection: true },
    );
    const store = new TrackingStore({ table: proxied });
    await store.ensureTable(); // 409: the table exists (not counted below)
    const sent = { count: 0 };
    const queue = { send: async () => void sent.count++ };
    const sweeper = new Sweeper({
      records: store,
      queues: { [SUBMIT_QUEUE_NAME]: queue, [LINK_QUEUE_NAME]: queue },
      callbacks: { deliver: async () => undefined },
      staleAfterMs: 120_000,
      logger: createLogger({ sink: () => undefined }),
    });
    model.reset();
    const sweepStartedMs = performance.now();
    const cpuBefore = process.cpuUsage();
    const report = await sweeper.sweep();
    const cpu = process.cpuUsage(cpuBefore);
    const sweepMs = performance.now() - sweepStartedMs;
    const sweep = model.figures();

    // Before the index the table held the records only: that is what its scans examined.
    scannedTableSize = () => final + open;
    model.reset();
    const legacyStartedMs = performance.now();
    const staleBefore = Date.now() - 120_000;
    for (const filter of [
      staleFilter(OPEN_STATES, staleBefore, false),
      staleFilter([TrackingState.AwaitingReauthorization], Date.now() + 1, false),
      staleFilter([...FINAL_STATES], staleBefore, true),
    ]) {
      for await (const _entity of proxied.listEntities({ queryOptions: { filter } })) void _entity;
    }
    const legacyMs = performance.now() - legacyStartedMs;
    const legacy = model.figures();
    return {
      benchmark: 'sweeper',
      final,
      open,
      openFound: report.requeued + report.resumed + report.callbacksRetried + report.parkedRemaining,
      tableScans: sweep.tableScans,
      entitiesExamined: sweep.entitiesExamined,
      storageRequests: sweep.storageRequests,
      requestsByKind: { pointReads: sweep.pointReads, partitionQueries: sweep.partitionQueries, writes: sweep.writes },
      sweepMs: round(sweepMs, 1),
      entitiesExaminedBound: 2 * open + 50,
      previousDesign: {
        tableScans: legacy.tableScans,
        entitiesExamined: legacy.entitiesExamined,
        storageRequests: legacy.storageRequests,
        queryMs: round(legacyMs, 1),
      },
      fillSeconds: round(fillSeconds, 1),
      untidy,
      sweepCpuMsPerRecord: round((cpu.user + cpu.system) / 1000 / Math.max(1, open + untidy), 3),
    };
  } finally {
    await proxy.close();
    await azurite.stop();
  }
}

/** A record as the workflow leaves it: closed ones final with their ids and no request; open ones waiting. */
function sampleRecord(index: number, open: boolean, updatedAtEpochMs: number): TrackingRecord {
  const trackingId = `r${index.toString(16).padStart(31, '0')}`;
  const coSell = index % 2 === 0;
  return {
    trackingId,
    state: open ? (coSell ? TrackingState.LinkQueued : TrackingState.Received) : coSell ? 'Linked' : 'Completed',
    dealType: coSell ? 'CoSell' : 'PartnerLed',
    source: 'http',
    keySource: 'header',
    requestHash: 'f'.repeat(64),
    attempts: coSell ? 2 : 1,
    partnerReferralId: `pr-${index}`,
    engagementId: `eng-${index}`,
    ...(coSell && !open ? { microsoftReferralId: `ms-${index}` } : {}),
    history: [{ at: new Date(updatedAtEpochMs).toISOString(), source: 'us', kind: 'state', to: 'Completed' }],
    createdAtEpochMs: updatedAtEpochMs - 5_000,
    updatedAtEpochMs,
    etag: '',
  };
}

/** The sweeper's filter before the open-work index (shared/tracking/trackingStore.ts `staleFilter`, removed). */
function staleFilter(states: readonly string[], updatedBeforeEpochMs: number, callbackPendingOnly: boolean): string {
  const stateClause = states.map((state) => odata`state eq ${state}`).join(' or ');
  const callback = callbackPendingOnly ? odata` and callbackState eq ${'pending'}` : '';
  return (
    odata`RowKey eq ${RECORD_ROW_KEY} and (` +
    stateClause +
    odata`) and updatedAtEpochMs lt ${Math.floor(updatedBeforeEpochMs)}.0` +
    callback
  );
}

function chart(runs: SweeperFigures[]): string {
  return renderGroupedBarsSvg({
    title: 'One sweep against history size',
    subtitle: `${runs[0].open} records with open work; entities examined by Azure Table's query model`,
    yLabel: 'entities examined / requests',
    series: [
      { name: 'entities examined (open-work index)', color: '#2b6cb0' },
      { name: 'storage requests (open-work index)', color: '#68a063' },
    ],
    groups: runs.map((run) => ({
      label: `${run.final.toLocaleString('en-US')} closed\nrecords`,
      values: [run.entitiesExamined, run.storageRequests],
      note: `before: ${run.previousDesign.entitiesExamined.toLocaleString('en-US')} examined`,
    })),
    reference: { value: runs[0].entitiesExaminedBound, label: `target ≤ 2 × open + 50` },
  });
}

runBenchmark(async () => {
  const options = parseOptions({
    final: { kind: 'string', default: '100000' },
    open: { kind: 'number', default: 100, min: 1 },
    untidy: { kind: 'number', default: 0, min: 0 },
    chart: { kind: 'boolean' },
  });
  const sizes = options.final.split(',').map((v) => Number(v.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 0))
    throw new Error('--final must be integers ≥ 0, comma-separated');
  const runs: SweeperFigures[] = [];
  for (const final of sizes) {
    const run = await measure(final, options.open, options.untidy);
    console.log(
      `final ${final}: openFound ${run.openFound}, tableScans ${run.tableScans}, entitiesExamined ${run.entitiesExamined} ` +
        `(before: ${run.previousDesign.entitiesExamined}), storageRequests ${run.storageRequests}, sweep ${run.sweepMs} ms`,
    );
    runs.push(run);
  }
  if (options.chart) {
    const file = path.join(repoRoot(), 'docs', 'figures', 'sweeper.svg');
    writeFileSync(file, chart(runs));
    console.log(`wrote ${path.relative(repoRoot(), file)}`);
  }
  console.log(JSON.stringify(runs.length === 1 ? runs[0] : { benchmark: 'sweeper', runs }));
});
