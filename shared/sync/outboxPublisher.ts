/**
 * Publishing a record's outbox: each pending CloudEvent goes to the queue `referral-events`, then to the
 * record's callback URL; what was sent leaves the outbox in one conditional write (412 → re-read, remove
 * by id). A queue that refuses stops the round (the rest stays, in order, for the sweeper); a callback that
 * fails is tried again on later rounds up to {@link MAX_CALLBACK_FAILURES}, then noted on the history.
 */
import type { Logger } from '../platform/logging';
import { TrackingConflictError } from '../tracking/errors';
import {
  HistorySource,
  withHistory,
  type CloudEventEnvelope,
  type HistoryEntry,
  type PendingCloudEvent,
  type TrackingRecord,
} from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import type { CallbackDeliveryResult } from '../workflow/callbackNotifier';
import { describe } from '../workflow/stepFailure';
import { outboxChanges } from './cloudEvents';
import { CLOUDEVENT_CONTENT_TYPE, MAX_CALLBACK_FAILURES } from './constants';

/** Where CloudEvents go on the queue `referral-events` (the composition root's JsonQueueSender). */
export interface CloudEventQueue {
  send(message: object): Promise<void>;
}

/** Delivers a CloudEvent to a callback URL (the CallbackNotifier: SSRF rules and retries of callbacks). */
export interface CloudEventCallbacks {
  notify(url: string, body: CloudEventEnvelope, options: { contentType: string }): Promise<CallbackDeliveryResult>;
}

/** Options for {@link OutboxPublisher}. */
export interface OutboxPublisherOptions {
  records: TrackingRecords;
  queue: CloudEventQueue;
  /** No callback deliveries without it. */
  callbacks?: CloudEventCallbacks;
  logger: Logger;
  nowMs: () => number;
}

/** What one delivery round did to an outbox entry. */
interface DeliveryResult {
  queueSent: boolean;
  callback: 'delivered' | 'failed' | 'none';
  callbackCode?: string;
}

/** Sends a record's pending CloudEvents and clears what was sent (see the module comment). */
export class OutboxPublisher {
  readonly #o: OutboxPublisherOptions;

  constructor(options: OutboxPublisherOptions) {
    this.#o = options;
  }

  /** Sends the outbox entries `ids` (all when undefined), then removes what was sent (conditional write). */
  async publish(record: TrackingRecord, ids: ReadonlySet<string> | undefined): Promise<TrackingRecord> {
    const chosen = (record.outbox ?? []).filter((entry) => !ids || ids.has(entry.event.id));
    const results = new Map<string, DeliveryResult>();
    for (const entry of chosen) {
      const result = await this.#deliver(record, entry);
      if (!result) break; // the queue refused: keep the rest for the sweeper, in order
      results.set(entry.event.id, result);
    }
    if (results.size === 0) return record;
    let current = record;
    for (let attempt = 0; attempt < 3; attempt++) {
      const remaining: PendingCloudEvent[] = [];
      const history: HistoryEntry[] = [];
      for (const entry of current.outbox ?? []) {
        const result = results.get(entry.event.id);
        const next = settle(entry, result);
        remaining.push(...next);
        if (result?.callback === 'failed' && !next[0]?.callback)
          history.push({
            at: new Date(this.#o.nowMs()).toISOString(),
            source: HistorySource.Us,
            kind: 'callback-failed',
            note: `${entry.event.type} ${result.callbackCode ?? ''}`.trim(),
          });
      }
      try {
        return await this.#o.records.update(current, {
          ...outboxChanges(remaining),
          ...(history.length > 0 ? { history: withHistory(current.history, ...history) } : {}),
        });
      } catch (error) {
        if (!(error instanceof TrackingConflictError)) break;
        const reread = await this.#o.records.read(current.trackingId).catch(() => undefined);
        if (!reread) break;
        current = reread;
      }
    }
    this.#o.logger.warn('Could not clear the published CloudEvents from the outbox; the sweeper republishes them', {
      trackingId: record.trackingId,
    });
    return current;
  }

  /** One delivery round of an entry; undefined when the queue refused (nothing else is tried). */
  async #deliver(record: TrackingRecord, entry: PendingCloudEvent): Promise<DeliveryResult | undefined> {
    if (entry.queue) {
      try {
        await this.#o.queue.send(entry.event);
      } catch (error) {
        this.#o.logger.warn('Could not put a CloudEvent on referral-events; the sweeper retries it', {
          trackingId: record.trackingId,
          type: entry.event.type,
          reason: describe(error),
        });
        return undefined;
      }
    }
    if (!entry.callback || !record.callbackUrl || !this.#o.callbacks)
      return { queueSent: entry.queue, callback: 'none' };
    const outcome = await this.#o.callbacks.notify(record.callbackUrl, entry.event, {
      contentType: CLOUDEVENT_CONTENT_TYPE,
    });
    return outcome.state === 'delivered'
      ? { queueSent: entry.queue, callback: 'delivered' }
      : { queueSent: entry.queue, callback: 'failed', callbackCode: outcome.code };
  }
}

/** An outbox entry after a delivery round: what is still to be sent (nothing → dropped). */
function settle(entry: PendingCloudEvent, result: DeliveryResult | undefined): PendingCloudEvent[] {
  if (!result) return [entry];
  const queue = entry.queue && !result.queueSent;
  let callback = entry.callback;
  let callbackFailures = entry.callbackFailures;
  if (result.callback === 'delivered' || result.callback === 'none') callback = false;
  if (result.callback === 'failed') {
    callbackFailures = (callbackFailures ?? 0) + 1;
    if (callbackFailures >= MAX_CALLBACK_FAILURES) callback = false;
  }
  if (!queue && !callback) return [];
  return [{ ...entry, queue, callback, ...(callbackFailures ? { callbackFailures } : {}) }];
}
