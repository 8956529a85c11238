import type { Logger } from '../platform/logging';
import { isFinalState } from '../tracking/states';
import { CallbackState, type TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import type { CallbackNotifier } from './callbackNotifier';
import { describe } from './stepFailure';
import { toTrackingView } from './trackingView';

/** What delivers a view to a callback URL (the {@link CallbackNotifier}). */
export type CallbackSender = Pick<CallbackNotifier, 'notify'>;

/**
 * Builds the absolute status URL of a record, for the links of a callback body: from PUBLIC_BASE_URL,
 * else from `requestBaseUrl` (the origin of the HTTP request that created the record), else the platform's
 * host name (composition.ts).
 */
export type StatusUrlFor = (trackingId: string, requestBaseUrl?: string) => string;

/** Options for {@link CallbackDelivery}. */
export interface CallbackDeliveryOptions {
  records: TrackingRecords;
  logger: Logger;
  /** No callbacks are sent without one. */
  callbacks?: CallbackSender;
  statusUrlFor: StatusUrlFor;
}

/**
 * Delivers a final record's tracking view to its `callbackUrl` and records the delivery state. The step
 * never waits for it: if the process stops first, the record stays `callbackState: pending` and the
 * sweeper delivers it.
 */
export class CallbackDelivery {
  readonly #o: CallbackDeliveryOptions;

  constructor(options: CallbackDeliveryOptions) {
    this.#o = options;
  }

  /** Starts {@link CallbackDelivery.deliver} without holding up the caller; a failure is logged. */
  inBackground(record: TrackingRecord): void {
    this.deliver(record).catch((error: unknown) => {
      this.#o.logger.warn('Callback delivery failed; the sweeper retries it', {
        trackingId: record.trackingId,
        reason: describe(error),
      });
    });
  }

  /** Delivers the callback of a final record whose callback is pending (else does nothing). */
  async deliver(record: TrackingRecord): Promise<void> {
    const callbacks = this.#o.callbacks;
    if (!callbacks || !record.callbackUrl || record.callbackState !== CallbackState.Pending) return;
    if (!isFinalState(record.state)) return;
    const view = toTrackingView(record, this.#o.statusUrlFor(record.trackingId, record.callbackBaseUrl));
    const outcome = await callbacks.notify(record.callbackUrl, view);
    await this.#o.records.update(record, callbackChangesAfter(outcome)).catch(() => undefined);
  }
}

/** The one place that reads the notifier's answer: the record's delivery state and, on failure, its code. */
function callbackChangesAfter(
  outcome: Awaited<ReturnType<CallbackSender['notify']>>,
): Pick<TrackingRecord, 'callbackState' | 'callbackFailure'> {
  return outcome.state === 'delivered'
    ? { callbackState: CallbackState.Delivered, callbackFailure: undefined }
    : { callbackState: CallbackState.Failed, callbackFailure: outcome.code };
}
