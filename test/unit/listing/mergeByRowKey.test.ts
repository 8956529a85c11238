import fc from 'fast-check';
import { mergeByRowKey, type RowKeyed } from '../../../shared/listing/mergeByRowKey';
import { creationPartitionOf, creationPartitionsOfDay, shardOf } from '../../../shared/tracking/openWork';
import { entryKeysOf } from '../../../shared/listing/indexEntry';

/** A shard's query as the service pages it: rows in RowKey order, cut into pages of the given sizes. */
function paged(rows: RowKeyed[], pageSizes: number[], log?: { pagesRead: number; closed: boolean }) {
  return (async function* () {
    try {
      let at = 0;
      let cut = 0;
      while (at < rows.length) {
        const size = Math.max(0, pageSizes[cut++ % pageSizes.length]);
        if (log) log.pagesRead++;
        yield rows.slice(at, at + size); // a size of 0 is an empty page (a continuation with nothing in it)
        at += size;
      }
    } finally {
      if (log) log.closed = true;
    }
  })();
}

async function collect(stream: AsyncIterable<RowKeyed[]>): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of stream) keys.push(...page.map((row) => row.rowKey));
  return keys;
}

describe('merging the shards of a creation day by RowKey', () => {
  it('reads every row of every shard once, in RowKey order, whatever the pages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 60 }),
        fc.array(fc.nat({ max: 7 }), { minLength: 60, maxLength: 60 }),
        fc.array(fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
        async (keys, shardChoices, pageSizesByShard) => {
          const shards = pageSizesByShard.map(() => [] as RowKeyed[]);
          keys.forEach((rowKey, i) => shards[shardChoices[i] % shards.length].push({ rowKey }));
          for (const rows of shards) rows.sort((a, b) => (a.rowKey < b.rowKey ? -1 : 1));
          // Page sizes of 0 alone would never advance: every shard gets at least one size ≥ 1.
          const streams = shards.map((rows, i) => paged(rows, [...pageSizesByShard[i], 1]));
          expect(await collect(mergeByRowKey(streams))).toEqual([...keys].sort());
        },
      ),
    );
  });

  it('reads no more pages than it needs and closes every shard when the reader stops early', async () => {
    const logs = Array.from({ length: 8 }, () => ({ pagesRead: 0, closed: false }));
    const streams = logs.map((log, shard) =>
      paged(
        Array.from({ length: 100 }, (_, i) => ({ rowKey: `${String(i).padStart(3, '0')}-${shard}` })),
        [10],
        log,
      ),
    );
    const firstPages: string[] = [];
    for await (const page of mergeByRowKey(streams)) {
      firstPages.push(...page.map((row) => row.rowKey));
      if (firstPages.length >= 20) break;
    }
    expect(firstPages.slice(0, 3)).toEqual(['000-0', '000-1', '000-2']);
    expect(logs.every((log) => log.pagesRead === 1 && log.closed)).toBe(true);
  });
});

describe('the creation-day shards', () => {
  it('put a record, its open-work entry and its list entry in the partition of its shard', () => {
    const createdAtEpochMs = Date.parse('2026-12-01T10:00:00Z');
    const trackingId = `r${'a'.repeat(31)}`;
    const partition = creationPartitionOf(createdAtEpochMs, trackingId);
    expect(partition).toBe(`created-2026-12-01-${shardOf(trackingId)}`);
    expect(entryKeysOf(createdAtEpochMs, trackingId).partitionKey).toBe(partition);
    expect(creationPartitionsOfDay(Date.parse('2026-12-01T23:59:59Z'))).toEqual(
      Array.from({ length: 8 }, (_, shard) => `created-2026-12-01-${shard}`),
    );
  });
});
