/**
 * The list's opaque cursor: base64url of a small versioned JSON, checked strictly on the way back in.
 *
 * `{ "v": 1, "d": "2025-11-26", "k": "8235860781234-r…", "f": "3fa9c01b2d4e" }`: the day partition to
 * continue in, the last RowKey returned there (absent: start of the day), and a hash of the filters the
 * cursor was made for (a cursor is not valid for other filters).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isDay, ROW_KEY_PATTERN } from './indexEntry';

/** A decoded cursor. */
export interface ListCursor {
  day: string;
  afterRowKey?: string;
  filterHash: string;
}

const CURSOR_VERSION = 1;
const LONGEST_CURSOR_CHARS = 400;

const cursorSchema = z
  .object({
    v: z.literal(CURSOR_VERSION),
    d: z.string().refine(isDay, 'not a day'),
    k: z.string().regex(ROW_KEY_PATTERN).optional(),
    f: z.string().regex(/^[0-9a-f]{12}$/),
  })
  .strict();

/** Encodes a cursor. */
export function encodeCursor(cursor: ListCursor): string {
  const body = {
    v: CURSOR_VERSION,
    d: cursor.day,
    ...(cursor.afterRowKey ? { k: cursor.afterRowKey } : {}),
    f: cursor.filterHash,
  };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/** Decodes a cursor; undefined for anything that is not one this version wrote. Never throws. */
export function decodeCursor(text: string): ListCursor | undefined {
  if (text.length === 0 || text.length > LONGEST_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const result = cursorSchema.safeParse(parsed);
  if (!result.success) return undefined;
  // Re-encoding must give the same text: rejects padding tricks and non-canonical spellings.
  const cursor: ListCursor = {
    day: result.data.d,
    ...(result.data.k ? { afterRowKey: result.data.k } : {}),
    filterHash: result.data.f,
  };
  return encodeCursor(cursor) === text ? cursor : undefined;
}

/** A short hash of a filter set (any JSON value; keys are sorted first). */
export function filterHashOf(filters: Record<string, unknown>): string {
  const sorted = Object.keys(filters)
    .sort()
    .map((key) => [key, filters[key]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 12);
}
