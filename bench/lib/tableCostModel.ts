/**
 * What a table request costs in Azure Table Storage, by its query model rather than by Azurite's clock
 * (Azurite keeps tables in memory: a 30,000-entity scan takes it ~15 ms, which says nothing about Azure).
 *
 * - A point read (`table(PartitionKey='p',RowKey='r')`) examines 1 entity.
 * - A query whose filter pins PartitionKey (`PartitionKey eq 'p' ...`) examines the entities of that
 *   partition only.
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
  if (pinned) return { kind: 'partitionQuery', partition: pinned[1].replace(/''/g, "'"), continuation };
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
    const { kind, partition, continuation } = classifyTableRequest(method, url);
    if (kind === 'write') f.writes++;
    else if (kind === 'pointRead') {
      f.pointReads++;
      f.entitiesExamined++;
    } else if (kind === 'partitionQuery') {
      if (continuation) return;
      f.partitionQueries++;
      f.entitiesExamined += this.#o.partitionSize(partition!);
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
