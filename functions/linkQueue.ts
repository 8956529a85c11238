import { app, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import { LINK_QUEUE_NAME, STORAGE_CONNECTION_SETTING } from '../shared/workflow/constants';
import { runStepMessage } from './edge/queue';

/** Queue `referral-link`: `{ trackingId, traceparent }`: create and link the Microsoft referral of a co-sell deal. */
export async function linkQueue(payload: unknown, context: InvocationContext): Promise<void> {
  await runStepMessage(payload, context, LINK_QUEUE_NAME, (trackingId) =>
    getAppServices().workflow.advanceLink(trackingId),
  );
}

app.storageQueue('linkQueue', {
  queueName: LINK_QUEUE_NAME,
  connection: STORAGE_CONNECTION_SETTING,
  handler: linkQueue,
});
