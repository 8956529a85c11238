/**
 * Parsing of the console's own requests: the summary's `days`, a poison queue's name, a poison action body.
 * Each answers a value or the 400 problem naming the bad parameter; nothing here throws.
 */
import { z } from 'zod';
import { problem, type ProblemDetails } from '../referral/problem';
import { DEFAULT_SUMMARY_DAYS, MAX_SUMMARY_DAYS } from './constants';
import { PoisonAction, WATCHED_QUEUES } from './poisonQueues';

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: ProblemDetails };

const invalid = (parameter: string, reason: string): { ok: false; problem: ProblemDetails } => ({
  ok: false,
  problem: problem(400, 'invalid-query', 'Invalid parameter', `${parameter} ${reason}.`, {
    parameter,
    invalidParams: [{ name: parameter, reason }],
  }),
});

/** `days` of GET /api/console/summary: 1 to 31, default 14. */
export function parseSummaryDays(text: string | null): Parsed<number> {
  if (text === null) return { ok: true, value: DEFAULT_SUMMARY_DAYS };
  const days = /^\d{1,2}$/.test(text) ? Number(text) : NaN;
  if (!(days >= 1 && days <= MAX_SUMMARY_DAYS))
    return invalid('days', `must be a whole number from 1 to ${MAX_SUMMARY_DAYS}`);
  return { ok: true, value: days };
}

/** A queue the console watches (its poison twin is read). */
export function parseQueueName(text: string | undefined): Parsed<string> {
  if (text === undefined || !WATCHED_QUEUES.includes(text)) {
    return invalid('queue', `must be one of ${WATCHED_QUEUES.join(', ')}`);
  }
  return { ok: true, value: text };
}

const actionSchema = z
  .object({
    queue: z.enum(WATCHED_QUEUES as [string, ...string[]]),
    messageId: z.string().regex(/^[A-Za-z0-9-]{1,100}$/),
    action: z.enum(Object.values(PoisonAction)),
  })
  .strict();

/** The body of POST /api/console/actions/poison. */
export function parsePoisonAction(body: unknown): Parsed<z.infer<typeof actionSchema>> {
  const result = actionSchema.safeParse(body);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  return invalid(String(issue?.path[0] ?? 'body'), 'is missing or invalid');
}
