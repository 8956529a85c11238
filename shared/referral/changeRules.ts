/**
 * What a partner may change on an existing referral, as one table: the fields a change may set (and how
 * each goes to Partner Center), the fields that are read-only after creation, the status moves, the
 * terminal states and the sharing rules. The change validator (changeSchema.ts) reports from it (400),
 * the update use case (shared/update) plans the JSON Patch from it, and docs/contract.md ("Changing a
 * referral") describes it. Sources: ../shared/reference/partner-center-lifecycle.md ("Updating a referral").
 *
 * ```
 * New (Pending, Received) ──► New · Active (Accepted) · Closed (Won, Lost, Declined, Expired)
 * Active (Accepted)       ──► Active · Closed (Won, Lost, Declined, Expired)
 * Closed (any)            ──► nothing: terminal, every change is refused (409 #terminal-state)
 * ```
 */
import { ReferralStatus, ReferralSubstatus, ReferralType } from './constants';
import { ALLOWED_SUBSTATUS_BY_STATUS } from './statusLifecycle';

/** How a changeable field goes to Partner Center. */
export const ChangeKind = {
  /** `replace` (or `add` when Partner Center holds no value yet) of one value. */
  Value: 'value',
  /** `add /team/-` per member not already on the team (by e-mail, any case): never a duplicate. */
  AddItems: 'addItems',
  /** May only repeat what Partner Center holds (a no-op); any other value is refused. */
  Fixed: 'fixed',
} as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

/** One changeable field. */
export interface ChangeableField {
  /** Canonical path in the referral (and in a change body). */
  readonly path: readonly string[];
  readonly kind: ChangeKind;
  /** The field of the record's Partner Center snapshot that keeps its last known value, if any. */
  readonly snapshotField?:
    'name' | 'status' | 'substatus' | 'statusReason' | 'dealValue' | 'currency' | 'closingDateTime';
}

/**
 * The fields a change may carry. `status`/`substatus` also obey {@link STATUS_MOVES}; `type` and the share
 * flag are `fixed`: sharing is upgraded through `POST /api/referrals/{trackingId}/co-sell` and never undone.
 * `salesStage` is in the connector contract, not the documented PATCH examples [inferred: patchable].
 */
export const CHANGEABLE_FIELDS: readonly ChangeableField[] = [
  { path: ['name'], kind: ChangeKind.Value, snapshotField: 'name' },
  { path: ['status'], kind: ChangeKind.Value, snapshotField: 'status' },
  { path: ['substatus'], kind: ChangeKind.Value, snapshotField: 'substatus' },
  { path: ['statusReason'], kind: ChangeKind.Value, snapshotField: 'statusReason' },
  { path: ['qualification'], kind: ChangeKind.Value },
  { path: ['salesStage'], kind: ChangeKind.Value },
  { path: ['details', 'dealValue'], kind: ChangeKind.Value, snapshotField: 'dealValue' },
  { path: ['details', 'currency'], kind: ChangeKind.Value, snapshotField: 'currency' },
  { path: ['details', 'closingDateTime'], kind: ChangeKind.Value, snapshotField: 'closingDateTime' },
  { path: ['details', 'notes'], kind: ChangeKind.Value },
  { path: ['team'], kind: ChangeKind.AddItems },
  { path: ['type'], kind: ChangeKind.Fixed },
  { path: ['consent', 'consentToShareReferralWithMicrosoftSellers'], kind: ChangeKind.Fixed },
];

/**
 * Fields that are read-only after creation (documented: customer name, address, country, DUNS; consent
 * flags; partner id; location scope), plus the fields Partner Center owns. Every field of
 * `customerProfile` counts [inferred for size, team and the matching flags]; the location scope has no
 * documented field: `target` (the business profile location or solution) stands for it [inferred].
 */
export const READ_ONLY_FIELDS: readonly (readonly string[])[] = [
  ['customerProfile'],
  ['consent', 'consentToToShareInfoWithOthers'],
  ['consent', 'consentToContact'],
  ['consent', 'consentToMicrosoftToContactSpecificPartners'],
  ['mpnId'],
  ['target'],
  ['id'],
  ['engagementId'],
  ['organizationId'],
  ['organizationName'],
  ['createdDateTime'],
  ['updatedDateTime'],
  ['acceptedDateTime'],
  ['closedDateTime'],
  ['eTag'],
  ['links'],
  ['direction'],
];

/** Statuses a change may move a referral to, from each status (Closed: none). */
export const STATUS_MOVES: Readonly<Record<ReferralStatus, readonly ReferralStatus[]>> = {
  None: [ReferralStatus.New, ReferralStatus.Active, ReferralStatus.Closed],
  New: [ReferralStatus.New, ReferralStatus.Active, ReferralStatus.Closed],
  Active: [ReferralStatus.Active, ReferralStatus.Closed],
  Closed: [],
};

/** Substatuses of a terminal state: the deal can no longer be edited. */
export const TERMINAL_SUBSTATUSES: readonly string[] = [
  ReferralSubstatus.Won,
  ReferralSubstatus.Lost,
  ReferralSubstatus.Declined,
  ReferralSubstatus.Expired,
];

/** A referral's status pair as Partner Center holds it (any text: what was read). */
export interface HeldStatus {
  status?: string;
  substatus?: string;
}

/** A rule broken by a change, at a canonical path. */
export interface ChangeRuleError {
  path: readonly string[];
  code: string;
  message: string;
}

/** True when `held` is terminal (Closed, or a Won/Lost/Declined/Expired substatus): nothing may change. */
export function isTerminal(held: HeldStatus): boolean {
  return held.status === ReferralStatus.Closed || TERMINAL_SUBSTATUSES.includes(held.substatus ?? '');
}

/** `Closed/Won` style label of a held status. */
export function statusLabel(held: HeldStatus): string {
  return held.substatus ? `${held.status ?? 'None'}/${held.substatus}` : (held.status ?? 'None');
}

/**
 * The status pair a change asks for, from what it gives: a substatus alone keeps the held status when it
 * belongs to it; a status alone takes its only substatus (Active → Accepted). Errors when the pair cannot
 * be completed or breaks the table (the status move, the substatus of the status). `undefined` target when
 * the change touches neither.
 */
export function plannedStatus(
  held: HeldStatus,
  requested: { status?: string; substatus?: string },
): { target?: { status: string; substatus: string }; errors: ChangeRuleError[] } {
  const { status, substatus } = requested;
  if (status === undefined && substatus === undefined) return { errors: [] };
  const from = (held.status ?? ReferralStatus.None) as ReferralStatus;
  const to = (status ?? from) as ReferralStatus;
  const allowedSubstatuses: readonly string[] = ALLOWED_SUBSTATUS_BY_STATUS[to] ?? [];
  let sub = substatus;
  if (sub === undefined) {
    if (status !== undefined && status === held.status && held.substatus) sub = held.substatus;
    else if (allowedSubstatuses.length === 1) sub = allowedSubstatuses[0];
    else {
      return {
        errors: [
          {
            path: ['substatus'],
            code: 'substatus_required',
            message: `Give the substatus too: with status ${to} it is one of ${allowedSubstatuses.join(', ')}.`,
          },
        ],
      };
    }
  }
  const errors: ChangeRuleError[] = [];
  const moves = Object.hasOwn(STATUS_MOVES, from) ? STATUS_MOVES[from] : [];
  if (!moves.includes(to)) {
    errors.push({
      path: [status === undefined ? 'substatus' : 'status'],
      code: 'transition_not_allowed',
      message: `A referral in status ${from} cannot move to ${to}; allowed: ${moves.join(', ') || 'none'}.`,
    });
  } else if (!allowedSubstatuses.includes(sub)) {
    errors.push({
      path: ['substatus'],
      code: 'invalid_substatus',
      message: `With status ${to} the substatus must be one of: ${allowedSubstatuses.join(', ')}.`,
    });
  }
  return errors.length > 0 ? { errors } : { target: { status: to, substatus: sub }, errors };
}

/**
 * The sharing rules of a change against what Partner Center holds: a shared deal is never unshared
 * (share flag true → false, type Shared → Independent); sharing a private deal is the co-sell upgrade's
 * job (`POST /api/referrals/{trackingId}/co-sell`). Repeating the held value is a no-op.
 */
export function sharingErrors(
  held: { type?: unknown; shared?: unknown },
  requested: { type?: string; shared?: boolean },
): ChangeRuleError[] {
  const errors: ChangeRuleError[] = [];
  const sharePath = ['consent', 'consentToShareReferralWithMicrosoftSellers'];
  if (requested.shared !== undefined && requested.shared !== (held.shared === true)) {
    errors.push(
      requested.shared
        ? { path: sharePath, code: 'use_co_sell', message: upgradeMessage }
        : { path: sharePath, code: 'unshare_not_allowed', message: unshareMessage },
    );
  }
  if (requested.type !== undefined && requested.type !== held.type) {
    errors.push(
      requested.type === ReferralType.Shared
        ? { path: ['type'], code: 'use_co_sell', message: upgradeMessage }
        : { path: ['type'], code: 'unshare_not_allowed', message: unshareMessage },
    );
  }
  return errors;
}

const unshareMessage = 'A referral shared with Microsoft cannot be unshared.';
const upgradeMessage = 'Share a referral with Microsoft through POST /api/referrals/{trackingId}/co-sell.';

/** The message of a read-only field. */
export const READ_ONLY_MESSAGE = 'Read-only after the referral is created.';
