/**
 * Reads an input file into rows: JSONL as it is, or CSV through a mapping. The result also knows how
 * to name the source of a JSON pointer (the CSV columns, through the mapping), so that every problem
 * names its line and column.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readCsv } from './csvReader';
import { decodeInputFile } from './encoding';
import { ImportFileError, ImportUsageError } from './errors';
import { readJsonl } from './jsonlReader';
import { buildBody, checkHeader, columnsFor, type Mapping } from './mapping';
import type { SourceRow, UnreadableRecord } from './rows';

/** Input formats. */
export const InputFormat = { jsonl: 'jsonl', csv: 'csv' } as const;
export type InputFormat = (typeof InputFormat)[keyof typeof InputFormat];

/** An input file read into rows. */
export interface ImportSource {
  filePath: string;
  format: InputFormat;
  rows: SourceRow[];
  unreadable: UnreadableRecord[];
  /** The CSV columns behind a pointer (empty for JSONL: the pointer names the field). */
  columnsFor(pointer: string): string[];
}

/** Options of {@link readImportFile}. */
export interface ReadOptions {
  /** @default from the extension: `.csv` is CSV, `.jsonl`/`.ndjson`/`.json` JSONL */
  format?: InputFormat;
  /** Required for CSV. */
  mapping?: Mapping;
}

/** The format a file name suggests, if any. */
export function formatOf(filePath: string): InputFormat | undefined {
  const extension = path.extname(filePath).toLowerCase();
  if (extension === '.csv') return InputFormat.csv;
  if (['.jsonl', '.ndjson', '.json'].includes(extension)) return InputFormat.jsonl;
  return undefined;
}

/** Reads `filePath`; throws {@link ImportFileError} / {@link ImportUsageError} when it cannot be used as a whole. */
export function readImportFile(filePath: string, options: ReadOptions = {}): ImportSource {
  const format = options.format ?? formatOf(filePath);
  if (!format)
    throw new ImportUsageError(`${filePath}: cannot tell the format from the name; give --format jsonl or csv.`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(filePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ImportFileError(filePath, code === 'ENOENT' ? 'no such file.' : `cannot be read (${code ?? 'error'}).`, {
      cause: error,
    });
  }
  const decoded = decodeInputFile(bytes, filePath);
  if (format === InputFormat.jsonl) {
    return { filePath, format, ...readJsonl(decoded), columnsFor: () => [] };
  }
  const mapping = options.mapping;
  if (!mapping) throw new ImportUsageError('a CSV file needs --mapping (docs/import.md).');
  const table = readCsv(decoded, filePath, { delimiter: mapping.delimiter });
  checkHeader(mapping, table.header, filePath);
  const rows: SourceRow[] = table.records.map((record) => {
    const cells = new Map(table.header.map((name, i) => [name, record.cells[i] ?? '']));
    const { body, issues } = buildBody(mapping, cells);
    return { line: record.line, body, cells, issues };
  });
  return {
    filePath,
    format,
    rows,
    unreadable: table.unreadable,
    columnsFor: (pointer) => columnsFor(mapping, pointer),
  };
}
