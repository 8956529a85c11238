/**
 * What a table request costs in Azure Table Storage, by its query model rather than by Azurite's clock
 * (Azurite keeps tables in memory: a 30,000-entity scan takes it ~15 ms, which says nothing about Azure).
 *
 * - A point read (`table(PartitionKey='p',RowKey='r')`) examines 1 entity.
 * - A query whose filter pins PartitionKey (`PartitionKey eq 'p' ...`) examines the entities of that
 *   partition only; one that also bounds RowKey (`... and RowKey ge 'a' and RowKey lt 'b'`) only the
 *   entities of that range (the service seeks the (PartitionKey, RowKey) index), when the options can say
 *   how many there are.
 * - Any other query is a table scan: it examines every entity of the table (in Azure: continuation pages,
 *   one billed transaction each, latency growing with the table).
 *
 * Only requests seen through the counting proxy are classified, so the figures are the app's own requests.
 */

/** A table request as the model classifies it. */
export type TableRequestKind = 'pointRead' | 'partitionQuery' | 'tableScan' | 'write';

/** A classified request; `continuation` for the next page of a query (its entities counted with the first). */
export interface ClassifiedRequest {
  kind: TableRequestKind;
  partition?: string;
  /** A RowKey range `[from, to)` the query bounds, when it has both bounds. */
  range?: { from: string; to: string };
  continuation?: boolean;
}

/** Counts by the model. */
export interface TableCostFigures {
  storageRequests: number;
  /** Queries without a PartitionKey condition. */
  tableScans: number;
  partitionQueries: number;
  pointReads: number;
  writes: number;
  /** Entities examined by the model (see the module comment). */
  entitiesExamined: number;
}

/** Options of {@link TableCostModel}. */
export interface TableCostModelOptions {
  /** Entities in each partition while the measured requests run. */
  partitionSize: (partition: string) => number;
  /** Entities in the table while the measured requests run. */
  tableSize: () => number;
  /** Entities of a partition with `from <= RowKey < to` (without it: the whole partition). */
  rangeSize?: (partition: string, from: string, to: string) => number;
}

/** Classifies one request by its method and URL. */
export function classifyTableRequest(method: string, url: string): ClassifiedRequest {
  if (method !== 'GET') return { kind: 'write' };
  const decoded = decodeURIComponent(url);
  const path = decoded.split('?')[0];
  if (/\(PartitionKey='[^']*',\s*RowKey='[^']*'\)$/.test(path)) return { kind: 'pointRead' };
  const params = new URL(url, 'http://x').searchParams;
  const filter = params.get('$filter') ?? '';
  const continuation = params.has('NextPartitionKey') || params.has('NextRowKey');
  const pinned = /^\s*\(?\s*PartitionKey eq '((?:[^']|'')*)'\s*\)?\s*(and\s|$)/.exec(filter);
  if (pinned) {
    const from = /RowKey ge '((?:[^']|'')*)'/.exec(filter);
    const to = /RowKey lt '((?:[^']|'')*)'/.exec(filter);
    const range = from && to ? { from: from[1].replace(/''/g, "'"), to: to[1].replace(/''/g, "'") } : undefined;
    return {
      kind: 'partitionQuery',
      partition: pinned[1].replace(/''/g, "'"),
      continuation,
      ...(range ? { range } : {}),
    };
  }
  return { kind: 'tableScan', continuation };
}

/** Accumulates {@link TableCostFigures} from the requests a proxy sees. */
export class TableCostModel {
  readonly #o: TableCostModelOptions;
  #figures: TableCostFigures = empty();

  constructor(options: TableCostModelOptions) {
    this.#o = options;
  }

  /** Counts one request (pass it as the proxy's `onRequest`). */
  readonly see = (method: string, url: string): void => {
    const f = this.#figures;
    f.storageRequests++;
    const { kind, partition, continuation, range } = classifyTableRequest(method, url);
    if (kind === 'write') f.writes++;
    else if (kind === 'pointRead') {
      f.pointReads++;
      f.entitiesExamined++;
    } else if (kind === 'partitionQuery') {
      if (continuation) return;
      f.partitionQueries++;
      f.entitiesExamined +=
        range && this.#o.rangeSize
          ? this.#o.rangeSize(partition!, range.from, range.to)
          : this.#o.partitionSize(partition!);
    } else {
      if (continuation) return;
      f.tableScans++;
      f.entitiesExamined += this.#o.tableSize();
    }
  };

  /** The figures so far. */
  figures(): TableCostFigures {
    return { ...this.#figures };
  }

  /** Starts counting from zero. */
  reset(): void {
    this.#figures = empty();
  }
}

function empty(): TableCostFigures {
  return { storageRequests: 0, tableScans: 0, partitionQueries: 0, pointReads: 0, writes: 0, entitiesExamined: 0 };
}
