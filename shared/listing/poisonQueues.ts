/**
 * Queue depths and poison messages for the console, and the two poison actions (replay, discard) of one
 * message by its id. Only ids, counts, times and a step message's trackingId leave this module: an intake
 * message's text holds customer contacts and is never returned or logged.
 */
import type { QueueClient } from '@azure/storage-queue';
import { POISON_SUFFIX, QUEUE_NAMES } from '../workflow/constants';
import { ListingError } from './errors';
import { statusOf } from './referralIndex';

/** Depth of one queue and its poison twin (null: could not be read). */
export interface QueueDepth {
  queue: string;
  messages: number | null;
  poison: number | null;
}

/** A poison message as the console sees it. */
export interface PoisonMessageSummary {
  messageId: string;
  insertedOn?: string;
  dequeueCount: number;
  /** For `{ trackingId }` step messages (referral-link, referral-submit). */
  trackingId?: string;
}

/** Builds a client for a queue name. */
export type QueueClientFactory = (queueName: string) => QueueClient;

/** The queues the console watches (each with `-poison`). */
export const WATCHED_QUEUES: readonly string[] = QUEUE_NAMES;

/** Approximate depths of every queue and its poison twin: one getProperties call each, in parallel. */
export async function readQueueDepths(queueFor: QueueClientFactory): Promise<QueueDepth[]> {
  const count = async (name: string): Promise<number | null> => {
    try {
      return (await queueFor(name).getProperties()).approximateMessagesCount ?? 0;
    } catch (error) {
      return statusOf(error) === 404 ? 0 : null;
    }
  };
  return Promise.all(
    WATCHED_QUEUES.map(async (queue) => {
      const [messages, poison] = await Promise.all([count(queue), count(`${queue}${POISON_SUFFIX}`)]);
      return { queue, messages, poison };
    }),
  );
}

/** Peeks at most 32 poison messages of `queue` (nothing is dequeued). */
export async function peekPoison(queueFor: QueueClientFactory, queue: string): Promise<PoisonMessageSummary[]> {
  try {
    const peeked = await queueFor(`${queue}${POISON_SUFFIX}`).peekMessages({ numberOfMessages: 32 });
    return peeked.peekedMessageItems.map((m) => ({
      messageId: m.messageId,
      ...(m.insertedOn ? { insertedOn: m.insertedOn.toISOString() } : {}),
      dequeueCount: m.dequeueCount,
      ...trackingIdOf(m.messageText),
    }));
  } catch (error) {
    if (statusOf(error) === 404) return [];
    throw new ListingError('Could not read the poison queue', { cause: error, retryable: true });
  }
}

/** A poison action. */
export const PoisonAction = { Replay: 'replay', Discard: 'discard' } as const;
export type PoisonAction = (typeof PoisonAction)[keyof typeof PoisonAction];

/**
 * Replays (sends the same text to `queue`, then deletes the poison copy: never lost, at worst twice,
 * which every consumer tolerates) or discards one poison message. Receives up to 32 messages to find it;
 * the others are made visible again at once. Resolves to false when the message was not found.
 */
export async function actOnPoisonMessage(
  queueFor: QueueClientFactory,
  queue: string,
  messageId: string,
  action: PoisonAction,
): Promise<boolean> {
  const poison = queueFor(`${queue}${POISON_SUFFIX}`);
  const received = await poison.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
  let found = false;
  for (const message of received.receivedMessageItems) {
    if (message.messageId !== messageId) {
      await poison.updateMessage(message.messageId, message.popReceipt, undefined, 0).catch(() => undefined);
      continue;
    }
    found = true;
    if (action === PoisonAction.Replay) {
      const target = queueFor(queue);
      await target.createIfNotExists();
      await target.sendMessage(message.messageText);
    }
    await poison.deleteMessage(message.messageId, message.popReceipt);
  }
  return found;
}

function trackingIdOf(text: string): { trackingId?: string } {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'trackingId' in parsed) {
      const id = parsed.trackingId;
      if (typeof id === 'string' && /^r[0-9a-f]{31}$/.test(id)) return { trackingId: id };
    }
  } catch {
    /* not a step message */
  }
  return {};
}
