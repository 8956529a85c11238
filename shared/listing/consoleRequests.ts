/**
 * The console's own requests: parsing the summary's `days`, a poison queue's name, a poison action body
 * (each answers a value or the 400 problem naming the bad parameter; nothing here throws), whether an action
 * may be taken at all (on, same-origin), and the poison action itself.
 */
import { z } from 'zod';
import { problem, type ProblemDetails } from '../referral/problem';
import { DEFAULT_SUMMARY_DAYS, MAX_SUMMARY_DAYS } from './constants';
import { actOnPoisonMessage, PoisonAction, WATCHED_QUEUES, type QueueClientFactory } from './poisonQueues';

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

/** The headers of a console action that tell where it was sent from (a browser always sends both). */
export interface ActionOriginHeaders {
  origin?: string | null;
  secFetchSite?: string | null;
}

/**
 * A 403 problem when a console action was sent by another site's page, else undefined (CSRF): a browser's
 * `Sec-Fetch-Site` must be `same-origin` and its `Origin` one of `allowedOrigins` (the request's own origin and
 * PUBLIC_BASE_URL's). A client that sends neither (curl, a script with the function key) is let through: it is
 * not a browser that a page could steer. The actions also take only `application/json` bodies (a cross-site
 * form cannot send one, and a cross-site fetch of one needs a CORS preflight the app never grants) and need the
 * function key, which another site does not know.
 */
export function crossSiteProblem(
  headers: ActionOriginHeaders,
  allowedOrigins: readonly string[],
): ProblemDetails | undefined {
  const site = headers.secFetchSite?.trim().toLowerCase();
  const origin = headers.origin?.trim();
  const sameSite = site === undefined || site === '' || site === 'same-origin';
  const sameOrigin =
    origin === undefined || origin === '' || allowedOrigins.some((allowed) => sameOriginAs(origin, allowed));
  if (sameSite && sameOrigin) return undefined;
  return problem(
    403,
    'cross-site-request',
    'Console actions are only taken from the console itself',
    'The request came from another site (Origin / Sec-Fetch-Site): open the console at its own address and act from there.',
  );
}

function sameOriginAs(origin: string, allowed: string): boolean {
  try {
    return origin !== 'null' && new URL(origin).origin === new URL(allowed).origin;
  } catch {
    return false;
  }
}

const ACTIONS_OFF = problem(
  403,
  'console-actions-disabled',
  'Console actions are off',
  'Set CONSOLE_ACTIONS_ENABLED=true.',
);

/** What {@link actionRefusal} decides on. */
export interface ActionRequest {
  /** CONSOLE_ACTIONS_ENABLED. */
  actionsEnabled: boolean;
  /** The console's own origins (the request's, PUBLIC_BASE_URL's). */
  origins: readonly string[];
  headers: ActionOriginHeaders;
}

/** The 403 problem refusing a console action (actions off, or sent by another site), else undefined. */
export function actionRefusal(request: ActionRequest): ProblemDetails | undefined {
  if (!request.actionsEnabled) return ACTIONS_OFF;
  return crossSiteProblem(request.headers, request.origins);
}

/** What {@link runPoisonAction} did: the action taken, or the 400/404 problem (nothing done). */
export type PoisonActionOutcome =
  { ok: true; value: z.infer<typeof actionSchema> } | { ok: false; problem: ProblemDetails };

/** POST /api/console/actions/poison: parses the body, then replays or discards the message (404: not there). */
export async function runPoisonAction(queueFor: QueueClientFactory, body: unknown): Promise<PoisonActionOutcome> {
  const action = parsePoisonAction(body);
  if (!action.ok) return action;
  const { queue, messageId, action: kind } = action.value;
  if (await actOnPoisonMessage(queueFor, queue, messageId, kind)) return action;
  return { ok: false, problem: problem(404, 'not-found', 'No such poison message (already moved?)') };
}
