import { app, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import { STORAGE_CONNECTION_SETTING, UPDATE_QUEUE_NAME } from '../shared/workflow/constants';
import { runQueueStep } from './edge/queue';
import { withTraceParent } from '../shared/platform/tracing';
import { lazy } from '../shared/platform/lazy';
import type * as MessagesModule from '../shared/workflow/messages';
import type * as UpdateMessageModule from '../shared/update/updateMessage';
import type * as CanonicalJsonModule from '../shared/workflow/canonicalJson';

// Loaded on the first message, not at cold start (bench:coldstart).
/* eslint-disable @typescript-eslint/no-require-imports -- literal ids, kept by the bundle (scripts/build-functions.ts) */
const messages = lazy(() => require('../shared/workflow/messages') as typeof MessagesModule);
const updateMessage = lazy(() => require('../shared/update/updateMessage') as typeof UpdateMessageModule);
const canonicalJsonModule = lazy(() => require('../shared/workflow/canonicalJson') as typeof CanonicalJsonModule);
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Queue `referral-update`: `{ trackingId | externalReferenceId, idempotencyKey?, changes }` as plain or base64
 * JSON (Power Automate, upstream systems), or the bridge's own `{ trackingId, changeId }` resume. Invalid or
 * refused changes are noted on the record (visible through the GET) and consumed; transient failures are
 * thrown for the runtime's retry.
 */
export async function updateQueue(payload: unknown, context: InvocationContext): Promise<void> {
  await runQueueStep(context, async () => {
    const { updates } = getAppServices();
    const { decodeQueuePayload } = messages();
    const { parseUpdateMessage } = updateMessage();
    const { canonicalJson } = canonicalJsonModule();
    const decoded = decodeQueuePayload(payload);
    if (!decoded.ok) {
      context.warn('Update message is not JSON; consumed');
      return;
    }
    const message = parseUpdateMessage(decoded.value);
    if (message.kind === 'invalid') {
      const record = await updates.noteInvalidMessage(message, message.problem);
      context.warn(
        `Update message refused (${message.problem.status})${record ? `; noted on ${record.trackingId}` : ''}`,
      );
      return;
    }
    const traceparent = message.traceparent ?? context.traceContext?.traceParent ?? undefined;
    const outcome = await withTraceParent(traceparent, UPDATE_QUEUE_NAME, () =>
      message.kind === 'resume'
        ? updates.resume(message.trackingId, message.changeId)
        : updates.change({
            trackingId: message.trackingId,
            externalReferenceId: message.externalReferenceId,
            idempotencyKey: message.idempotencyKey,
            messageKey: message.idempotencyKey === undefined ? canonicalJson(decoded.value) : undefined,
            body: message.changes,
            source: 'queue',
            traceparent,
          }),
    );
    if (outcome?.kind === 'pending' && outcome.error) throw outcome.error;
    context.log(`referral-update: ${outcome ? outcome.kind : 'nothing to do'}`);
  });
}

app.storageQueue('updateQueue', {
  queueName: UPDATE_QUEUE_NAME,
  connection: STORAGE_CONNECTION_SETTING,
  handler: updateQueue,
});
