/**
 * Queue edge helper: run a step, let retryable failures through to the runtime (visibility timeout,
 * dequeue count, poison queue) and swallow permanent ones after logging them.
 */
import type { InvocationContext } from '@azure/functions';
import { ensureError, isRetryable } from '../../shared/platform/errors';

/** Runs `step`; rethrows only what a retry could fix. */
export async function runQueueStep(context: InvocationContext, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (thrown) {
    const error = ensureError(thrown);
    if (isRetryable(error)) {
      context.warn(`Retryable failure (dequeueCount ${String(context.triggerMetadata?.dequeueCount ?? '?')}): ${error.name}: ${error.message}`);
      throw error;
    }
    context.error(`Permanent failure, message consumed: ${error.name}: ${error.message}`);
  }
}
