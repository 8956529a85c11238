/**
 * What the readers produce and the later stages consume: rows (a request body and where it came from)
 * and unreadable records, plus the one way a problem of a row is written (terminal and report alike).
 */

/** A problem of one row: a field (JSON pointer into the body) and, for CSV, the column(s) it came from. */
export interface RowIssue {
  /** RFC 6901 pointer into the request body; absent for a problem of the whole row. */
  pointer?: string;
  /** CSV columns the field came from (through the mapping); empty for JSONL. */
  columns?: readonly string[];
  /** Stable code: the contract's (`required`, `invalid_enum`...) or the importer's (`invalid_format`...). */
  code: string;
  /** Never contains an input value. */
  message: string;
}

/** One readable record of the input: the request body it makes. */
export interface SourceRow {
  /** 1-based line of the file where the record starts (a CSV record may span lines). */
  line: number;
  /** The body, exactly what `POST /api/referrals` takes. */
  body: Record<string, unknown>;
  /** CSV only: the record's cells by header name (for `--key-column`). */
  cells?: ReadonlyMap<string, string>;
  /** Problems found while building the body (CSV conversions the mapping asked for). */
  issues: RowIssue[];
}

/** A record that could not be read at all. */
export interface UnreadableRecord {
  /** 1-based line where the record starts. */
  line: number;
  /** `invalid_json`, `not_an_object`, `invalid_utf8`, `bad_quoting`, `column_count`, `unreadable_csv`. */
  code: string;
  message: string;
}

/** Formats a row issue: `column "Est. Revenue" (/details/dealValue): Must not be negative.` */
export function describeIssue(issue: RowIssue): string {
  const columns = issue.columns ?? [];
  const where =
    columns.length > 0
      ? `${columns.length === 1 ? 'column' : 'columns'} ${columns.map((c) => JSON.stringify(c)).join(', ')}${
          issue.pointer !== undefined ? ` (${issue.pointer || '/'})` : ''
        }`
      : issue.pointer !== undefined
        ? issue.pointer || '(the whole body)'
        : '';
  return where ? `${where}: ${issue.message}` : issue.message;
}
