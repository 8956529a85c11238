/**
 * Reads CSV (RFC 4180: `"` quotes, `""` inside quotes) with csv-parse, strict about quoting
 * (`relax_quotes: false`), so a stray quote is an error that names its line instead of a silently
 * shifted row. The first record is the header; a record that cannot be read is an
 * {@link UnreadableRecord} and the records after it still count. Records whose cells are all blank
 * (Excel's trailing `,,,` lines) are skipped.
 *
 * Line numbers: csv-parse reports the line where a record ends; a record starts on the first non-empty
 * line after the previous record (or skipped record) ended.
 */
import { type CsvError, parse } from 'csv-parse/sync';
import type { DecodedFile } from './encoding';
import { ImportFileError } from './errors';
import type { UnreadableRecord } from './rows';

/** One CSV record and the line where it starts. */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/** The header, the readable records and the unreadable ones. */
export interface CsvTable {
  header: string[];
  records: CsvRecord[];
  unreadable: UnreadableRecord[];
}

/** Options of {@link readCsv}. */
export interface CsvReadOptions {
  /** Field delimiter. @default ',' */
  delimiter?: string;
}

type ParseEvent =
  { kind: 'record'; cells: string[]; endLine: number } | { kind: 'error'; error: CsvError; endLine: number };

/** A message for a csv-parse error code: csv-parse's own messages quote cell values, these never do. */
function messageOf(
  error: CsvError,
  headerLength: number,
  startLine: number,
  endLine: number,
): { code: string; message: string } {
  const span = endLine > startLine ? ` (lines ${startLine}–${endLine})` : '';
  switch (error.code) {
    case 'CSV_INVALID_CLOSING_QUOTE':
      return {
        code: 'bad_quoting',
        message: `Bad CSV quoting at line ${endLine}: a quoted field goes on after its closing quote (write a quote inside a quoted field as "").`,
      };
    case 'INVALID_OPENING_QUOTE':
      return {
        code: 'bad_quoting',
        message: `Bad CSV quoting at line ${endLine}: a quote inside an unquoted field (quote the whole field and write the quote as "").`,
      };
    case 'CSV_QUOTE_NOT_CLOSED':
      return {
        code: 'bad_quoting',
        message: `Bad CSV quoting: a quoted field is never closed, so the rest of the file could not be read${span}.`,
      };
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
    case 'CSV_RECORD_INCONSISTENT_COLUMNS': {
      const found = Array.isArray(error.record) ? ` but ${error.record.length}` : '';
      return {
        code: 'column_count',
        message: `The record has ${headerLength} fields in the header${found}${span}: check delimiters and quoting.`,
      };
    }
    default:
      return { code: 'unreadable_csv', message: `The record could not be read as CSV (${error.code})${span}.` };
  }
}

/** Parses decoded CSV text; throws {@link ImportFileError} when there is no readable header. */
export function readCsv(file: DecodedFile, filePath: string, options: CsvReadOptions = {}): CsvTable {
  const events: ParseEvent[] = [];
  try {
    parse(file.text, {
      delimiter: options.delimiter ?? ',',
      relax_quotes: false,
      relax_column_count: false,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_record: (cells: string[], context) => {
        events.push({ kind: 'record', cells, endLine: context.lines });
        return null;
      },
      on_skip: (error) => {
        if (error) events.push({ kind: 'error', error, endLine: Number(error.lines) || 0 });
        return undefined;
      },
    });
  } catch (error) {
    throw new ImportFileError(filePath, 'the file could not be read as CSV.', { cause: error });
  }
  const lines = file.text.split('\n');
  let previousEnd = 0;
  const startAfter = (end: number) => {
    let line = end + 1;
    while (line < lines.length && lines[line - 1] === '') line += 1;
    return line;
  };
  const first = events[0];
  if (!first) throw new ImportFileError(filePath, 'the file is empty: a header line is expected.');
  if (first.kind === 'error') {
    throw new ImportFileError(filePath, `the header (line ${startAfter(0)}) could not be read as CSV.`);
  }
  const headerLine = startAfter(0);
  if (file.invalidLines.has(headerLine)) {
    throw new ImportFileError(filePath, `the header (line ${headerLine}) is not valid UTF-8; save the file as UTF-8.`);
  }
  const header = first.cells.map((name) => name.trim());
  previousEnd = first.endLine;
  const records: CsvRecord[] = [];
  const unreadable: UnreadableRecord[] = [];
  for (const event of events.slice(1)) {
    const line = startAfter(previousEnd);
    const endLine = Math.max(event.endLine, line);
    previousEnd = endLine;
    if (event.kind === 'error') {
      unreadable.push({ line, ...messageOf(event.error, header.length, line, endLine) });
      continue;
    }
    const badLine = [...file.invalidLines].find((n) => n >= line && n <= endLine);
    if (badLine !== undefined) {
      unreadable.push({
        line,
        code: 'invalid_utf8',
        message: `Line ${badLine} is not valid UTF-8; save the file as UTF-8 (Excel: "CSV UTF-8").`,
      });
      continue;
    }
    if (event.cells.every((cell) => cell.trim() === '')) continue;
    records.push({ line, cells: event.cells });
  }
  return { header, records, unreadable };
}
