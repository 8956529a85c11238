/**
 * The console's calls to the app: same origin, the function key of the page's own URL (`?code=`) on every
 * call, or the EasyAuth cookie when Entra sits in front of the app.
 */

/** A tracking view as GET /api/referrals and GET /api/referrals/{id} answer it. */
export interface ReferralView {
  trackingId: string;
  state: string;
  final: boolean;
  dealType: string;
  /** `outbound` (the bridge created the referral) or `inbound` (someone else did). */
  direction?: string;
  /** The list's copy of `microsoft.decision`. */
  decision?: string;
  partnerReferral?: {
    id: string;
    engagementId?: string;
    status?: string;
    substatus?: string;
    statusReason?: string;
    updatedDateTime?: string;
    name?: string;
    dealValue?: number;
    currency?: string;
    closingDateTime?: string;
  };
  microsoftReferral?: { id: string };
  /** Microsoft's answer to a co-sell request. */
  microsoft?: { decision: string; msxId?: string; reason?: string; decidedAt?: string; respondBy?: string };
  /** What changed, newest first. */
  history?: HistoryEntry[];
  lastError?: {
    step: string;
    status?: number;
    code: string;
    message: string;
    errors?: Array<{ pointer: string; code: string; message: string }>;
  };
  parkedFrom?: string;
  createdAt: string;
  updatedAt: string;
}

/** One entry of a deal's history. */
export interface HistoryEntry {
  at: string;
  /** `us`, `event` or `reconcile`. */
  source: string;
  kind: string;
  from?: string;
  to?: string;
  note?: string;
}

/** A page of the list. */
export interface ReferralPage {
  items: ReferralView[];
  nextCursor: string | null;
}

/** GET /api/console/status. */
export interface ConsoleStatus {
  health: { status: string; version: string; dependencies: Record<string, { status: string; [k: string]: unknown }> };
  reconsent: { required: boolean; since?: string; command: string };
  refreshToken: { storedAt?: string; ageDays?: number; storedBy?: string; inactivityLimitDays: number; error?: string };
  queues: Array<{ queue: string; messages: number | null; poison: number | null }>;
  features: { actionsEnabled: boolean; resendAvailable: boolean; partnerCenterDashboardUrl: string };
}

/** GET /api/console/summary. */
export interface ConsoleSummary {
  days: Array<{ day: string; total: number; outcomes: Record<string, number> }>;
  answers: { accepted: number; declined: number; expired: number; waiting: number };
  responseTimes: { count: number; medianHours?: number; histogram: Array<{ fromDays: number; count: number }> };
  generatedAt: string;
}

/** A poison message as the console lists it. */
export interface PoisonMessage {
  messageId: string;
  insertedOn?: string;
  dequeueCount: number;
  trackingId?: string;
}

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
