/**
 * The console's calls to the app: same origin, the function key of the page's own URL (`?code=`) on every
 * call, or the EasyAuth cookie when Entra sits in front of the app.
 */

import type { ConsoleStatus as SharedConsoleStatus } from '../../shared/listing/consoleStatus';
import type { ResendEligibility as SharedResendEligibility } from '../../shared/listing/consoleResend';
import type { ListItem } from '../../shared/listing/listReferrals';
import type { PoisonMessageSummary } from '../../shared/listing/poisonQueues';
import type { ConsoleSummary as SharedConsoleSummary } from '../../shared/listing/summary';
import type { ProblemFieldError } from '../../shared/referral/problem';
import type { TrackingView } from '../../shared/workflow/trackingView';

/**
 * A tracking view as GET /api/referrals and GET /api/referrals/{id} answer it: the app's own type
 * (shared/workflow/trackingView.ts, a type-only import that esbuild erases), plus the list's copy of
 * `microsoft.decision`.
 */
export type ReferralView = TrackingView & Partial<Pick<ListItem, 'decision'>>;

/** One entry of a deal's history. */
export type HistoryEntry = NonNullable<TrackingView['history']>[number];

/** A page of the list. */
export interface ReferralPage {
  items: ReferralView[];
  nextCursor: string | null;
}

/** GET /api/console/status (shared/listing/consoleStatus.ts). */
export type ConsoleStatus = SharedConsoleStatus;

/** GET /api/console/summary (shared/listing/summary.ts). */
export type ConsoleSummary = SharedConsoleSummary;

/** A poison message as the console lists it (shared/listing/poisonQueues.ts). */
export type PoisonMessage = PoisonMessageSummary;

/** A failed call, with the problem's detail when the app sent one. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const code = new URLSearchParams(location.search).get('code');
/** /api, from the page's own path (/api/console). */
const apiBase = location.pathname.replace(/\/console\/?$/, '');

/** The URL of an API path with query parameters and the page's function key. */
export function apiUrl(path: string, params: Record<string, string | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(name, value);
  if (code) query.set('code', code);
  const text = query.toString();
  return `${apiBase}${path}${text ? `?${text}` : ''}`;
}

async function call<T>(path: string, params: Record<string, string | undefined> = {}, init?: RequestInit): Promise<T> {
  const response = await fetch(apiUrl(path, params), { credentials: 'same-origin', ...init });
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok && response.status !== 202) {
    const detail = typeof body === 'object' && body !== null && 'detail' in body ? String(body.detail) : '';
    throw new ApiError(detail || `The app answered ${response.status}`, response.status);
  }
  return body as T;
}

/** One page of the pipeline. */
export const listReferrals = (params: Record<string, string | undefined>): Promise<ReferralPage> =>
  call<ReferralPage>('/referrals', params);
/** One deal. */
export const getReferral = (trackingId: string): Promise<ReferralView> =>
  call<ReferralView>(`/referrals/${encodeURIComponent(trackingId)}`);
/** Banner and status cards. */
export const getStatus = (): Promise<ConsoleStatus> => call<ConsoleStatus>('/console/status');
/** Charts. */
export const getSummary = (days: number): Promise<ConsoleSummary> =>
  call<ConsoleSummary>('/console/summary', { days: String(days) });
/** Poison messages of a queue. */
export const getPoison = (queue: string): Promise<{ messages: PoisonMessage[] }> =>
  call<{ messages: PoisonMessage[] }>(`/console/poison/${encodeURIComponent(queue)}`);
/** Replays or discards one poison message. */
export const actOnPoison = (queue: string, messageId: string, action: 'replay' | 'discard'): Promise<unknown> =>
  call(
    '/console/actions/poison',
    {},
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ queue, messageId, action }),
    },
  );

/** GET /api/console/resend/{trackingId}: whether a refused deal can be resent, what it needs, and whether actions are on. */
export type ResendEligibility = SharedResendEligibility & { actionsEnabled: boolean };

/** One field's problem of a problem+json answer: a JSON pointer into the body, or a header. */
export type FieldProblem = ProblemFieldError;

/** The answer of a resend: the record moved on, or the app's problem (nothing was written). */
export type ResendAnswer =
  | { ok: true; tracking: ReferralView; replayed: boolean }
  | { ok: false; status: number; title: string; detail?: string; errors: FieldProblem[] };

/** Whether the refused deal can be resent. */
export const getResendEligibility = (trackingId: string): Promise<ResendEligibility> =>
  call<ResendEligibility>(`/console/resend/${encodeURIComponent(trackingId)}`);

/**
 * Resends a refused deal with the corrected request `body` (JSON text, sent as it is) and, for a deal keyed by
 * one, its Idempotency-Key. Problems are answered, not thrown: the form shows them next to the fields.
 */
export async function resendDeal(trackingId: string, body: string, idempotencyKey?: string): Promise<ResendAnswer> {
  const response = await fetch(apiUrl(`/console/actions/resend/${encodeURIComponent(trackingId)}`), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', ...(idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {}) },
    body,
  });
  const answer: unknown = await response.json().catch(() => undefined);
  const fields = typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>) : {};
  if (response.ok) {
    return { ok: true, tracking: fields.tracking as ReferralView, replayed: fields.replayed === true };
  }
  return {
    ok: false,
    status: response.status,
    title: typeof fields.title === 'string' ? fields.title : `The app answered ${response.status}`,
    ...(typeof fields.detail === 'string' ? { detail: fields.detail } : {}),
    errors: Array.isArray(fields.errors) ? (fields.errors as FieldProblem[]) : [],
  };
}
