/**
 * What a Partner Center answer means: a 2xx body parsed as JSON, or the typed error of its status (429
 * throttled with its Retry-After, 401 unauthorised, 408/5xx unavailable, other 4xx rejected) carrying the
 * error body's `code`, `message` and `target`.
 */
import { parseRetryAfterMs } from '../platform/retry';
import {
  type PartnerCenterError,
  PartnerCenterRejectedError,
  PartnerCenterThrottledError,
  PartnerCenterUnauthorizedError,
  PartnerCenterUnavailableError,
} from './errors';

/** One answer, read whole inside the concurrency slot (what the client interprets). */
export interface PartnerCenterAnswer {
  status: number;
  /** The `Retry-After` header, if any. */
  retryAfter: string | null;
  text: string;
}

/** The ids of the call an answer belongs to (carried by its error) and the time its Retry-After counts from. */
export interface AnswerContext {
  requestId: string;
  correlationId: string;
  /** The clock a Retry-After given as an HTTP date is measured from (read for a 429 only). */
  nowMs: () => number;
}

/** The value of a 2xx answer (undefined when empty), or the {@link PartnerCenterError} the answer stands for. */
export function interpretAnswer<T>(response: PartnerCenterAnswer, ids: AnswerContext): T | PartnerCenterError {
  const { requestId, correlationId } = ids;
  const text = response.text;
  if (response.status >= 200 && response.status < 300) {
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      return new PartnerCenterUnavailableError('Partner Center answered with a body that is not JSON', {
        status: response.status,
        code: 'invalidResponse',
        requestId,
        correlationId,
        cause: error,
      });
    }
  }
  const detail = parseErrorBody(text);
  const context = {
    status: response.status,
    code: detail.code ?? `http${response.status}`,
    target: detail.target,
    requestId,
    correlationId,
  };
  const message = `Partner Center answered ${response.status}${detail.code ? ` ${detail.code}` : ''}: ${detail.message ?? 'no message'}`;
  if (response.status === 429)
    return new PartnerCenterThrottledError(message, parseRetryAfterMs(response.retryAfter, ids.nowMs()), context);
  if (response.status === 401) return new PartnerCenterUnauthorizedError(message, context);
  if (response.status === 408 || response.status >= 500) return new PartnerCenterUnavailableError(message, context);
  return new PartnerCenterRejectedError(message, context);
}

/** Parses `{ error: { code, message, target } }`, tolerating other shapes (e.g. the throttling body). */
function parseErrorBody(text: string): { code?: string; message?: string; target?: string } {
  try {
    const parsed = JSON.parse(text) as {
      error?: { code?: unknown; message?: unknown; target?: unknown };
      message?: unknown;
    };
    const error = parsed.error;
    const pick = (v: unknown) => (typeof v === 'string' ? v.slice(0, 1024) : undefined);
    if (error && typeof error === 'object')
      return { code: pick(error.code), message: pick(error.message), target: pick(error.target) };
    return { message: pick(parsed.message) };
  } catch {
    return {};
  }
}
