/**
 * Cell conversions a mapping can ask for: CRM exports write numbers, booleans and dates for people
 * (`$1,250,000.00`, `Yes`, `6/30/2026 5:00 PM`); the contract wants JSON numbers, booleans and ISO 8601
 * date-times in UTC. A conversion either gives a value or a message (never quoting the cell).
 */

/** How a cell becomes a JSON value. */
export const CellType = {
  string: 'string',
  number: 'number',
  integer: 'integer',
  boolean: 'boolean',
  /** A date (no time): `YYYY-MM-DDT00:00:00Z`. */
  date: 'date',
  /** A date and time, taken as UTC [inferred: exports carry no zone]. */
  dateTime: 'dateTime',
  /** Items split by `separator`: an array of strings, or of `{ [itemKey]: item }`. */
  list: 'list',
} as const;
export type CellType = (typeof CellType)[keyof typeof CellType];

/** Options of one conversion (from the mapping entry). */
export interface ConversionOptions {
  type: CellType;
  /** Date layout for `date` / `dateTime`: `YYYY`, `MM`/`M`, `DD`/`D`, `HH`/`H` (24 h), `hh`/`h` (12 h) with `A`, `mm`, `ss`. */
  format?: string;
  /** Decimal separator of `number` cells. @default '.' */
  decimalSeparator?: '.' | ',';
  /** Item separator of `list` cells. @default ';' */
  separator?: string;
  /** `list` items become `{ [itemKey]: item }` (e.g. `id` for `details.requirements.products`). */
  itemKey?: string;
}

/** A converted cell, or why it could not be converted. */
export type Conversion = { ok: true; value: unknown } | { ok: false; message: string };

const TRUE_WORDS = new Set(['true', 'yes', 'y', '1', 'x']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0']);

function toNumber(cell: string, decimalSeparator: '.' | ','): number | undefined {
  // A currency code or symbol before or after, spaces (also no-break) as thousands separators, a leading
  // minus or accounting parentheses for a negative amount; anything else is not a number.
  const bare = cell.replace(/^[A-Z]{3}(?=[\s\d(-])|(?<=[\d\s)])[A-Z]{3}$/g, '').replace(/[$€£¥₹\s\u00a0\u202f]/g, '');
  const match = /^(-?)(\()?([\d.,]+)(\))?$/.exec(bare);
  if (!match || Boolean(match[2]) !== Boolean(match[4])) return undefined;
  const thousands = decimalSeparator === '.' ? ',' : '.';
  const normal = match[3].split(thousands).join('').replace(decimalSeparator, '.');
  if (!/^\d+(\.\d+)?$/.test(normal)) return undefined;
  const value = Number(normal);
  return match[1] || match[2] ? -value : value;
}

const TOKEN = /YYYY|MM|M|DD|D|HH|H|hh|h|mm|ss|A/g;

/** Parses `cell` with a date layout into UTC parts; undefined when it does not fit or is no real date. */
function parseDate(cell: string, format: string): Date | undefined {
  const tokens: string[] = [];
  const escaped = format.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = escaped.replace(TOKEN, (token) => {
    tokens.push(token);
    if (token === 'YYYY') return '(\\d{4})';
    if (token === 'A') return '([AaPp][Mm])';
    return token.length === 2 ? '(\\d{2})' : '(\\d{1,2})';
  });
  const match = new RegExp(`^${pattern.replace(/\s+/g, '\\s+')}$`).exec(cell);
  if (!match) return undefined;
  const parts: Record<string, string> = {};
  tokens.forEach((token, i) => (parts[token.length === 1 && token !== 'A' ? token + token : token] = match[i + 1]));
  const year = Number(parts.YYYY);
  const month = Number(parts.MM);
  const day = Number(parts.DD);
  let hour = Number(parts.HH ?? parts.hh ?? 0);
  if (parts.A !== undefined) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (parts.A.toLowerCase() === 'pm' ? 12 : 0);
  }
  const minute = Number(parts.mm ?? 0);
  const second = Number(parts.ss ?? 0);
  if (!year || !month || !day) return undefined;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const fits =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    minute < 60 &&
    second < 60;
  return fits ? date : undefined;
}

/** `2026-06-30T00:00:00Z` (whole seconds, as Partner Center's examples). */
function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Converts one trimmed, non-empty cell. */
export function convertCell(cell: string, options: ConversionOptions): Conversion {
  switch (options.type) {
    case CellType.string:
      return { ok: true, value: cell };
    case CellType.number:
    case CellType.integer: {
      const value = toNumber(cell, options.decimalSeparator ?? '.');
      if (value === undefined) return { ok: false, message: 'Not a number.' };
      if (options.type === CellType.integer && !Number.isInteger(value)) {
        return { ok: false, message: 'Not a whole number.' };
      }
      return { ok: true, value };
    }
    case CellType.boolean: {
      const word = cell.toLowerCase();
      if (TRUE_WORDS.has(word)) return { ok: true, value: true };
      if (FALSE_WORDS.has(word)) return { ok: true, value: false };
      return { ok: false, message: 'Not a yes/no value (true, false, yes, no, 1, 0).' };
    }
    case CellType.date:
    case CellType.dateTime: {
      if (!options.format) {
        // ISO already: a bare date gets midnight UTC; anything else goes to the contract as it is.
        return { ok: true, value: /^\d{4}-\d{2}-\d{2}$/.test(cell) ? `${cell}T00:00:00Z` : cell };
      }
      const date = parseDate(cell, options.format);
      if (!date) return { ok: false, message: `Not a date in the layout ${options.format}.` };
      if (options.type === CellType.date) date.setUTCHours(0, 0, 0, 0);
      return { ok: true, value: isoSeconds(date) };
    }
    case CellType.list: {
      const items = cell
        .split(options.separator ?? ';')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      const itemKey = options.itemKey;
      return { ok: true, value: itemKey ? items.map((item) => ({ [itemKey]: item })) : items };
    }
  }
}
