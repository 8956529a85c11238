import { app, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import { SUBMIT_QUEUE_NAME, STORAGE_CONNECTION_SETTING } from '../shared/workflow/constants';
import { runStepMessage } from './edge/queue';

/** Queue `referral-submit`: `{ trackingId }` of a request whose partner referral is still to be created. */
export async function submitQueue(payload: unknown, context: InvocationContext): Promise<void> {
  await runStepMessage(payload, context, SUBMIT_QUEUE_NAME, (trackingId) =>
    getAppServices().workflow.advancePartner(trackingId),
  );
}

app.storageQueue('submitQueue', {
  queueName: SUBMIT_QUEUE_NAME,
  connection: STORAGE_CONNECTION_SETTING,
  handler: submitQueue,
});
