/**
 * Read-only check of the open-work index (docs/architecture.md): the entries in the `open-*` partitions,
 * read straight from Azurite (not through the app), one query per partition.
 */
import { TableClient, odata } from '@azure/data-tables';
import type { RunningSandbox } from '../../sandbox/sandbox';
import { OPEN_PARTITIONS, trackingIdOfOpenRowKey } from '../../shared/tracking/openWork';

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
  return ids;
}
