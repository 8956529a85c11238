/**
 * `npm run index:rebuild` against Azurite: records written before the indexes (raw entities, no entries)
 * become findable by the sweeper, the list and the referral-id lookup; a second run writes no open-work
 * entry again; `--dry-run` writes nothing.
 */
import { TableClient } from '@azure/data-tables';
import { rebuildIndexesCommand, type RebuildCommandReport } from '../../../scripts/rebuild-indexes';
import { toEntity } from '../../../shared/tracking/tableEntities';
import { TrackingStore } from '../../../shared/tracking/trackingStore';
import type { TrackingRecord } from '../../../shared/tracking/trackingRecord';
import { useAzurite } from '../../helpers/azurite';
import { newRecord } from '../../helpers/trackingRecordsContract';

const azurite = useAzurite();

const old = (overrides: Partial<TrackingRecord>, daysAgo: number): TrackingRecord => ({
  ...newRecord(overrides),
  createdAtEpochMs: Date.now() - daysAgo * 86_400_000,
  updatedAtEpochMs: Date.now() - daysAgo * 86_400_000,
  etag: '',
});

async function run(argv: string[], tableName: string): Promise<{ code: number; report?: RebuildCommandReport }> {
  const lines: string[] = [];
  const code = await rebuildIndexesCommand({
    argv,
    env: { AzureWebJobsStorage: azurite.connectionString, REFERRALS_TABLE_NAME: tableName },
    print: (line) => lines.push(line),
    printError: () => undefined,
  });
  return { code, ...(lines.length ? { report: JSON.parse(lines[lines.length - 1]) as RebuildCommandReport } : {}) };
}

describe('index:rebuild', () => {
  it('indexes records written before the indexes, once, and writes nothing on a dry run', async () => {
    await azurite.ready;
    const tableName = 'rebuildcmd';
    const table = TableClient.fromConnectionString(azurite.connectionString, tableName, {
      allowInsecureConnection: true,
    });
    await table.createTable();
    const parked = old({ state: 'AwaitingReauthorization', parkedFrom: 'Received' }, 200);
    const linked = old({ state: 'Linked', partnerReferralId: 'p-9', microsoftReferralId: 'm-9' }, 150);
    for (const record of [parked, linked]) await table.createEntity(toEntity(record, 'before-the-index'));

    const dry = await run(['--dry-run'], tableName);
    expect(dry).toMatchObject({ code: 0, report: { records: 2, open: 1, openEntriesWritten: 1, dryRun: true } });
    const store = new TrackingStore({ table });
    const open = async (): Promise<string[]> => {
      const ids: string[] = [];
      for await (const record of store.listOpen()) ids.push(record.trackingId);
      return ids;
    };
    expect(await open()).toEqual([]);

    const first = await run([], tableName);
    expect(first).toMatchObject({
      code: 0,
      report: { records: 2, open: 1, openEntriesWritten: 1, retentionEntriesWritten: 1, referralRowsWritten: 2 },
    });
    expect(first.report?.listEntriesWritten).toBe(2);
    expect(await open()).toEqual([parked.trackingId]);
    expect(await store.findReferral('M-9')).toBe(linked.trackingId);
    expect((await run([], tableName)).report).toMatchObject({ openEntriesWritten: 0 });
  });

  it('refuses an unknown argument', async () => {
    expect((await run(['--everything'], 'unused')).code).toBe(2);
  });
});
