import { app, type InvocationContext } from '@azure/functions';
import { getAppServices } from '../shared/app/composition';
import { decodeQueuePayload, parseStepMessage } from '../shared/workflow/messages';
import { SUBMIT_QUEUE_NAME, STORAGE_CONNECTION_SETTING } from '../shared/workflow/constants';
import { runQueueStep } from './edge/queue';
import { withTraceParent } from '../shared/platform/telemetry';

/** Queue `referral-submit`: `{ trackingId }` of a request whose partner referral is still to be created. */
export async function submitQueue(payload: unknown, context: InvocationContext): Promise<void> {
  await runQueueStep(context, async () => {
    const decoded = decodeQueuePayload(payload);
    const message = decoded.ok ? parseStepMessage(decoded.value) : undefined;
    if (!message) {
      context.error('Malformed referral-submit message consumed');
      return;
    }
    const { trackingId, traceparent } = message;
    const { record } = await withTraceParent(traceparent, 'referral-submit', () => getAppServices().workflow.advancePartner(trackingId), { attributes: { trackingId } });
    context.log(`Partner step for ${record.trackingId}: ${record.state}`);
  });
}

app.storageQueue('submitQueue', { queueName: SUBMIT_QUEUE_NAME, connection: STORAGE_CONNECTION_SETTING, handler: submitQueue });
