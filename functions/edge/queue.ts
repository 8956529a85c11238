/**
 * Queue edge helper: run a step, let retryable failures through to the runtime (visibility timeout,
 * dequeue count, poison queue) and swallow permanent ones after logging them.
 */
import type { InvocationContext } from '@azure/functions';
import { ensureError, isRetryable } from '../../shared/platform/errors';
import type { StepMessage } from '../../shared/workflow/messages';
import { withTraceParent } from '../../shared/platform/tracing';
import { lazy } from '../../shared/platform/lazy';
import type * as MessagesModule from '../../shared/workflow/messages';
import type * as MetricsModule from '../../shared/platform/metrics';

/* eslint-disable @typescript-eslint/no-require-imports -- literal ids, kept by the bundle (scripts/build-functions.ts) */
/** Loaded on the first message (or the first poisoned one), not at cold start (bench:coldstart). */
const messages = lazy(() => require('../../shared/workflow/messages') as typeof MessagesModule);
const metrics = lazy(() => require('../../shared/platform/metrics') as typeof MetricsModule);
/* eslint-enable @typescript-eslint/no-require-imports */

/** host.json `extensions.queues.maxDequeueCount`: the try after which the runtime moves a message to poison. */
const MAX_DEQUEUE_COUNT = 5;

/** Runs `step`; rethrows only what a retry could fix. */
export async function runQueueStep(context: InvocationContext, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (thrown) {
    const error = ensureError(thrown);
    if (isRetryable(error)) {
      const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 0);
      const queueName = context.options.trigger.queueName;
      if (dequeueCount >= MAX_DEQUEUE_COUNT)
        metrics().recordPoison(typeof queueName === 'string' ? queueName : context.functionName);
      context.warn(
        `Retryable failure (dequeueCount ${Number.isFinite(dequeueCount) && dequeueCount > 0 ? dequeueCount : '?'}): ${error.name}: ${error.message}`,
      );
      throw error;
    }
    context.error(`Permanent failure, message consumed: ${error.name}: ${error.message}`);
  }
}

/**
 * The body of a `referral-submit` / `referral-link` function: checks the `{ trackingId, traceparent }`
 * message (a malformed one is consumed, never retried), runs `step` in the trace the message carries and
 * logs the state the record reached.
 */
export async function runStepMessage(
  payload: unknown,
  context: InvocationContext,
  queueName: string,
  step: (trackingId: string) => Promise<{ record: { trackingId: string; state: string } }>,
): Promise<void> {
  await runQueueStep(context, async () => {
    const { decodeQueuePayload, parseStepMessage } = messages();
    const decoded = decodeQueuePayload(payload);
    const message: StepMessage | undefined = decoded.ok ? parseStepMessage(decoded.value) : undefined;
    if (!message) {
      context.error(`Malformed ${queueName} message consumed`);
      return;
    }
    const { trackingId, traceparent } = message;
    const { record } = await withTraceParent(traceparent, queueName, () => step(trackingId), {
      attributes: { trackingId },
    });
    context.log(`${queueName} step for ${record.trackingId}: ${record.state}`);
  });
}
