/**
 * Names shared by the functions, the Bicep and host.json. A test checks that infra/ and the code agree.
 */

/** Queue of referral requests from upstream systems and Power Automate. */
export const INTAKE_QUEUE_NAME = 'referral-intake';
/** Internal queue: `{ trackingId }` messages that create the Microsoft referral of a co-sell deal. */
export const LINK_QUEUE_NAME = 'referral-link';
/** Internal queue: submissions accepted durably (202) that the HTTP edge could not finish in its time budget. */
export const SUBMIT_QUEUE_NAME = 'referral-submit';
/** Verified Partner Center events waiting for the sync consumer (shared/events/constants.ts names it too). */
export const SYNC_QUEUE_NAME = 'referral-sync';
/** CloudEvents the bridge publishes for the partner's systems (shared/sync/constants.ts names it too). */
export const EVENTS_QUEUE_NAME = 'referral-events';
/**
 * Changes to existing referrals from upstream systems and Power Automate, and the bridge's own resume
 * messages (`{ trackingId, changeId }`) of deferred or stuck changes.
 */
export const UPDATE_QUEUE_NAME = 'referral-update';
/** Every queue a function of the app reads, each with its `-poison` twin that the runtime creates. */
export const QUEUE_NAMES = [
  INTAKE_QUEUE_NAME,
  LINK_QUEUE_NAME,
  SUBMIT_QUEUE_NAME,
  SYNC_QUEUE_NAME,
  UPDATE_QUEUE_NAME,
] as const;
/** Queues the app only writes (read by the partner's systems): no poison twin. */
export const OUTBOUND_QUEUE_NAMES = [EVENTS_QUEUE_NAME] as const;
/** Suffix the Functions runtime appends for messages that exhausted maxDequeueCount. */
export const POISON_SUFFIX = '-poison';
/** App setting naming the storage connection of the queue triggers (the Functions default). */
export const STORAGE_CONNECTION_SETTING = 'AzureWebJobsStorage';
