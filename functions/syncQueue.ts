import { app, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import { SYNC_QUEUE_NAME } from '../shared/events/constants';
import { STORAGE_CONNECTION_SETTING } from '../shared/workflow/constants';
import { runQueueStep } from './edge/queue';

/**
 * Queue `referral-sync`: one verified Partner Center event. GETs the referral from the configured API
 * base and applies it through the one apply path (docs/events.md). Transient failures and deferrals are
 * thrown (the runtime retries); invalid messages and parked ones are consumed.
 */
export async function syncQueue(payload: unknown, context: InvocationContext): Promise<void> {
  await runQueueStep(context, async () => {
    const outcome = await getAppServices().sync().consumer.handle(payload);
    context.log(`${SYNC_QUEUE_NAME}: ${outcome.kind}${'trackingId' in outcome ? ` ${outcome.trackingId}` : ''}`);
  });
}

app.storageQueue('syncQueue', {
  queueName: SYNC_QUEUE_NAME,
  connection: STORAGE_CONNECTION_SETTING,
  handler: syncQueue,
});
