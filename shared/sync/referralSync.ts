/**
 * The `referral-sync` consumer and what it shares with reconciliation: from a Partner Center referral id
 * (or referrals already listed), fetch what Partner Center says now from the configured API base (never
 * the event's host), find the engagement's partner and Microsoft referrals, find the record they belong
 * to (ownership.ts), and hand them to the one apply path (snapshotApplier.ts).
 *
 * ```
 * message ─► parse (invalid → consumed) ─► record known and already at/after changedAt? ─► duplicate (no call)
 *        └─► GET referral ─► Microsoft's, or a related-referral-* event? ─► list $filter=engagementId eq '…'
 *        └─► ownership: our record │ inbound record │ new inbound │ maybe our create in flight → defer (retry)
 *        └─► SnapshotApplier: newer? write + outbox → CloudEvents
 * ```
 * Transient failures throw (the queue retries); a refused refresh token parks the message (consumed:
 * reconciliation repairs it once a token is stored again); unknown names never reach here (the receiver
 * ignores them) and an invalid message is consumed, never retried.
 */
import { EventName } from '../events/constants';
import { parseReferralSyncMessage, type ReferralSyncMessage } from '../events/eventMessage';
import { odataEquals } from '../partner-center/odata';
import { PartnerCenterError } from '../partner-center/errors';
import type { PartnerCenterReferral } from '../partner-center/types';
import type { Logger } from '../platform/logging';
import { Direction, HistorySource, type TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import { decodeQueuePayload } from '../workflow/messages';
import { isMicrosoftReferral } from '../workflow/microsoftReferral';
import { isReauthorizationRequired } from '../workflow/stepFailure';
import { compareInstants } from './applySnapshot';
import { SyncDeferredError } from './errors';
import { findRecordOf, resolveOwnership } from './ownership';
import type { SyncPartnerCenter } from './ports';
import type { SnapshotApplier } from './snapshotApplier';

/** What handling one message or one engagement did. */
export type SyncOutcome =
  | { kind: 'applied'; trackingId: string; cloudEvents: string[] }
  | { kind: 'unchanged'; trackingId: string }
  | { kind: 'duplicate'; trackingId: string }
  | { kind: 'invalid' }
  | { kind: 'ignored'; why: 'not-found' | 'no-partner-referral' }
  | { kind: 'parked'; why: 'reauthorization-required' };

/** Options for {@link ReferralSync}. */
export interface ReferralSyncOptions {
  records: TrackingRecords;
  partnerCenter: SyncPartnerCenter;
  applier: SnapshotApplier;
  logger: Logger;
  nowMs?: () => number;
}

/** The referrals of one engagement as fetched: the partner's and Microsoft's. */
export interface EngagementSnapshot {
  partner?: PartnerCenterReferral;
  microsoft?: PartnerCenterReferral;
}

/** Most referrals read of one engagement (a co-sell engagement holds two). */
const ENGAGEMENT_MAX_ITEMS = 50;

/** The `referral-sync` use case (see the module comment). */
export class ReferralSync {
  readonly #o: ReferralSyncOptions;
  readonly #nowMs: () => number;

  constructor(options: ReferralSyncOptions) {
    this.#o = options;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Handles one `referral-sync` queue message (plain JSON text, or already parsed by the host). */
  async handle(payload: unknown): Promise<SyncOutcome> {
    const decoded = decodeQueuePayload(payload);
    const message = decoded.ok ? parseReferralSyncMessage(decoded.value) : undefined;
    if (!message) {
      this.#o.logger.warn('Invalid referral-sync message consumed');
      return { kind: 'invalid' };
    }
    try {
      return await this.#handle(message);
    } catch (error) {
      if (!isReauthorizationRequired(error)) throw error;
      this.#o.logger.warn('Sync parked until a new refresh token is stored; reconciliation repairs it', {
        referralId: message.referralId,
        dedupeKey: message.dedupeKey,
      });
      return { kind: 'parked', why: 'reauthorization-required' };
    }
  }

  async #handle(message: ReferralSyncMessage): Promise<SyncOutcome> {
    const related =
      message.eventName === EventName.RelatedReferralCreated || message.eventName === EventName.RelatedReferralUpdated;
    const known = await findRecordOf(this.#o.records, message.referralId);
    if (known && alreadySeen(known, message, related)) return { kind: 'duplicate', trackingId: known.trackingId };
    let named: PartnerCenterReferral;
    try {
      named = await this.#o.partnerCenter.getReferral(message.referralId, {
        logFields: { referralId: message.referralId, step: 'sync' },
      });
    } catch (error) {
      if (error instanceof PartnerCenterError && error.status === 404) return { kind: 'ignored', why: 'not-found' };
      throw error;
    }
    const found: EngagementSnapshot =
      related || isMicrosoftReferral(named) ? await this.engagementOf(named) : { partner: named };
    return this.applyFound(found, HistorySource.Event);
  }

  /** The engagement of `named`: its partner referral and Microsoft referral, as listed now. */
  async engagementOf(named: PartnerCenterReferral): Promise<EngagementSnapshot> {
    const listed = named.engagementId
      ? await this.#o.partnerCenter.listReferrals(
          { filter: odataEquals('engagementId', named.engagementId), maxItems: ENGAGEMENT_MAX_ITEMS },
          { logFields: { engagementId: named.engagementId, step: 'sync-engagement' } },
        )
      : [named];
    const all = listed.some((r) => r.id === named.id) ? listed : [...listed, named];
    return {
      partner: all.find((r) => !isMicrosoftReferral(r)),
      microsoft: all.find((r) => isMicrosoftReferral(r)),
    };
  }

  /**
   * Applies an engagement's snapshots (from an event or reconciliation) to the record they belong to,
   * creating the inbound record of a referral the bridge did not create. Throws {@link SyncDeferredError}
   * (retryable) while our own create may not have recorded the id yet, or a step holds the record.
   */
  async applyFound(found: EngagementSnapshot, source: HistorySource): Promise<SyncOutcome> {
    const partner = found.partner;
    if (!partner) return { kind: 'ignored', why: 'no-partner-referral' };
    const owner = await resolveOwnership(this.#o.records, partner, this.#nowMs());
    if (owner.kind === 'defer') throw new SyncDeferredError(partner.id, owner.why);
    const outcome =
      owner.kind === 'new-inbound'
        ? await this.#o.applier.receiveInbound(partner, source)
        : await this.#applyToRecord(owner.record, partner, found.microsoft, source);
    return outcome.kind === 'applied'
      ? { kind: 'applied', trackingId: outcome.record.trackingId, cloudEvents: outcome.published.map((e) => e.type) }
      : { kind: 'unchanged', trackingId: outcome.record.trackingId };
  }

  async #applyToRecord(
    record: TrackingRecord,
    partner: PartnerCenterReferral,
    microsoft: PartnerCenterReferral | undefined,
    source: HistorySource,
  ) {
    // Indexed by the partner step, but its write naming the id has not landed: let the step finish first.
    if (!record.partnerReferralId) throw new SyncDeferredError(partner.id, 'own-create-pending');
    const outbound = (record.direction ?? Direction.Outbound) === Direction.Outbound;
    const ours =
      microsoft && outbound && (!record.microsoftReferralId || sameId(record.microsoftReferralId, microsoft.id))
        ? microsoft
        : undefined;
    return this.#o.applier.applyTo(record, { partner, ...(ours ? { microsoft: ours } : {}), source });
  }
}

/** True when the record already holds a snapshot at or after the event's change (a duplicate delivery). */
function alreadySeen(record: TrackingRecord, message: ReferralSyncMessage, related: boolean): boolean {
  const stored = related ? record.microsoft?.updatedDateTime : record.partnerCenter?.updatedDateTime;
  if (!related && !sameId(record.partnerReferralId, message.referralId)) return false;
  return stored !== undefined && compareInstants(stored, message.changedAt) >= 0;
}

function sameId(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}
