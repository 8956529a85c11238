/**
 * The report (`--report`, CSV): one line per input row, `line,externalReferenceId,trackingId,state,error`,
 * in file order. An earlier run's report is also read back, so that a rerun skips the rows it shows as
 * done (`Completed`, `Linked`).
 *
 * A cell that starts with `=`, `+`, `-` or `@` is written with a leading `'`, so that a spreadsheet
 * never runs a CRM value as a formula; reading strips it again.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { DONE_STATES } from './constants';

/** One line of the report. */
export interface ReportLine {
  line: number;
  externalReferenceId?: string;
  trackingId?: string;
  state: string;
  error?: string;
}

/** The report's columns, in order. */
export const REPORT_COLUMNS = ['line', 'externalReferenceId', 'trackingId', 'state', 'error'] as const;

function cell(value: string | number | undefined): string {
  let text = value === undefined ? '' : String(value);
  if (typeof value === 'string' && /^[=+\-@]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function uncell(text: string | undefined): string {
  const value = text ?? '';
  return /^'[=+\-@]/.test(value) ? value.slice(1) : value;
}

/** The report as CSV text. */
export function formatReport(lines: readonly ReportLine[]): string {
  const sorted = [...lines].sort((a, b) => a.line - b.line);
  const body = sorted.map((l) => [l.line, l.externalReferenceId, l.trackingId, l.state, l.error].map(cell).join(','));
  return `${[REPORT_COLUMNS.join(','), ...body].join('\r\n')}\r\n`;
}

/** Writes the report (UTF-8, CRLF as spreadsheets expect). */
export function writeReport(filePath: string, lines: readonly ReportLine[]): void {
  writeFileSync(filePath, formatReport(lines), 'utf8');
}

/** A row an earlier report shows as done. */
export interface DoneInReport {
  trackingId: string;
  state: string;
}

/**
 * The rows an earlier report at `filePath` shows as done, by externalReferenceId. A missing file gives
 * an empty map; an unreadable one throws (the caller warns and goes on without it).
 */
export function readDoneFromReport(filePath: string): Map<string, DoneInReport> {
  const done = new Map<string, DoneInReport>();
  if (!existsSync(filePath)) return done;
  const records = parse<Record<string, string | undefined>>(readFileSync(filePath, 'utf8'), {
    columns: true,
    skip_empty_lines: true,
    bom: true,
  });
  for (const record of records) {
    const id = uncell(record.externalReferenceId);
    const state = uncell(record.state);
    const trackingId = uncell(record.trackingId);
    if (id && trackingId && DONE_STATES.has(state)) done.set(id, { trackingId, state });
  }
  return done;
}
