import { app, type InvocationContext } from '@azure/functions';
import { getAppServices } from '../shared/app/composition';
import { decodeQueuePayload, parseStepMessage } from '../shared/workflow/messages';
import { LINK_QUEUE_NAME, STORAGE_CONNECTION_SETTING } from '../shared/workflow/constants';
import { runQueueStep } from './edge/queue';
import { withTraceParent } from '../shared/platform/telemetry';

/** Queue `referral-link`: `{ trackingId, traceparent }`: create and link the Microsoft referral of a co-sell deal. */
export async function linkQueue(payload: unknown, context: InvocationContext): Promise<void> {
  await runQueueStep(context, async () => {
    const decoded = decodeQueuePayload(payload);
    const message = decoded.ok ? parseStepMessage(decoded.value) : undefined;
    if (!message) {
      context.error('Malformed referral-link message consumed');
      return;
    }
    const { trackingId, traceparent } = message;
    const { record } = await withTraceParent(traceparent, 'referral-link', () => getAppServices().workflow.advanceLink(trackingId), { attributes: { trackingId } });
    context.log(`Link step for ${record.trackingId}: ${record.state}`);
  });
}

app.storageQueue('linkQueue', { queueName: LINK_QUEUE_NAME, connection: STORAGE_CONNECTION_SETTING, handler: linkQueue });
