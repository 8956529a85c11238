import { app, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import { INTAKE_QUEUE_NAME, STORAGE_CONNECTION_SETTING } from '../shared/workflow/constants';
import { runQueueStep } from './edge/queue';
import { MAX_JSON_NESTING_DEPTH, tooDeeplyNested, valueNestsDeeperThan } from './edge/nesting';
import { guardTriggerMetadataNesting } from './edge/triggerMetadataGuard';
import { withTraceParent } from '../shared/platform/tracing';
import { lazy } from '../shared/platform/lazy';
import type * as MessagesModule from '../shared/workflow/messages';

/** Loaded on the first message, not at cold start (bench:coldstart). */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a literal id, kept by the bundle (scripts/build-functions.ts)
const messages = lazy(() => require('../shared/workflow/messages') as typeof MessagesModule);

/**
 * Queue `referral-intake`: the POST body as plain JSON text (Power Automate) or base64 JSON (SDKs),
 * optionally in an envelope `{ idempotencyKey, referral }`. Invalid messages are recorded as Rejected
 * and consumed; transient failures are thrown for the runtime's retry.
 */
export async function intakeQueue(payload: unknown, context: InvocationContext): Promise<void> {
  await runQueueStep(context, async () => {
    const { workflow } = getAppServices();
    // The message as sent (the host hands JSON over parsed): what identifies a refused message.
    const sent =
      typeof context.triggerMetadata?.queueTrigger === 'string' ? context.triggerMetadata.queueTrigger : payload;
    const { decodeQueuePayload, parseIntakeMessage } = messages();
    const tooDeep = async () => {
      const record = await workflow.rejectInvalidMessage(sent, tooDeeplyNested());
      context.warn(`Intake message nests too deeply; recorded as ${record.trackingId} (Rejected)`);
    };
    // Measured before anything walks it: decoding, hashing and validation recurse (edge/nesting.ts).
    if (valueNestsDeeperThan(payload, MAX_JSON_NESTING_DEPTH)) return tooDeep();
    const decoded = decodeQueuePayload(payload);
    if (!decoded.ok) {
      const record = await workflow.rejectInvalidMessage(sent, decoded.problem);
      context.warn(`Intake message is not JSON; recorded as ${record.trackingId} (Rejected)`);
      return;
    }
    if (valueNestsDeeperThan(decoded.value, MAX_JSON_NESTING_DEPTH)) return tooDeep(); // base64 JSON
    const message = parseIntakeMessage(decoded.value);
    const traceparent = message.traceparent ?? context.traceContext?.traceParent ?? undefined;
    const outcome = await withTraceParent(traceparent, 'referral-intake', () =>
      workflow.submit({ body: message.body, idempotencyKey: message.idempotencyKey, source: 'queue', traceparent }),
    );
    if (outcome.kind === 'invalid' || outcome.kind === 'keyReused') {
      const record = await workflow.rejectInvalidMessage(sent, outcome.problem);
      context.warn(`Intake message refused (${outcome.problem.status}); recorded as ${record.trackingId} (Rejected)`);
      return;
    }
    context.log(`Intake message tracked as ${outcome.record.trackingId} (${outcome.record.state})`);
  });
}

app.storageQueue('intakeQueue', {
  queueName: INTAKE_QUEUE_NAME,
  connection: STORAGE_CONNECTION_SETTING,
  handler: intakeQueue,
});

// After a registration (the library has set its programming model by then): a message nested thousands
// of levels deep would otherwise overflow the stack in the library, before this handler (edge/triggerMetadataGuard.ts).
guardTriggerMetadataNesting();
