/**
 * Turns validation findings into the RFC 9457 problem body of a rejected referral.
 *
 * zod reports issues at canonical paths (`details.dealValue`); they are mapped back to the keys the caller
 * sent (`Details.DealValue`) for the JSON pointer. Messages describe what is wrong and never contain an
 * input value: only field names, limits and documented enum values (suggestions included).
 */
import type { z } from 'zod';
import { REFERRAL_LIMITS } from './constants';
import { enumKey } from './enumLookup';
import type { FieldShape } from './fieldShape';
import {
  normaliseInput,
  type InputIssue,
  type InputPath,
  type NormalisedInput,
  type NormaliseOptions,
} from './normaliseInput';
import { nearestName } from './nearestName';
import { problem, toJsonPointer, type ProblemDetails, type ProblemFieldError } from './problem';

/** Problem `type` slug of validation failures. */
export const VALIDATION_PROBLEM_SLUG = 'validation';
/** Problem title of validation failures. */
export const VALIDATION_PROBLEM_TITLE = 'The referral is not valid';

/** What is needed to describe a zod issue: the canonical value zod saw and how to map its keys back. */
export interface IssueContext {
  /** The canonical (normalised) body zod validated. */
  canonical: unknown;
  /** The shape of the canonical body (for enum values). */
  shape: FieldShape;
  /** Caller keys of canonical objects whose keys were renamed. */
  originalKeys: WeakMap<object, Map<string, string>>;
}

/** Enums with at most this many values list them all in the message. */
const MAX_LISTED_VALUES = 12;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The caller's path for a canonical path, and the canonical value found there (undefined when absent). */
function locate(
  path: readonly PropertyKey[],
  context: IssueContext,
): { inputPath: (string | number)[]; value: unknown; shape: FieldShape | undefined } {
  const inputPath: (string | number)[] = [];
  let node: unknown = context.canonical;
  let shape: FieldShape | undefined = context.shape;
  for (const segment of path) {
    if (typeof segment === 'number') {
      inputPath.push(segment);
      node = Array.isArray(node) ? node[segment] : undefined;
      shape = shape?.kind === 'array' ? shape.element : undefined;
      continue;
    }
    const key = String(segment);
    const original = isRecord(node) ? context.originalKeys.get(node)?.get(key) : undefined;
    inputPath.push(original ?? key);
    node = isRecord(node) && Object.hasOwn(node, key) ? node[key] : undefined;
    shape = shape?.kind === 'object' ? shape.byName.get(key)?.shape : undefined;
  }
  return { inputPath, value: node, shape };
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
};

function enumMessage(values: readonly string[], shape: FieldShape | undefined, input: unknown): string {
  const description = shape?.kind === 'enum' ? shape.description : undefined;
  const expected =
    values.length <= MAX_LISTED_VALUES
      ? `one of: ${values.join(', ')}`
      : description
        ? `a valid ${description}`
        : 'a documented value';
  const suggestion = typeof input === 'string' ? nearestName(input, values, enumKey) : undefined;
  return `Must be ${expected}.${suggestion === undefined ? '' : ` Did you mean ${suggestion}?`}`;
}

function describe(issue: z.core.$ZodIssue, located: ReturnType<typeof locate>): { code: string; message: string } {
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && located.value === undefined) {
    return { code: 'required', message: 'Required.' };
  }
  switch (issue.code) {
    case 'invalid_type':
      return { code: 'invalid_type', message: `Must be ${TYPE_NAMES[issue.expected] ?? `of type ${issue.expected}`}.` };
    case 'invalid_value':
      return { code: 'invalid_enum', message: enumMessage(issue.values.map(String), located.shape, located.value) };
    case 'too_big':
      if (issue.origin === 'string')
        return { code: 'too_long', message: `Must be at most ${String(issue.maximum)} characters.` };
      if (issue.origin === 'array')
        return { code: 'too_many_items', message: `Must have at most ${String(issue.maximum)} items.` };
      return { code: 'too_large', message: `Must be at most ${String(issue.maximum)}.` };
    case 'too_small':
      if (issue.origin === 'string') return { code: 'empty', message: 'Must not be empty.' };
      if (issue.origin === 'array')
        return { code: 'too_few_items', message: `Must have at least ${String(issue.minimum)} items.` };
      return Number(issue.minimum) === 0
        ? { code: 'negative', message: 'Must not be negative.' }
        : { code: 'too_small', message: `Must be at least ${String(issue.minimum)}.` };
    case 'invalid_format':
      switch (issue.format) {
        case 'email':
          return { code: 'invalid_email', message: 'Must be an e-mail address.' };
        case 'datetime':
          return {
            code: 'invalid_date_time',
            message: 'Must be an ISO 8601 UTC date-time such as 2024-11-23T18:30:00Z.',
          };
        case 'guid':
        case 'uuid':
          return { code: 'invalid_guid', message: 'Must be a GUID such as 37ef26aa-1d15-4533-9f93-a69bd33ab1e5.' };
        default:
          return { code: 'invalid_format', message: 'Has the wrong format.' };
      }
    case 'custom': {
      const code = typeof issue.params?.code === 'string' ? issue.params.code : 'invalid';
      return { code, message: issue.message };
    }
    case 'unrecognized_keys':
      return { code: 'unknown_field', message: 'Unknown field.' };
    default:
      return { code: 'invalid', message: 'Is not valid.' };
  }
}

/** Maps zod issues (canonical paths) to field errors pointing at the caller's keys. */
export function fieldErrorsFromZod(issues: readonly z.core.$ZodIssue[], context: IssueContext): ProblemFieldError[] {
  const errors: ProblemFieldError[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const parent = locate(issue.path, context);
      for (const key of issue.keys)
        errors.push({
          pointer: toJsonPointer([...parent.inputPath, key]),
          code: 'unknown_field',
          message: 'Unknown field.',
        });
      continue;
    }
    const located = locate(issue.path, context);
    errors.push({ pointer: toJsonPointer(located.inputPath), ...describe(issue, located) });
  }
  return errors;
}

/** Field errors from issues already at caller paths (the key-normalising pass, option checks). */
export function fieldErrorsFromInput(issues: readonly InputIssue[]): ProblemFieldError[] {
  return issues.map((issue) => ({ pointer: toJsonPointer(issue.path), code: issue.code, message: issue.message }));
}

/** The caller's path of a canonical path (for checks made after zod). */
export function inputPathOf(path: readonly PropertyKey[], context: IssueContext): InputPath {
  return locate(path, context).inputPath;
}

/**
 * The 400 problem body: `type` …#validation, title "The referral is not valid", and at most
 * `REFERRAL_LIMITS.maxErrors` field errors (`detail` gives the full count).
 */
export function validationProblem(errors: readonly ProblemFieldError[]): ProblemDetails {
  const shown = errors.slice(0, REFERRAL_LIMITS.maxErrors);
  const count = errors.length === 1 ? '1 problem was found' : `${errors.length} problems were found`;
  const more = errors.length > shown.length ? ` The first ${shown.length} are listed.` : '';
  return problem(
    400,
    VALIDATION_PROBLEM_SLUG,
    VALIDATION_PROBLEM_TITLE,
    `${count} in the request body. Each entry of errors points at a field with a JSON pointer.${more}`,
    { errors: shown },
  );
}

/** What {@link parseShapedInput} found: the errors in input order, and the parsed value when zod accepted it. */
export interface ShapedParse<T> {
  /** Errors of the normalising pass, then zod's (empty when the input is valid). */
  errors: ProblemFieldError[];
  /** The zod-parsed value (undefined when the pass aborted or zod refused). */
  data: T | undefined;
  /** The normalised input (pass-through fields, the canonical value). */
  normalised: NormalisedInput;
  /** Maps zod paths back to the caller's keys (undefined when the pass aborted). */
  context: IssueContext | undefined;
}

/**
 * The one way a body is checked against a contract: normalise it by its field shape (key case, unknown
 * fields, depth and size), then parse the canonical value with zod, mapping every issue to a field error
 * whose pointer uses the caller's own keys.
 */
export function parseShapedInput<T>(
  input: unknown,
  shape: FieldShape,
  schema: z.ZodType<T>,
  options: NormaliseOptions,
): ShapedParse<T> {
  const normalised = normaliseInput(input, shape, options);
  const errors = fieldErrorsFromInput(normalised.issues);
  if (normalised.aborted) return { errors, data: undefined, normalised, context: undefined };
  const context: IssueContext = { canonical: normalised.value, shape, originalKeys: normalised.originalKeys };
  const parsed = schema.safeParse(normalised.value);
  if (!parsed.success) errors.push(...fieldErrorsFromZod(parsed.error.issues, context));
  return { errors, data: parsed.success ? parsed.data : undefined, normalised, context };
}
