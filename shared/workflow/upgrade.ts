/**
 * Upgrade a deal to co-sell later (`POST /api/referrals/{trackingId}/co-sell`): a Private or PartnerLed
 * deal the bridge created gets its Microsoft referral in the same engagement, exactly once.
 *
 * ```
 * read record ──► refusals (inbound 409, Rejected 409, not yet created 409, already co-sell 200/202,
 *   │              Private without shareWithMicrosoft 400, COSELL_UPGRADE_PRIVATE=refuse 409)
 *   ▼
 * Partner Center snapshot Closed? ──► 409 terminal-state
 * GET the partner referral  (fresh eTag; Closed ──► 409 terminal-state)
 *   │
 *   ├─ Private: PATCH type Shared + consentToShareReferralWithMicrosoftSellers true (If-Match; 412 → GET again)
 *   ▼
 * claim: conditional write Completed ──► CreatingMicrosoft under this instance's lease (LINK_MODE=inline)
 *        or ──► LinkQueued + a `referral-link` message (LINK_MODE=queue); dealType CoSell, a minimal request
 *        (the coSell block and the referral fields buildMicrosoftReferral reads), an `upgrade` history entry
 *   │     412 ──► re-read: another upgrade won; answer with the record as it stands (202 in flight, 200 Linked)
 *   ▼
 * the `microsoft` step of the step table, as for a deal created as CoSell (MS-RequestId from trackingId,
 * `microsoft` and the generation; adopt-before-create on a retry): Linked, request purged.
 * ```
 *
 * The share is not a step of its own: it creates nothing and is idempotent (a referral already Shared is not
 * patched again), so it runs before the claim. A crash between the share and the claim leaves a partner
 * referral shared and the record Private/Completed; the caller's retry of the same upgrade sees the referral
 * shared, skips the PATCH and claims. A step row would need its own states and queue for no duplicate it
 * could prevent.
 */
import { z } from 'zod';
import { PartnerCenterError, PartnerCenterRejectedError } from '../partner-center/errors';
import type {
  CallOptions,
  PartnerCenterReferral,
  PatchOptions,
  ReferralPatchOperation,
} from '../partner-center/partnerCenterClient';
import { BridgeError, isRetryable } from '../platform/errors';
import type { Logger } from '../platform/logging';
import { DealType } from '../referral/constants';
import { fieldShapeOf } from '../referral/fieldShape';
import { normaliseInput } from '../referral/normaliseInput';
import { problem, type ProblemDetails, type ProblemFieldError } from '../referral/problem';
import { coSellSchema, type Referral } from '../referral/referralSchema';
import type { CoSellRequest, ReferralRequest } from '../referral/validateReferralRequest';
import { fieldErrorsFromInput, fieldErrorsFromZod, type IssueContext } from '../referral/validationProblem';
import { TrackingConflictError } from '../tracking/errors';
import { TrackingState } from '../tracking/states';
import {
  CallbackState,
  Direction,
  HistorySource,
  withHistory,
  type TrackingChanges,
  type TrackingRecord,
} from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import { RELEASED_LEASE, leaseChanges, type LeaseHolder } from './lease';
import { describe } from './stepFailure';
import type { StepRunner } from './stepRunner';
import { STEPS, StepName } from './stepTable';

/** How a Private deal is upgraded (COSELL_UPGRADE_PRIVATE). */
export const PrivateUpgrade = {
  /** Share the partner referral first (PATCH type Shared and the consent flag, [inferred] accepted). */
  Patch: 'patch',
  /** Refuse with 409: a new co-sell deal is needed. */
  Refuse: 'refuse',
} as const;
export type PrivateUpgrade = (typeof PrivateUpgrade)[keyof typeof PrivateUpgrade];

/** The Partner Center calls of an upgrade beyond the step table's (read and share the partner referral). */
export interface ReferralUpdatesApi {
  getReferral(id: string, options?: CallOptions): Promise<PartnerCenterReferral>;
  patchReferral(
    id: string,
    operations: readonly ReferralPatchOperation[],
    options?: PatchOptions,
  ): Promise<PartnerCenterReferral | undefined>;
}

/** Options for {@link CoSellUpgrade}. */
export interface CoSellUpgradeOptions {
  records: TrackingRecords;
  /** The workflow's step runner: the Microsoft step runs through it, as for a deal created as CoSell. */
  runner: StepRunner;
  partnerCenter: ReferralUpdatesApi;
  logger: Logger;
  /** The workflow's lease holder (same instance id as its step runner). */
  lease: LeaseHolder;
  /** LINK_MODE=inline: the Microsoft step runs in this invocation, else through `referral-link`. */
  linkInline: boolean;
  /** COSELL_UPGRADE_PRIVATE. @default 'patch' */
  privateUpgrade?: PrivateUpgrade;
}

/** Input of an upgrade. */
export interface UpgradeInput {
  trackingId: string;
  /** The parsed JSON body: `{ coSell: { notes, assistanceRequestCode, contacts? }, shareWithMicrosoft? }`. */
  body: unknown;
  /** Stop waiting for Partner Center after this long and leave the Microsoft step to `referral-link`. */
  timeBudgetMs?: number;
}

/**
 * What an upgrade did. `invalid` (400), `notFound` (404), `refused` (409 or 422, nothing changed; `problem`
 * says why), `rejected` (Partner Center refused the Microsoft referral: the record is Rejected and says why),
 * `tracked`: the record as it stands (final: Linked → 200; else in flight → 202); `upgraded` is false when
 * the deal was co-sell already (or another upgrade claimed it first).
 */
export type UpgradeOutcome =
  | { kind: 'invalid'; problem: ProblemDetails }
  | { kind: 'notFound'; problem: ProblemDetails }
  | { kind: 'refused'; problem: ProblemDetails; record: TrackingRecord }
  | { kind: 'rejected'; record: TrackingRecord }
  | { kind: 'tracked'; record: TrackingRecord; upgraded: boolean };

/** The body of an upgrade. */
export interface UpgradeBody {
  coSell: CoSellRequest;
  shareWithMicrosoft?: boolean;
}

/** Base of upgrade failures a retry may fix. */
export class CoSellUpgradeError extends BridgeError {
  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options);
    this.name = 'CoSellUpgradeError';
  }
}

const upgradeBodySchema = z.strictObject({ coSell: coSellSchema, shareWithMicrosoft: z.boolean().optional() });
const UPGRADE_SHAPE = fieldShapeOf(upgradeBodySchema, { closedFields: ['coSell'] });

/** Tries of the share PATCH when the referral changes between the GET and the PATCH (412). */
const SHARE_TRIES = 3;
/** Tries of the claim when another writer changes the record in between (412 on our write). */
const CLAIM_TRIES = 3;
const SHARE_FLAG = 'consentToShareReferralWithMicrosoftSellers';

/**
 * Validates an upgrade body (keys in any letter case, like a create): 400 problem with JSON pointers as
 * the caller sent them. Never throws.
 */
export function parseUpgradeBody(
  input: unknown,
): { ok: true; value: UpgradeBody } | { ok: false; problem: ProblemDetails } {
  try {
    const normalised = normaliseInput(input, UPGRADE_SHAPE, { allowUnknownFields: false });
    const errors: ProblemFieldError[] = fieldErrorsFromInput(normalised.issues);
    if (!normalised.aborted) {
      const context: IssueContext = {
        canonical: normalised.value,
        shape: UPGRADE_SHAPE,
        originalKeys: normalised.originalKeys,
      };
      const parsed = upgradeBodySchema.safeParse(normalised.value);
      if (!parsed.success) errors.push(...fieldErrorsFromZod(parsed.error.issues, context));
      else if (errors.length === 0) return { ok: true, value: parsed.data };
    }
    return { ok: false, problem: upgradeValidationProblem(errors) };
  } catch {
    return {
      ok: false,
      problem: upgradeValidationProblem([{ pointer: '', code: 'unreadable', message: 'The body could not be read.' }]),
    };
  }
}

/** What the record alone decides, before any Partner Center call. */
export type UpgradeDecision =
  { kind: 'answer'; outcome: UpgradeOutcome } | { kind: 'upgrade'; share: boolean; partnerReferralId: string };

/**
 * The refusals and the plan an upgrade of `record` gets from the record alone (pure):
 * inbound → 409; Rejected → 409; already co-sell → the record as it is; not yet created → 409;
 * Private without `shareWithMicrosoft: true` → 400; Private with `refuse` → 409; else upgrade (share first
 * when Private). A partner referral closed by Partner Center is refused later (snapshot or GET).
 */
export function decideUpgrade(
  record: TrackingRecord,
  body: UpgradeBody,
  privateUpgrade: PrivateUpgrade,
): UpgradeDecision {
  const refuse = (slug: string, title: string, detail: string, status = 409): UpgradeDecision => ({
    kind: 'answer',
    outcome: {
      kind: 'refused',
      record,
      problem: problem(status, slug, title, detail, { trackingId: record.trackingId }),
    },
  });
  if (record.direction === Direction.Inbound) {
    return refuse(
      'inbound-referral',
      'The referral is not the partner’s to upgrade',
      'This referral was made in Partner Center by another party (an inbound referral): only the organisation that owns a deal can ask Microsoft for help with it.',
    );
  }
  if (record.state === TrackingState.Rejected) {
    const nothingCreated = !record.partnerReferralId;
    return refuse(
      'not-upgradable',
      'The deal cannot be upgraded',
      nothingCreated
        ? 'Partner Center refused this deal, so there is nothing to upgrade: send the corrected deal again with the same key (fix and resend), as a CoSell deal if Microsoft’s help is wanted.'
        : 'Partner Center refused the Microsoft referral of this deal (see lastError on the tracking record): create a new co-sell deal.',
    );
  }
  if (record.dealType === DealType.CoSell)
    return { kind: 'answer', outcome: { kind: 'tracked', record, upgraded: false } };
  if (record.state !== TrackingState.Completed || !record.partnerReferralId) {
    return refuse(
      'not-upgradable',
      'The deal cannot be upgraded yet',
      `The partner referral is still being created (state ${record.state}): upgrade it once its tracking record is Completed.`,
    );
  }
  const partnerReferralId = record.partnerReferralId;
  if (record.dealType !== DealType.Private) return { kind: 'upgrade', share: false, partnerReferralId };
  if (body.shareWithMicrosoft !== true) {
    const message =
      'This is a Private deal: upgrading it to co-sell shares the partner referral with Microsoft sellers, which cannot be undone. Send "shareWithMicrosoft": true to confirm.';
    return {
      kind: 'answer',
      outcome: {
        kind: 'invalid',
        problem: problem(400, 'share-with-microsoft-required', 'Sharing with Microsoft must be confirmed', message, {
          trackingId: record.trackingId,
          errors: [{ pointer: '/shareWithMicrosoft', code: 'required', message: 'Must be true for a Private deal.' }],
        }),
      },
    };
  }
  if (privateUpgrade === PrivateUpgrade.Refuse) {
    return refuse(
      'private-upgrade-refused',
      'Private deals are not upgraded here',
      'This bridge does not share an existing Private referral with Microsoft (COSELL_UPGRADE_PRIVATE=refuse): create a new deal of type CoSell.',
    );
  }
  return { kind: 'upgrade', share: true, partnerReferralId };
}

/** True when Partner Center closed the referral (Won, Lost, Declined, Expired): it can no longer change. */
export function isTerminalReferral(referral: { status?: string } | undefined): boolean {
  return referral?.status === 'Closed';
}

/** True when the referral is shared with Microsoft sellers (type Shared and the consent flag set). */
export function isSharedWithMicrosoft(referral: PartnerCenterReferral): boolean {
  const consent = referral.consent as Record<string, unknown> | undefined;
  return referral.type === 'Shared' && consent?.[SHARE_FLAG] === true;
}

/**
 * The use case behind `POST /api/referrals/{trackingId}/co-sell` (see the module comment). Never stores
 * more of the partner referral than the Microsoft referral is built from, and only until the record is Linked.
 */
export class CoSellUpgrade {
  readonly #o: CoSellUpgradeOptions & { privateUpgrade: PrivateUpgrade };

  constructor(options: CoSellUpgradeOptions) {
    this.#o = { ...options, privateUpgrade: options.privateUpgrade ?? PrivateUpgrade.Patch };
  }

  /** Upgrades the deal of `trackingId` to co-sell (see {@link UpgradeOutcome}). */
  async upgrade(input: UpgradeInput): Promise<UpgradeOutcome> {
    const body = parseUpgradeBody(input.body);
    if (!body.ok) return { kind: 'invalid', problem: body.problem };
    const { records, lease } = this.#o;
    const deadlineEpochMs = input.timeBudgetMs === undefined ? undefined : lease.nowMs() + input.timeBudgetMs;
    let record = await records.read(input.trackingId);
    for (let attempt = 0; attempt < CLAIM_TRIES && record; attempt++) {
      const decision = decideUpgrade(record, body.value, this.#o.privateUpgrade);
      if (decision.kind === 'answer') return decision.outcome;
      if (isTerminalReferral(record.partnerCenter)) return terminal(record, record.partnerCenter?.substatus);
      const log = this.#o.logger.child({ trackingId: record.trackingId });
      const calls = { deadlineEpochMs, logFields: { trackingId: record.trackingId, step: 'upgrade' } };
      let partnerReferral = await this.#o.partnerCenter.getReferral(decision.partnerReferralId, calls);
      if (isTerminalReferral(partnerReferral)) return terminal(record, partnerReferral.substatus);
      if (decision.share) {
        const shared = await this.#share(record, partnerReferral, calls);
        if ('kind' in shared) return shared;
        partnerReferral = shared.referral;
      }
      try {
        const claimed = await records.update(
          record,
          this.#claimChanges(record, partnerReferral, body.value, decision.share, deadlineEpochMs),
        );
        log.info('Co-sell upgrade claimed', { from: record.dealType, state: claimed.state, shared: decision.share });
        return await this.#run(claimed, deadlineEpochMs);
      } catch (error) {
        if (!(error instanceof TrackingConflictError)) throw error;
        record = await records.read(input.trackingId);
      }
    }
    if (!record) {
      return {
        kind: 'notFound',
        problem: problem(404, 'not-found', 'No such referral request', 'No tracking record has this id.'),
      };
    }
    return { kind: 'tracked', record, upgraded: false };
  }

  /** Shares the partner referral (idempotent): `{ referral }` as now shared, or the refusal to answer with. */
  async #share(
    record: TrackingRecord,
    read: PartnerCenterReferral,
    calls: CallOptions,
  ): Promise<{ referral: PartnerCenterReferral } | UpgradeOutcome> {
    let referral = read;
    for (let attempt = 0; attempt < SHARE_TRIES; attempt++) {
      if (isSharedWithMicrosoft(referral)) return { referral };
      if (isTerminalReferral(referral)) return terminal(record, referral.substatus);
      const consent = (referral.consent ?? {}) as Record<string, unknown>;
      const operations: ReferralPatchOperation[] = [
        { op: 'replace', path: '/type', value: 'Shared' },
        { op: SHARE_FLAG in consent ? 'replace' : 'add', path: `/consent/${SHARE_FLAG}`, value: true },
      ];
      try {
        const patched = await this.#o.partnerCenter.patchReferral(referral.id, operations, {
          ...calls,
          ifMatch: referral.eTag,
        });
        this.#o.logger.info('Partner referral shared with Microsoft sellers', { trackingId: record.trackingId });
        return { referral: patched ?? { ...referral, type: 'Shared', consent: { ...consent, [SHARE_FLAG]: true } } };
      } catch (error) {
        if (error instanceof PartnerCenterRejectedError && error.status === 412) {
          referral = await this.#o.partnerCenter.getReferral(referral.id, calls);
          continue;
        }
        if (error instanceof PartnerCenterError && !error.retryable) {
          this.#o.logger.warn('Partner Center refused to share the partner referral', {
            trackingId: record.trackingId,
            status: error.status,
            code: error.code,
          });
          return {
            kind: 'refused',
            record,
            problem: problem(
              422,
              'partner-center-rejected',
              'Partner Center refused to share the referral with Microsoft',
              `Partner Center answered ${error.status ?? '?'} ${error.code} to the share (type Shared, consent to share with Microsoft sellers): the deal is unchanged. Create a new deal of type CoSell instead (or set COSELL_UPGRADE_PRIVATE=refuse).`,
              { trackingId: record.trackingId, partnerCenterError: { status: error.status, code: error.code } },
            ),
          };
        }
        throw error;
      }
    }
    throw new CoSellUpgradeError('The partner referral kept changing while it was being shared: try again', {
      retryable: true,
    });
  }

  /** The claim's one conditional write: co-sell now, with the minimal request the Microsoft step needs. */
  #claimChanges(
    record: TrackingRecord,
    partnerReferral: PartnerCenterReferral,
    body: UpgradeBody,
    shared: boolean,
    deadlineEpochMs: number | undefined,
  ): TrackingChanges {
    const { lease } = this.#o;
    const inline = this.#o.linkInline && (deadlineEpochMs === undefined || lease.nowMs() < deadlineEpochMs);
    const request: ReferralRequest = {
      dealType: DealType.CoSell,
      referral: microsoftReferralSource(partnerReferral),
      coSell: body.coSell,
    };
    return {
      dealType: DealType.CoSell,
      request,
      lastError: undefined,
      history: withHistory(record.history, {
        at: new Date(lease.nowMs()).toISOString(),
        source: HistorySource.Us,
        kind: 'upgrade',
        from: record.dealType,
        to: DealType.CoSell,
        ...(shared ? { note: 'shared with Microsoft sellers' } : {}),
      }),
      ...(record.callbackUrl ? { callbackState: CallbackState.Pending, callbackFailure: undefined } : {}),
      ...(inline
        ? { state: STEPS.microsoft.running, ...leaseChanges(lease, record) }
        : { state: STEPS.microsoft.waiting, ...RELEASED_LEASE }),
    };
  }

  /** Runs the claimed Microsoft step inline, or hands it to `referral-link`. */
  async #run(claimed: TrackingRecord, deadlineEpochMs: number | undefined): Promise<UpgradeOutcome> {
    const { runner } = this.#o;
    if (claimed.state === STEPS.microsoft.waiting) {
      await runner.send(StepName.Microsoft, claimed).catch((error: unknown) => {
        this.#o.logger.warn('Could not enqueue the upgrade’s Microsoft step; the sweeper will resume it', {
          trackingId: claimed.trackingId,
          reason: describe(error),
        });
      });
      return { kind: 'tracked', record: claimed, upgraded: true };
    }
    const result = await runner.runClaimed(StepName.Microsoft, claimed, { deadlineEpochMs, earlierAttempt: false });
    if (result.kind === 'rejected') return { kind: 'rejected', record: result.record };
    if (result.kind !== 'retry' || result.queued) return { kind: 'tracked', record: result.record, upgraded: true };
    if (!isRetryable(result.error)) throw result.error;
    this.#o.logger.warn('The upgrade’s Microsoft step is handed to its queue', {
      trackingId: claimed.trackingId,
      reason: describe(result.error),
    });
    return { kind: 'tracked', record: await runner.defer(result), upgraded: true };
  }
}

/**
 * What {@link buildMicrosoftReferral} reads of the partner referral (name, customer profile, consent, details,
 * qualification), as Partner Center holds it now, shared: kept in the record's request until it is Linked.
 */
function microsoftReferralSource(partnerReferral: PartnerCenterReferral): Referral {
  const consent = (partnerReferral.consent ?? {}) as Record<string, unknown>;
  const source: Record<string, unknown> = {
    ...(typeof partnerReferral.name === 'string' ? { name: partnerReferral.name } : {}),
    type: 'Shared',
    ...(partnerReferral.qualification ? { qualification: partnerReferral.qualification } : {}),
    customerProfile: partnerReferral.customerProfile,
    consent: { ...consent, [SHARE_FLAG]: true },
    details: partnerReferral.details ?? {},
  };
  // Partner Center's own representation of a referral it accepted: not re-validated against the request schema.
  return source as Referral;
}

function terminal(record: TrackingRecord, substatus: string | undefined): UpgradeOutcome {
  return {
    kind: 'refused',
    record,
    problem: problem(
      409,
      'terminal-state',
      'The deal is closed',
      `The partner referral is Closed${substatus ? ` (${substatus})` : ''}: a deal in a terminal state can no longer be upgraded to co-sell.`,
      { trackingId: record.trackingId },
    ),
  };
}

function upgradeValidationProblem(errors: readonly ProblemFieldError[]): ProblemDetails {
  const count = errors.length === 1 ? '1 problem was found' : `${errors.length} problems were found`;
  return problem(
    400,
    'validation',
    'The co-sell upgrade is not valid',
    `${count} in the request body ({ "coSell": { "notes", "assistanceRequestCode", "contacts"? }, "shareWithMicrosoft"? }).`,
    { errors: errors.slice(0, 50) },
  );
}
