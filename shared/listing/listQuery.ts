/**
 * Parses the query string of GET /api/referrals into a {@link ListQuery}, or names every bad parameter.
 * Never throws: any input gives a query or a list of problems (a property test checks it).
 */
import { z } from 'zod';
import { TrackingState } from '../tracking/states';
import { DEFAULT_PAGE_LIMIT, Decision, Direction, LISTED_DEAL_TYPES, MAX_PAGE_LIMIT } from './constants';
import { decodeCursor, filterHashOf, type ListCursor } from './cursor';
import { isDay } from './indexEntry';
import { problem, type ProblemDetails } from '../referral/problem';

/** The filters of a list request (all optional; absent = no condition). */
export interface ListFilters {
  states?: TrackingState[];
  final?: boolean;
  dealType?: string;
  direction?: Direction;
  decision?: Decision;
  updatedSinceEpochMs?: number;
  externalReferenceId?: string;
}

/** A parsed list request. */
export interface ListQuery {
  filters: ListFilters;
  limit: number;
  cursor?: ListCursor;
  /** Hash of `filters`: what a cursor of this query carries. */
  filterHash: string;
}

/** One rejected parameter. */
export interface InvalidParameter {
  name: string;
  reason: string;
}

/** Parameters the list reads; `code` is the function key (read by the platform, ignored here). */
export const LIST_PARAMETERS = [
  'state',
  'final',
  'dealType',
  'direction',
  'decision',
  'updatedSince',
  'externalReferenceId',
  'limit',
  'cursor',
  'code',
] as const;

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const STATES = Object.values(TrackingState) as string[];

const parameterSchemas = {
  state: z
    .string()
    .transform((text) => text.split(','))
    .pipe(z.array(z.enum(STATES as [string, ...string[]], { error: `must be one or more of ${STATES.join(', ')}` })))
    .transform((states) => [...new Set(states)] as TrackingState[]),
  final: z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true'),
  dealType: z.enum(LISTED_DEAL_TYPES, { error: `must be one of ${LISTED_DEAL_TYPES.join(', ')}` }),
  direction: z.enum(Object.values(Direction), { error: 'must be outbound or inbound' }),
  decision: z.enum(Object.values(Decision), { error: `must be one of ${Object.values(Decision).join(', ')}` }),
  updatedSince: z
    .string()
    .regex(ISO_INSTANT, 'must be an ISO 8601 date or date-time with a time zone (2025-11-26T08:00:00Z)')
    .transform((text, ctx) => {
      const epochMs = Date.parse(text);
      if (Number.isNaN(epochMs) || !isDay(text.slice(0, 10))) {
        ctx.addIssue({ code: 'custom', message: 'is not a valid date' });
        return z.NEVER;
      }
      return epochMs;
    }),
  externalReferenceId: z
    .string()
    .min(1, 'must not be empty')
    .max(1024, 'must be at most 1024 characters')
    .refine((text) => text.trim() !== '', 'must not be blank'),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, `must be a whole number from 1 to ${MAX_PAGE_LIMIT}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_PAGE_LIMIT, `must be a whole number from 1 to ${MAX_PAGE_LIMIT}`),
} as const;

/** Parses the parameters (one value each); every bad one is reported. */
export function parseListQuery(
  params: Iterable<[string, string]>,
): { ok: true; query: ListQuery } | { ok: false; invalid: InvalidParameter[] } {
  const invalid: InvalidParameter[] = [];
  const values = new Map<string, string>();
  for (const [name, value] of params) {
    if (!(LIST_PARAMETERS as readonly string[]).includes(name)) {
      invalid.push({
        name: name.slice(0, 64),
        reason: `is not a parameter of this list (use ${LIST_PARAMETERS.slice(0, -1).join(', ')})`,
      });
    } else if (values.has(name)) invalid.push({ name, reason: 'is given more than once' });
    else values.set(name, value);
  }
  const filters: ListFilters = {};
  const read = <K extends keyof typeof parameterSchemas>(
    name: K,
  ): z.output<(typeof parameterSchemas)[K]> | undefined => {
    const text = values.get(name);
    if (text === undefined) return undefined;
    const result = parameterSchemas[name].safeParse(text);
    if (result.success) return result.data as z.output<(typeof parameterSchemas)[K]>;
    invalid.push({ name, reason: result.error.issues[0]?.message ?? 'is invalid' });
    return undefined;
  };
  const states = read('state');
  if (states) filters.states = states;
  const final = read('final');
  if (final !== undefined) filters.final = final;
  const dealType = read('dealType');
  if (dealType) filters.dealType = dealType;
  const direction = read('direction');
  if (direction) filters.direction = direction;
  const decision = read('decision');
  if (decision) filters.decision = decision;
  const updatedSince = read('updatedSince');
  if (updatedSince !== undefined) filters.updatedSinceEpochMs = updatedSince;
  const externalReferenceId = read('externalReferenceId');
  if (externalReferenceId !== undefined) filters.externalReferenceId = externalReferenceId;
  const limit = read('limit') ?? DEFAULT_PAGE_LIMIT;
  const filterHash = filterHashOf({ ...filters });
  let cursor: ListCursor | undefined;
  const cursorText = values.get('cursor');
  if (cursorText !== undefined) {
    cursor = decodeCursor(cursorText);
    if (!cursor) invalid.push({ name: 'cursor', reason: 'is not a cursor this list returned' });
    else if (cursor.filterHash !== filterHash) {
      invalid.push({ name: 'cursor', reason: 'was returned for other filters: repeat the filters of its first page' });
    }
  }
  if (invalid.length > 0) return { ok: false, invalid };
  return { ok: true, query: { filters, limit, filterHash, ...(cursor ? { cursor } : {}) } };
}

/** The 400 problem for rejected parameters: `parameter` names the first, `invalidParams` lists them all. */
export function invalidQueryProblem(invalid: readonly InvalidParameter[]): ProblemDetails {
  const first = invalid[0] ?? { name: '(query)', reason: 'is invalid' };
  return problem(400, 'invalid-query', 'Invalid query parameter', `${first.name} ${first.reason}.`, {
    parameter: first.name,
    invalidParams: invalid.map(({ name, reason }) => ({ name, reason })),
  });
}
