/**
 * Submits validated rows through the HTTP API as a well-behaved client, `concurrency` at a time:
 *
 * ```
 * POST /referrals (Idempotency-Key) ─► 201/200 ─────────────────────────────► accepted
 *                                   ├► 202 + Location ─► GET Location … 200 ─► accepted / Rejected
 *                                   ├► 400/413/415 (Invalid), 422 (Rejected, KeyReused) ─► refused
 *                                   ├► 429/5xx/timeout ─► wait Retry-After (or back-off), same key ─► again
 *                                   └► 401/403/404 ─► the whole run stops (wrong key or URL)
 * ```
 * A 429 or 503 holds back every lane until its Retry-After has passed, not just the one that got it.
 * Retrying is safe because each row carries its idempotency key: a repeated POST is a replay.
 *
 * Stopping (`stopSignal`, Ctrl-C): no new row is taken, waits and polls end at once, requests in flight
 * finish (until `abortSignal` cuts them); rows never sent are reported as not submitted.
 */
import { TrackingState } from '../../shared/tracking/states';
import { ImportRowState } from './constants';
import { ImportApiError } from './errors';
import { backoffMs, pause, retryAfterMs, sendRequest, type HttpAnswer } from './http';

/** One row to submit. */
export interface SubmitJob {
  line: number;
  key: string;
  body: Record<string, unknown>;
}

/** A problem the API named in a 400 answer. */
export interface ApiFieldError {
  pointer: string;
  code: string;
  message: string;
}

/** What became of one row. */
export type SubmitResult =
  | { kind: 'accepted'; trackingId: string; state: string; final: boolean; replayed: boolean }
  | { kind: 'refused'; state: string; trackingId?: string; message: string; errors?: ApiFieldError[] }
  | { kind: 'failed'; message: string; trackingId?: string }
  | { kind: 'notSubmitted'; message: string; trackingId?: string };

/** Options of {@link submitRows}. */
export interface SubmitterOptions {
  /** Base of the API: `http://127.0.0.1:7071/api` (POST `<base>/referrals`). */
  apiBaseUrl: string;
  /** Function key, sent as `x-functions-key`. */
  functionKey?: string;
  /** Send the key as `Idempotency-Key` (false: leave it to the server, which keys on externalReferenceId). @default true */
  sendKeyHeader?: boolean;
  /** Requests in flight. @default 8 */
  concurrency?: number;
  /** Tries of one request over transient failures (429, 5xx, timeouts, network). @default 10 */
  maxAttempts?: number;
  /** @default 30000 */
  requestTimeoutMs?: number;
  /** How long to follow a 202 before reporting the row as still in progress. @default 120000 */
  pollTimeoutMs?: number;
  /** Longest wait honoured from one Retry-After. @default 60000 */
  maxRetryAfterMs?: number;
  /** Back-off when an answer has no Retry-After. @default 500 / 30000 */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Wait between polls when a 202 has no Retry-After. @default 1000 */
  defaultPollIntervalMs?: number;
  /** Stop taking rows (Ctrl-C). */
  stopSignal?: AbortSignal;
  /** Abort requests in flight (drain time over). */
  abortSignal?: AbortSignal;
  /** Called once per row, in completion order. */
  onResult(job: SubmitJob, result: SubmitResult): void;
  /** Called before each wait for a retry (progress, tests). */
  onRetry?(info: { line: number; status: number; waitMs: number }): void;
}

/** What {@link submitRows} ends with. */
export interface SubmitRun {
  /** Set when the API refused the whole run (wrong key or URL): the remaining rows were not sent. */
  fatal?: ImportApiError;
}

type Json = Record<string, unknown>;
const asRecord = (value: unknown): Json => (typeof value === 'object' && value !== null ? (value as Json) : {});
const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Transient answers: retried with the same key. */
const isTransient = (status: number) => status === 0 || status === 408 || status === 429 || status >= 500;

function problemMessage(json: unknown, fallback: string): string {
  const problem = asRecord(json);
  return asString(problem.detail) ?? asString(problem.title) ?? fallback;
}

/** Sends every job; resolves when each has a result (see the module comment). */
export async function submitRows(jobs: readonly SubmitJob[], options: SubmitterOptions): Promise<SubmitRun> {
  const base = options.apiBaseUrl.replace(/\/+$/, '');
  const baseOrigin = new URL(base).origin;
  const maxAttempts = options.maxAttempts ?? 10;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const halt = new AbortController();
  options.stopSignal?.addEventListener('abort', () => halt.abort(), { once: true });
  if (options.stopSignal?.aborted) halt.abort();
  let fatal: ImportApiError | undefined;
  /** No request leaves before this (a 429/503 with Retry-After holds back every lane). */
  let notBeforeMs = 0;

  const headers = (key: string, withIdempotencyKey: boolean): Record<string, string> => ({
    ...(options.functionKey ? { 'x-functions-key': options.functionKey } : {}),
    ...(withIdempotencyKey && options.sendKeyHeader !== false ? { 'Idempotency-Key': key } : {}),
  });

  const waitFor = (answer: HttpAnswer, attempt: number): number => {
    const told = retryAfterMs(answer.headers.get('retry-after'));
    const waitMs =
      told === undefined
        ? backoffMs(attempt, options.backoffBaseMs ?? 500, options.backoffMaxMs ?? 30_000)
        : Math.min(told, maxRetryAfterMs);
    if (told !== undefined && (answer.status === 429 || answer.status === 503)) {
      notBeforeMs = Math.max(notBeforeMs, Date.now() + waitMs);
    }
    return waitMs;
  };

  /** Sends one request after the shared hold; undefined when stopped before sending. */
  const send = async (method: 'GET' | 'POST', url: string, job: SubmitJob): Promise<HttpAnswer | undefined> => {
    const holdMs = notBeforeMs - Date.now();
    if (holdMs > 0 && !(await pause(holdMs, halt.signal))) return undefined;
    if (method === 'POST' && halt.signal.aborted) return undefined;
    return sendRequest({
      method,
      url,
      body: method === 'POST' ? job.body : undefined,
      headers: headers(job.key, method === 'POST'),
      timeoutMs,
      signal: options.abortSignal,
    });
  };

  const statusUrl = (answer: HttpAnswer, trackingId: string): string => {
    const location = answer.headers.get('location');
    if (location) {
      const url = new URL(location, `${base}/`);
      // The function key only goes to the API's own origin.
      if (url.origin === baseOrigin) return url.toString();
    }
    return `${base}/referrals/${encodeURIComponent(trackingId)}`;
  };

  /** Follows a 202 until the record is final, the poll time is over or the run stops. */
  const follow = async (job: SubmitJob, first: HttpAnswer, replayed: boolean): Promise<SubmitResult> => {
    let view = asRecord(first.json);
    const trackingId = asString(view.trackingId) ?? (first.headers.get('location') ?? '').split('/').pop() ?? '';
    const url = statusUrl(first, trackingId);
    const deadline = Date.now() + (options.pollTimeoutMs ?? 120_000);
    let answer = first;
    let failures = 0;
    for (;;) {
      const inProgress = {
        kind: 'accepted',
        trackingId,
        state: asString(view.state) ?? TrackingState.Received,
        final: false,
        replayed,
      } as const;
      const told = retryAfterMs(answer.headers.get('retry-after'));
      const waitMs =
        answer.status === 202
          ? Math.min(told ?? options.defaultPollIntervalMs ?? 1000, maxRetryAfterMs)
          : waitFor(answer, failures);
      if (Date.now() + waitMs > deadline || !(await pause(waitMs, halt.signal))) return inProgress;
      const next = await send('GET', url, job);
      if (!next) return inProgress;
      answer = next;
      if (next.status === 200 || next.status === 202) {
        failures = 0;
        view = asRecord(next.json);
        if (next.status === 200 && view.final === true) return finalResult(view, trackingId, replayed);
        continue;
      }
      if (isTransient(next.status)) {
        if (++failures < maxAttempts) continue;
        return inProgress;
      }
      return {
        kind: 'failed',
        trackingId,
        message: `The status URL answered ${next.status} while the referral was in progress.`,
      };
    }
  };

  const finalResult = (view: Json, trackingId: string, replayed: boolean): SubmitResult => {
    const state = asString(view.state) ?? 'Unknown';
    if (state === TrackingState.Rejected) {
      const lastError = asRecord(view.lastError);
      return {
        kind: 'refused',
        state,
        trackingId,
        message: asString(lastError.message) ?? 'Partner Center refused the referral.',
      };
    }
    return { kind: 'accepted', trackingId, state, final: view.final === true, replayed };
  };

  const submitOne = async (job: SubmitJob): Promise<SubmitResult> => {
    const url = `${base}/referrals`;
    for (let attempt = 1; ; attempt += 1) {
      const answer = await send('POST', url, job);
      if (!answer) return { kind: 'notSubmitted', message: 'The run was stopped before this row was accepted.' };
      const json = asRecord(answer.json);
      const replayed = answer.headers.get('idempotent-replayed') === 'true';
      const trackingId = asString(json.trackingId);
      switch (answer.status) {
        case 200:
        case 201:
          return finalResult(json, trackingId ?? '', replayed);
        case 202:
          return follow(job, answer, replayed);
        case 400:
        case 413:
        case 415: {
          const errors = Array.isArray(json.errors)
            ? json.errors
                .map((e) => asRecord(e))
                .map((e) => ({
                  pointer: asString(e.pointer) ?? '',
                  code: asString(e.code) ?? 'invalid',
                  message: asString(e.message) ?? '',
                }))
            : undefined;
          return { kind: 'refused', state: ImportRowState.Invalid, message: problemMessage(json, 'Invalid.'), errors };
        }
        case 422: {
          const reused = (asString(json.type) ?? '').endsWith('idempotency-key-reused');
          return {
            kind: 'refused',
            state: reused ? ImportRowState.KeyReused : TrackingState.Rejected,
            trackingId,
            message: problemMessage(json, 'Refused.'),
          };
        }
        case 401:
        case 403:
          throw new ImportApiError(
            `The API refused the function key (${answer.status}): give --key or BRIDGE_FUNCTION_KEY.`,
            { status: answer.status },
          );
        case 404:
        case 405:
          throw new ImportApiError(`No referrals API at ${url} (${answer.status}): check --url.`, {
            status: answer.status,
          });
      }
      if (!isTransient(answer.status)) {
        return { kind: 'failed', message: `Unexpected answer ${answer.status} from the API.` };
      }
      if (answer.failure === 'aborted') {
        return { kind: 'notSubmitted', message: 'Stopped while the request was in flight; run again to find out.' };
      }
      const what = answer.status === 0 ? `no answer (${answer.failure ?? 'network'})` : `answer ${answer.status}`;
      if (attempt >= maxAttempts) {
        return { kind: 'failed', message: `Gave up after ${attempt} attempts, last: ${what}. Run again to retry.` };
      }
      const waitMs = waitFor(answer, attempt);
      options.onRetry?.({ line: job.line, status: answer.status, waitMs });
      if (!(await pause(waitMs, halt.signal))) {
        return { kind: 'notSubmitted', message: `Stopped while waiting to retry after ${what}.` };
      }
    }
  };

  let next = 0;
  const lane = async () => {
    while (!halt.signal.aborted && next < jobs.length) {
      const job = jobs[next++];
      try {
        options.onResult(job, await submitOne(job));
      } catch (error) {
        if (!(error instanceof ImportApiError)) throw error;
        fatal ??= error;
        halt.abort();
        options.onResult(job, { kind: 'notSubmitted', message: error.message });
      }
    }
  };
  const lanes = Math.max(1, Math.min(options.concurrency ?? 8, jobs.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  for (const job of jobs.slice(next)) {
    options.onResult(job, {
      kind: 'notSubmitted',
      message: fatal?.message ?? 'The run was stopped before this row was sent.',
    });
  }
  return { fatal };
}
