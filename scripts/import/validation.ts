/**
 * The validation pass over every row before anything is sent: the contract's own check
 * (`validateReferralRequest`, so the messages are the API's), the idempotency key of each row, and keys
 * used twice in the file. Each problem keeps its pointer and the CSV column(s) behind it.
 */
import { createHash } from 'node:crypto';
import { validateReferralRequest, type ValidateOptions } from '../../shared/referral';
import { isValidIdempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH } from '../../shared/workflow/idempotency';
import { canonicalJson } from '../../shared/workflow/canonicalJson';
import { ImportUsageError } from './errors';
import { getAtPointer, parsePointer } from './pointer';
import type { ImportSource } from './reader';
import type { RowIssue, SourceRow } from './rows';

/** A row ready to submit. */
export interface ValidRow {
  line: number;
  body: Record<string, unknown>;
  /** Its idempotency key. */
  key: string;
  externalReferenceId?: string;
  /** SHA-256 of the body's canonical JSON: a rerun only skips a row whose content did not change. */
  bodyHash: string;
}

/** A row that is not sent, and why. */
export interface InvalidRow {
  line: number;
  externalReferenceId?: string;
  issues: RowIssue[];
}

/** The outcome of {@link validateRows}, rows in file order. */
export interface ValidationPass {
  valid: ValidRow[];
  invalid: InvalidRow[];
}

/** Options of {@link validateRows}. */
export interface ValidationOptions extends ValidateOptions {
  /**
   * Where the idempotency key comes from instead of `externalReferenceId`: a CSV column, or for JSONL a
   * top-level field name or a JSON pointer.
   */
  keyColumn?: string;
}

const EXTERNAL_REFERENCE_POINTER = '/externalReferenceId';

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** SHA-256 of the canonical JSON of a body. */
export function bodyHashOf(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

function keyOf(
  row: SourceRow,
  source: ImportSource,
  keyColumn: string | undefined,
): { key?: string; issue?: RowIssue } {
  let raw: string | undefined;
  let where: Pick<RowIssue, 'pointer' | 'columns'>;
  if (keyColumn !== undefined && row.cells) {
    raw = textOf(row.cells.get(keyColumn));
    where = { columns: [keyColumn] };
  } else {
    const pointer =
      keyColumn === undefined ? EXTERNAL_REFERENCE_POINTER : keyColumn.startsWith('/') ? keyColumn : `/${keyColumn}`;
    raw = textOf(getAtPointer(row.body, parsePointer(pointer) ?? []));
    where = { pointer, columns: source.columnsFor(pointer) };
  }
  const named = keyColumn === undefined ? 'externalReferenceId' : `--key-column ${keyColumn}`;
  if (raw === undefined) {
    return {
      issue: {
        ...where,
        code: 'missing_key',
        message: `No idempotency key: ${named} is empty. Each row needs one, so that a rerun creates nothing twice.`,
      },
    };
  }
  if (!isValidIdempotencyKey(raw)) {
    return {
      issue: {
        ...where,
        code: 'invalid_key',
        message: `The idempotency key (${named}) must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters.`,
      },
    };
  }
  return { key: raw };
}

/** Validates every row of `source`; throws {@link ImportUsageError} for a `--key-column` not in the CSV header. */
export function validateRows(source: ImportSource, options: ValidationOptions = {}): ValidationPass {
  const { keyColumn, ...contractOptions } = options;
  const firstCells = source.rows[0]?.cells;
  if (keyColumn !== undefined && firstCells && !firstCells.has(keyColumn)) {
    throw new ImportUsageError(`--key-column "${keyColumn}" is not a column of ${source.filePath}.`);
  }
  const valid: ValidRow[] = [];
  const invalid: InvalidRow[] = [];
  const firstLineOfKey = new Map<string, number>();
  for (const row of source.rows) {
    const externalReferenceId = textOf(getAtPointer(row.body, ['externalReferenceId']));
    const issues: RowIssue[] = [...row.issues];
    const converted = new Set(row.issues.map((i) => i.pointer));
    const result = validateReferralRequest(row.body, contractOptions);
    if (!result.ok) {
      const errors = result.problem.errors ?? [];
      if (errors.length === 0) {
        issues.push({ code: 'invalid', message: result.problem.detail ?? result.problem.title });
      }
      for (const error of errors) {
        const pointer = error.pointer ?? '';
        if (converted.has(pointer)) continue;
        issues.push({
          pointer,
          columns: source.columnsFor(pointer),
          code: error.code,
          message: error.message,
        });
      }
    }
    const { key, issue } = keyOf(row, source, keyColumn);
    if (issue) issues.push(issue);
    if (key !== undefined) {
      const firstLine = firstLineOfKey.get(key);
      if (firstLine === undefined) firstLineOfKey.set(key, row.line);
      else {
        issues.push({
          code: 'duplicate_key',
          message: `Same idempotency key as line ${firstLine}: each row needs its own key.`,
        });
      }
    }
    if (issues.length > 0 || key === undefined) invalid.push({ line: row.line, externalReferenceId, issues });
    else valid.push({ line: row.line, body: row.body, key, externalReferenceId, bodyHash: bodyHashOf(row.body) });
  }
  return { valid, invalid };
}
