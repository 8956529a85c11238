/**
 * Read-only check of the open-work index (docs/architecture.md): the entries in the `open-*` partitions
 * (one query per partition) and the creates' entries in their creation days' partitions (one RowKey-range
 * scan), read straight from Azurite (not through the app).
 */
import { TableClient, odata } from '@azure/data-tables';
import type { RunningSandbox } from '../../sandbox/sandbox';
import { OPEN_MARKER_RANGE, OPEN_PARTITIONS, trackingIdOfOpenRowKey } from '../../shared/tracking/openWork';

/** The trackingIds the open-work index names (an id once per entry). */
export async function readOpenIndex(sandbox: RunningSandbox, tableName = 'referrals'): Promise<string[]> {
  const table = TableClient.fromConnectionString(sandbox.azurite.connectionString, tableName, {
    allowInsecureConnection: true,
  });
  const ids: string[] = [];
  for (const partition of OPEN_PARTITIONS) {
    for await (const entity of table.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${partition}` } }))
      ids.push(trackingIdOfOpenRowKey(String(entity.rowKey)));
  }
  // The creates' entries in their creation days' partitions (an inspection scan; the sweeper reads by day).
  const { from, to } = OPEN_MARKER_RANGE;
  for await (const entity of table.listEntities({
    queryOptions: { filter: odata`RowKey ge ${from} and RowKey lt ${to}` },
  }))
    ids.push(trackingIdOfOpenRowKey(String(entity.rowKey)));
  return ids;
}
