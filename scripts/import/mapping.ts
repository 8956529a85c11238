/**
 * The mapping from CRM export columns to referral fields (docs/import.md): loading and checking a
 * mapping file, building a request body from one CSV record, and naming the column(s) behind a JSON
 * pointer of a validation problem.
 *
 * ```json
 * { "columns": { "Topic": "/name",
 *                "Est. Revenue": { "field": "/details/dealValue", "type": "number" },
 *                "Status": [ { "field": "/status", "values": { "Won": "Closed" } }, ... ] },
 *   "set": { "/dealType": "PartnerLed" } }
 * ```
 * `set` values come first, then the columns in file order (a non-empty cell overrides a `set` value). An
 * empty cell leaves its field out (or uses the entry's `default`); `values` translates CRM picklist labels
 * (matched without regard to case), `null` there leaves the field out, `"*"` stands for any other label,
 * and without `"*"` labels it does not list are passed on for the contract to judge.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CellType, convertCell, type ConversionOptions } from './conversions';
import { ImportFileError } from './errors';
import { isWithin, parsePointer, setAtPointer } from './pointer';
import type { RowIssue } from './rows';

const pointerSchema = z.string().refine((p) => p !== '' && parsePointer(p) !== undefined, {
  message: 'must be a JSON pointer such as /details/dealValue (no __proto__, constructor or prototype)',
});
const jsonValueSchema: z.ZodType<unknown> = z.json();

const entrySchema = z
  .object({
    field: pointerSchema,
    type: z.enum(Object.values(CellType) as [CellType, ...CellType[]]).optional(),
    format: z.string().min(1).optional(),
    decimalSeparator: z.enum(['.', ',']).optional(),
    separator: z.string().min(1).optional(),
    itemKey: z.string().min(1).optional(),
    values: z.record(z.string(), jsonValueSchema).optional(),
    default: jsonValueSchema.optional(),
  })
  .strict();
const targetSchema = z.union([pointerSchema, entrySchema]);

/** The mapping file's schema. */
export const mappingFileSchema = z
  .object({
    description: z.string().optional(),
    /** CSV delimiter. @default ',' */
    delimiter: z.string().length(1).optional(),
    columns: z.record(z.string().min(1), z.union([targetSchema, z.array(targetSchema).min(1)])),
    set: z.record(pointerSchema, jsonValueSchema).optional(),
  })
  .strict();
/** A mapping file as written. */
export type MappingFile = z.infer<typeof mappingFileSchema>;

/** One column → field rule, ready to apply. */
export interface MappingEntry {
  column: string;
  pointer: string;
  segments: string[];
  conversion: ConversionOptions;
  /** Picklist translation, keys lower-cased and trimmed. */
  values?: ReadonlyMap<string, unknown>;
  default?: unknown;
}

/** A checked mapping. */
export interface Mapping {
  description?: string;
  delimiter: string;
  entries: MappingEntry[];
  constants: Array<{ pointer: string; segments: string[]; value: unknown }>;
}

/** `values` key that stands for every label the map does not list. */
export const OTHER_VALUES = '*';

/** Label of a field set by the mapping's `set` block (where a column name would be). */
export const SET_IN_MAPPING = '(set in the mapping)';

/** Checks a parsed mapping file; `source` names it in errors. */
export function compileMapping(input: unknown, source: string): Mapping {
  const parsed = mappingFileSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new ImportFileError(source, `not a valid mapping: ${problems}.`);
  }
  const file = parsed.data;
  const entries: MappingEntry[] = [];
  for (const [column, targets] of Object.entries(file.columns)) {
    for (const target of Array.isArray(targets) ? targets : [targets]) {
      const rule = typeof target === 'string' ? { field: target } : target;
      entries.push({
        column,
        pointer: rule.field,
        segments: parsePointer(rule.field) ?? [],
        conversion: {
          type: rule.type ?? CellType.string,
          format: rule.format,
          decimalSeparator: rule.decimalSeparator,
          separator: rule.separator,
          itemKey: rule.itemKey,
        },
        values: rule.values
          ? new Map(Object.entries(rule.values).map(([label, value]) => [label.trim().toLowerCase(), value]))
          : undefined,
        default: rule.default,
      });
    }
  }
  const constants = Object.entries(file.set ?? {}).map(([pointer, value]) => ({
    pointer,
    segments: parsePointer(pointer) ?? [],
    value,
  }));
  return { description: file.description, delimiter: file.delimiter ?? ',', entries, constants };
}

/** Reads and checks a mapping file; throws {@link ImportFileError}. */
export function loadMapping(filePath: string): Mapping {
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(filePath, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file.' : 'not valid JSON.';
    throw new ImportFileError(filePath, reason, { cause: error });
  }
  return compileMapping(input, filePath);
}

/** Checks that the header has every mapped column once; throws {@link ImportFileError} naming what is missing. */
export function checkHeader(mapping: Mapping, header: readonly string[], filePath: string): void {
  const seen = new Set<string>();
  for (const name of header) {
    if (name !== '' && seen.has(name)) throw new ImportFileError(filePath, `the header has column "${name}" twice.`);
    seen.add(name);
  }
  const missing = [...new Set(mapping.entries.map((e) => e.column))].filter((column) => !seen.has(column));
  if (missing.length > 0) {
    throw new ImportFileError(
      filePath,
      `the mapping names ${missing.map((c) => `"${c}"`).join(', ')}, not in the header (line 1 has: ${header
        .map((c) => `"${c}"`)
        .join(', ')}).`,
    );
  }
}

/** Builds the request body of one CSV record (cells by header name) and the conversion problems. */
export function buildBody(
  mapping: Mapping,
  cells: ReadonlyMap<string, string>,
): { body: Record<string, unknown>; issues: RowIssue[] } {
  const body: Record<string, unknown> = {};
  const issues: RowIssue[] = [];
  for (const constant of mapping.constants) setAtPointer(body, constant.segments, structuredClone(constant.value));
  for (const entry of mapping.entries) {
    const cell = (cells.get(entry.column) ?? '').trim();
    if (cell === '') {
      if (entry.default !== undefined) setAtPointer(body, entry.segments, structuredClone(entry.default));
      continue;
    }
    const label = cell.toLowerCase();
    const listed = entry.values?.has(label) ? label : entry.values?.has(OTHER_VALUES) ? OTHER_VALUES : undefined;
    if (listed !== undefined) {
      const value = entry.values?.get(listed);
      if (value !== null) setAtPointer(body, entry.segments, structuredClone(value));
      continue;
    }
    const converted = convertCell(cell, entry.conversion);
    if (converted.ok) setAtPointer(body, entry.segments, converted.value);
    else
      issues.push({
        pointer: entry.pointer,
        columns: [entry.column],
        code: 'invalid_format',
        message: converted.message,
      });
  }
  return { body, issues };
}

/**
 * The columns behind a problem's pointer: those mapped to it or inside it (a problem at `/customerProfile`
 * names every customer column), else the one whose field holds it (a list column mapped to
 * `/details/requirements/products` for `/details/requirements/products/0/id`). A field from `set` is named
 * {@link SET_IN_MAPPING}. Empty when no column feeds it (a required field the mapping never fills).
 */
export function columnsFor(mapping: Mapping, pointer: string): string[] {
  const inside = mapping.entries.filter((e) => isWithin(e.pointer, pointer)).map((e) => e.column);
  const holding = mapping.entries.filter((e) => isWithin(pointer, e.pointer)).map((e) => e.column);
  const columns = [...new Set(inside.length > 0 ? inside : holding)];
  if (columns.length > 0) return columns;
  return mapping.constants.some((c) => isWithin(pointer, c.pointer) || isWithin(c.pointer, pointer))
    ? [SET_IN_MAPPING]
    : [];
}
