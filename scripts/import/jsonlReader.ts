/**
 * Reads JSONL: one request body (a JSON object) per line; blank lines are skipped. A line that is not
 * UTF-8, not JSON or not an object is an {@link UnreadableRecord} naming its line; the others still count.
 */
import type { DecodedFile } from './encoding';
import type { SourceRow, UnreadableRecord } from './rows';

/** The rows and unreadable lines of a JSONL file. */
export interface JsonlContent {
  rows: SourceRow[];
  unreadable: UnreadableRecord[];
}

/** Where JSON.parse stopped, from its message (the message itself may quote the input, so it is never shown). */
function positionOf(error: unknown): number | undefined {
  const match = error instanceof Error ? /position (\d+)/.exec(error.message) : null;
  return match ? Number(match[1]) : undefined;
}

/** Splits decoded JSONL text into rows and unreadable lines. */
export function readJsonl(file: DecodedFile): JsonlContent {
  const rows: SourceRow[] = [];
  const unreadable: UnreadableRecord[] = [];
  file.text.split('\n').forEach((text, index) => {
    const line = index + 1;
    if (text.trim() === '') return;
    if (file.invalidLines.has(line)) {
      unreadable.push({ line, code: 'invalid_utf8', message: 'The line is not valid UTF-8; save the file as UTF-8.' });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const position = positionOf(error);
      const at = position === undefined ? '' : ` (at column ${position + 1})`;
      unreadable.push({ line, code: 'invalid_json', message: `The line is not valid JSON${at}.` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      unreadable.push({
        line,
        code: 'not_an_object',
        message: 'Each line must be one JSON object (a request body).',
      });
      return;
    }
    rows.push({ line, body: value as Record<string, unknown>, issues: [] });
  });
  return { rows, unreadable };
}
