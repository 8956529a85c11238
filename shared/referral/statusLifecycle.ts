import { ReferralStatus, ReferralSubstatus } from './constants';

/**
 * The substatuses each status allows (the "Status and substatus transition states" table).
 * `None` is the unset status and pairs only with the `None` substatus [inferred].
 */
export const ALLOWED_SUBSTATUS_BY_STATUS: Readonly<Record<ReferralStatus, readonly ReferralSubstatus[]>> = {
  None: [ReferralSubstatus.None],
  New: [ReferralSubstatus.Pending, ReferralSubstatus.Received],
  Active: [ReferralSubstatus.Accepted],
  Closed: [ReferralSubstatus.Won, ReferralSubstatus.Lost, ReferralSubstatus.Declined, ReferralSubstatus.Expired],
};

/**
 * The statuses a referral may move to from each status (same table): New → New/Active/Closed,
 * Active → Active/Closed, Closed → Closed. From the unset status `None` any status may be set [inferred].
 */
export const ALLOWED_STATUS_TRANSITIONS: Readonly<Record<ReferralStatus, readonly ReferralStatus[]>> = {
  None: [ReferralStatus.None, ReferralStatus.New, ReferralStatus.Active, ReferralStatus.Closed],
  New: [ReferralStatus.New, ReferralStatus.Active, ReferralStatus.Closed],
  Active: [ReferralStatus.Active, ReferralStatus.Closed],
  Closed: [ReferralStatus.Closed],
};

/** Substatuses after which a referral can no longer be edited (documented: Won, Lost, Declined, Expired). */
export const TERMINAL_SUBSTATUSES: readonly ReferralSubstatus[] = ALLOWED_SUBSTATUS_BY_STATUS.Closed;

/** A status with its substatus. */
export interface ReferralState {
  status: ReferralStatus;
  substatus: ReferralSubstatus;
}

/** True when `substatus` is one the table allows for `status`. */
export function isAllowedSubstatus(status: ReferralStatus, substatus: ReferralSubstatus): boolean {
  return Object.hasOwn(ALLOWED_SUBSTATUS_BY_STATUS, status) && ALLOWED_SUBSTATUS_BY_STATUS[status].includes(substatus);
}

/**
 * True when a referral in state `from` may be updated to state `to`: both pairs are valid, the status
 * move is in {@link ALLOWED_STATUS_TRANSITIONS}, and a terminal state (Closed with Won, Lost, Declined or
 * Expired) only "moves" to itself (no edit).
 */
export function isAllowedStatusTransition(from: ReferralState, to: ReferralState): boolean {
  if (!isAllowedSubstatus(from.status, from.substatus) || !isAllowedSubstatus(to.status, to.substatus)) return false;
  if (TERMINAL_SUBSTATUSES.includes(from.substatus))
    return from.status === to.status && from.substatus === to.substatus;
  return ALLOWED_STATUS_TRANSITIONS[from.status].includes(to.status);
}
