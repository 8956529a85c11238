/**
 * The writer of the one apply path: everything Partner Center tells us (webhook events, reconciliation,
 * the answers to our own PATCHes) is applied here, recorded once, and published once.
 *
 * ```
 * read record (etag E1) ──► plan (applySnapshot.ts: newer than stored?) ──unchanged──► done, nothing sent
 *        ▲                        │ apply
 *        │ 412: re-read,          ▼
 *        │ re-plan (bounded) ◄── update(changes + history + outbox += CloudEvents, etag E1)  (ONE conditional write)
 *                                 │ ok (etag E2)
 *                                 ▼
 *                  publish the new outbox entries: queue `referral-events`, then the callback URL (outboxPublisher.ts)
 *                                 │
 *                                 ▼
 *                  update(outbox −= what was sent, etag E2; 412 → re-read, remove by id)
 *   crash anywhere after the first write: the outbox stays on the record (`outboxPending`), the sweeper
 *   republishes it with the SAME ids (consumers dedupe on `id`).
 * ```
 * A record under another worker's live step lease is not written (the step's own conditional write would
 * then fail): the apply is deferred (retryable {@link SyncDeferredError}).
 */
import type { PartnerCenterReferral } from '../partner-center/types';
import type { Logger } from '../platform/logging';
import { TrackingConflictError } from '../tracking/errors';
import type { CloudEventEnvelope, HistorySource, TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import type { StatusUrlFor } from '../workflow/callbacks';
import { describe } from '../workflow/stepFailure';
import { toTrackingView } from '../workflow/trackingView';
import { DEFAULT_DECISION_RULES, planSnapshotApply, type DecisionRule } from './applySnapshot';
import { cloudEvent, cloudEventId, eventData, eventsForPlan, outboxChanges, pendingEntries } from './cloudEvents';
import { CloudEventType, DEFAULT_CLOUDEVENT_SOURCE, MAX_APPLY_ATTEMPTS } from './constants';
import { SyncDeferredError, SyncError } from './errors';
import { leadOf, newInboundRecord } from './inboundRecord';
import { OutboxPublisher, type CloudEventCallbacks, type CloudEventQueue } from './outboxPublisher';

/** Options for {@link SnapshotApplier}. */
export interface SnapshotApplierOptions {
  records: TrackingRecords;
  queue: CloudEventQueue;
  /** No callback deliveries without it. */
  callbacks?: CloudEventCallbacks;
  /** The absolute status URL of a record (the view's `links.self`). */
  statusUrlFor: StatusUrlFor;
  logger: Logger;
  /** CloudEvents `source`. @default {@link DEFAULT_CLOUDEVENT_SOURCE} */
  source?: string;
  /** The [inferred] decision table (EVENTS_DECISION_RULES). @default DEFAULT_DECISION_RULES */
  decisionRules?: readonly DecisionRule[];
  nowMs?: () => number;
}

/** What Partner Center said, for {@link SnapshotApplier.apply}. */
export interface ApplyInput {
  /** The partner's referral as just fetched (ours, or the inbound one). */
  partner?: PartnerCenterReferral;
  /** The engagement's Microsoft referral as just fetched (co-sell deals). */
  microsoft?: PartnerCenterReferral;
  /** `event`, `reconcile`, or `us` (the answer to the bridge's own PATCH). */
  source: HistorySource;
}

/** Options of {@link SnapshotApplier.apply}. */
export interface ApplyOptions {
  /**
   * The caller holds the record's step lease under this owner id (the update step applying Partner
   * Center's answer to its PATCH before it releases the lease): apply despite the live lease.
   */
  leaseOwner?: string;
}

/** What an apply did. `published`: the CloudEvents this apply added (sent, or left in the outbox). */
export type ApplyOutcome =
  | { kind: 'applied'; record: TrackingRecord; published: CloudEventEnvelope[] }
  | { kind: 'unchanged'; record: TrackingRecord };

/** The apply path's writer (see the module comment). */
export class SnapshotApplier {
  readonly #o: SnapshotApplierOptions;
  readonly #nowMs: () => number;
  readonly #source: string;
  readonly #publisher: OutboxPublisher;

  constructor(options: SnapshotApplierOptions) {
    this.#o = options;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#source = options.source ?? DEFAULT_CLOUDEVENT_SOURCE;
    const { records, queue, callbacks, logger } = options;
    this.#publisher = new OutboxPublisher({ records, queue, callbacks, logger, nowMs: this.#nowMs });
  }

  /**
   * Applies Partner Center's snapshots to the record `trackingId`: records what is newer than stored, adds
   * history, publishes one CloudEvent per kind of change. What the update flow calls after its PATCH
   * succeeded, with Partner Center's answer: `apply(trackingId, { partner: answer, source: 'us' })`.
   * Throws {@link SyncDeferredError} (retryable) when another worker holds the record's lease.
   */
  async apply(trackingId: string, input: ApplyInput, options: ApplyOptions = {}): Promise<ApplyOutcome> {
    const record = await this.#o.records.read(trackingId);
    if (!record) throw new SyncError(`No tracking record ${trackingId}`);
    return this.applyTo(record, input, options);
  }

  /** {@link SnapshotApplier.apply} starting from a record already read (its ETag decides the first write). */
  async applyTo(record: TrackingRecord, input: ApplyInput, options: ApplyOptions = {}): Promise<ApplyOutcome> {
    let current = record;
    for (let attempt = 0; attempt < MAX_APPLY_ATTEMPTS; attempt++) {
      const nowMs = this.#nowMs();
      if (this.#leasedByOther(current, options.leaseOwner, nowMs))
        throw new SyncDeferredError(input.partner?.id ?? current.trackingId, 'leased');
      const at = new Date(nowMs).toISOString();
      const plan = planSnapshotApply(current, {
        ...input,
        at,
        decisionRules: this.#o.decisionRules ?? DEFAULT_DECISION_RULES,
      });
      if (plan.kind === 'unchanged') return { kind: 'unchanged', record: current };
      const after: TrackingRecord = { ...current, ...plan.changes, updatedAtEpochMs: nowMs };
      const events = eventsForPlan(plan, input, after, { source: this.#source, time: at, view: (r) => this.#view(r) });
      const entries = [...(current.outbox ?? []), ...pendingEntries(events, current, nowMs)];
      let written: TrackingRecord;
      try {
        written = await this.#o.records.update(current, {
          ...plan.changes,
          ...(events.length > 0 ? outboxChanges(entries) : {}),
        });
      } catch (error) {
        if (!(error instanceof TrackingConflictError)) throw error;
        const reread = await this.#o.records.read(current.trackingId);
        if (!reread) throw new SyncError(`Tracking record ${current.trackingId} vanished`, { cause: error });
        current = reread;
        continue;
      }
      if (input.microsoft && plan.changes.microsoft && !current.microsoft)
        await this.#remember(input.microsoft, written);
      this.#o.logger.info('Partner Center change applied', {
        trackingId: written.trackingId,
        source: input.source,
        changed: plan.changed,
        cloudEvents: events.map((e) => e.type),
      });
      const published =
        events.length > 0 ? await this.#publisher.publish(written, new Set(events.map((e) => e.id))) : written;
      return { kind: 'applied', record: published, published: events };
    }
    throw new SyncDeferredError(input.partner?.id ?? record.trackingId, 'busy');
  }

  /**
   * A referral the bridge did not create: inserts its inbound record with the `referral.inbound.received`
   * CloudEvent in the same (conditional) insert, then publishes it. When the record exists already (a
   * second delivery, reconciliation), applies the snapshot to it instead: nothing new unless it is newer.
   */
  async receiveInbound(referral: PartnerCenterReferral, source: HistorySource): Promise<ApplyOutcome> {
    const nowMs = this.#nowMs();
    const at = new Date(nowMs).toISOString();
    const draft = newInboundRecord(referral, { at, source });
    const asStored: TrackingRecord = { ...draft, createdAtEpochMs: nowMs, updatedAtEpochMs: nowMs, etag: '' };
    const version = typeof referral.createdDateTime === 'string' ? referral.createdDateTime : 'created';
    const event = cloudEvent({
      id: cloudEventId(referral.id, CloudEventType.InboundReceived, version),
      source: this.#source,
      type: CloudEventType.InboundReceived,
      trackingId: draft.trackingId,
      time: at,
      data: eventData(this.#view(asStored), leadOf(referral)),
    });
    const created = await this.#o.records.create({ ...draft, ...outboxChanges(pendingEntries([event], draft, nowMs)) });
    if (!created.created) return this.applyTo(created.existing, { partner: referral, source });
    this.#o.logger.info('Inbound referral recorded', {
      trackingId: draft.trackingId,
      partnerReferralId: referral.id,
      source,
    });
    const record = await this.#publisher.publish(created.record, new Set([event.id]));
    return { kind: 'applied', record, published: [event] };
  }

  /** Publishes every pending outbox entry of `record` with its own id (the sweeper's recovery). */
  flush(record: TrackingRecord): Promise<TrackingRecord> {
    return this.#publisher.publish(record, undefined);
  }

  async #remember(microsoft: PartnerCenterReferral, record: TrackingRecord): Promise<void> {
    // Lets a duplicate related-referral event find the record without a Partner Center call (best effort).
    await this.#o.records.rememberReferral(microsoft.id, record.trackingId).catch((error: unknown) =>
      this.#o.logger.warn('Could not index the Microsoft referral', {
        trackingId: record.trackingId,
        reason: describe(error),
      }),
    );
  }

  #leasedByOther(record: TrackingRecord, leaseOwner: string | undefined, nowMs: number): boolean {
    return (
      record.leaseOwner !== undefined && record.leaseOwner !== leaseOwner && (record.leaseUntilEpochMs ?? 0) > nowMs
    );
  }

  #view(record: TrackingRecord) {
    return toTrackingView(record, this.#o.statusUrlFor(record.trackingId, record.callbackBaseUrl));
  }
}
