/**
 * A k-way merge of paged streams that are each in RowKey order (one query per shard partition of a
 * creation day) into one paged stream in RowKey order, reading each stream a page at a time.
 *
 * ```
 * shard 0 ─ page ─┐
 * shard 1 ─ page ─┼─► emit every buffered row ≤ the smallest "last RowKey of a buffer" ─► refill the buffers that ran out
 * shard 7 ─ page ─┘
 * ```
 * A stream's rows after its buffer sort above its buffer's last RowKey, so every row at or below the
 * smallest of those bounds is below everything not read yet: emitting them in order is safe, and the
 * buffer that set the bound runs out each round (progress). Refills of the buffers that ran out are
 * read in parallel.
 */

/** A row with a RowKey (unique across the merged streams). */
export interface RowKeyed {
  rowKey: string;
}

interface Head<T> {
  pages: AsyncIterator<T[]>;
  buffer: T[];
  next: number;
  done: boolean;
}

/** Merges `streams` (each in ascending RowKey order) into one stream of pages in ascending RowKey order. */
export async function* mergeByRowKey<T extends RowKeyed>(streams: readonly AsyncIterable<T[]>[]): AsyncGenerator<T[]> {
  const heads: Head<T>[] = streams.map((stream) => ({
    pages: stream[Symbol.asyncIterator](),
    buffer: [],
    next: 0,
    done: false,
  }));
  try {
    for (;;) {
      await Promise.all(heads.filter((head) => !head.done && head.next >= head.buffer.length).map(refill));
      const live = heads.filter((head) => head.next < head.buffer.length);
      if (live.length === 0) return;
      let bound = live[0].buffer[live[0].buffer.length - 1].rowKey;
      for (const head of live) {
        const last = head.buffer[head.buffer.length - 1].rowKey;
        if (last < bound) bound = last;
      }
      const page: T[] = [];
      for (const head of live) {
        while (head.next < head.buffer.length && head.buffer[head.next].rowKey <= bound)
          page.push(head.buffer[head.next++]);
      }
      page.sort((a, b) => (a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : 0));
      yield page;
    }
  } finally {
    // A consumer that stops early (a full page of the list) ends the shards' queries too.
    await Promise.all(heads.filter((head) => !head.done).map(async (head) => head.pages.return?.()));
  }
}

async function refill<T>(head: Head<T>): Promise<void> {
  for (;;) {
    const step = await head.pages.next();
    if (step.done) {
      head.done = true;
      head.buffer = [];
      head.next = 0;
      return;
    }
    if (step.value.length > 0) {
      head.buffer = step.value;
      head.next = 0;
      return;
    }
  }
}
