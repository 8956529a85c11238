/** How one Partner Center attempt reads to the adaptive limiter (accepted, throttled, neutral). */
import { parseRetryAfterMs } from '../platform/retry';
import { CallSignal, type CallFeedback } from './limiterTypes';

/**
 * The limiter's reading of one Partner Center attempt: an HTTP answer (`status`, raw `Retry-After`) or
 * an error (no answer: neutral). 429 and 503 with Retry-After throttle; other answers were accepted,
 * except 5xx and 408, which are neutral.
 */
export function feedbackOfAnswer(
  answer: { status: number; retryAfter: string | null } | Error,
  nowMs: number = Date.now(),
): CallFeedback {
  if (answer instanceof Error) return { signal: CallSignal.Neutral };
  const retryAfterMs = parseRetryAfterMs(answer.retryAfter, nowMs);
  if (answer.status === 429) return { signal: CallSignal.Throttled, retryAfterMs };
  if (answer.status === 503 && retryAfterMs !== undefined) return { signal: CallSignal.Throttled, retryAfterMs };
  if (answer.status === 408 || answer.status >= 500) return { signal: CallSignal.Neutral };
  return { signal: CallSignal.Accepted };
}
