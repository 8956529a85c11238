/**
 * Deal types (Private, PartnerLed, CoSell) and how they map onto the referral.
 *
 * | dealType   | consent.consentToShareReferralWithMicrosoftSellers | type                          | coSell   |
 * |------------|-----------------------------------------------------|-------------------------------|----------|
 * | Private    | false (filled when missing)                         | as given, else Independent    | not allowed |
 * | PartnerLed | true (filled when missing)                          | Shared (filled when missing)  | not allowed |
 * | CoSell     | true (filled when missing)                          | Shared (filled when missing)  | required |
 *
 * A missing dealType is derived: a `coSell` block means CoSell, else the flag true means PartnerLed, else
 * (flag false or absent) Private, the reading that shares nothing with Microsoft.
 */
import { DealType, ReferralType } from './constants';

/** Field path (canonical camelCase) of the flag that makes a deal private or shared. */
export const SHARE_FLAG_PATH = ['consent', 'consentToShareReferralWithMicrosoftSellers'] as const;

/** A contradiction between the deal type and the referral, at a canonical path. */
export interface DealTypeConflict {
  path: readonly (string | number)[];
  code: string;
  message: string;
}

/** The deal type of a request and what contradicts it. */
export interface DealTypeResolution {
  dealType: DealType;
  /** True when the caller gave `dealType`; false when it was derived. */
  explicit: boolean;
  conflicts: DealTypeConflict[];
}

const DEAL_TYPES: ReadonlySet<string> = new Set(Object.values(DealType));

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Works out the deal type of a (possibly invalid) normalised request and lists contradictions.
 * Reads only fields of the right type, so it is safe on any input.
 */
export function resolveDealType(request: unknown): DealTypeResolution {
  const body = isRecord(request) ? request : {};
  const consent = isRecord(body.consent) ? body.consent : {};
  const shareFlag =
    typeof consent.consentToShareReferralWithMicrosoftSellers === 'boolean'
      ? consent.consentToShareReferralWithMicrosoftSellers
      : undefined;
  const hasCoSell = body.coSell !== undefined;
  const explicit = typeof body.dealType === 'string' && DEAL_TYPES.has(body.dealType);
  const dealType: DealType = explicit
    ? (body.dealType as DealType)
    : hasCoSell
      ? DealType.CoSell
      : shareFlag === true
        ? DealType.PartnerLed
        : DealType.Private;

  const conflicts: DealTypeConflict[] = [];
  const reason = explicit ? `dealType ${dealType}` : 'A coSell block (dealType CoSell)';
  if (dealType === DealType.Private && shareFlag === true) {
    conflicts.push({
      path: SHARE_FLAG_PATH,
      code: 'deal_type_conflict',
      message:
        'dealType Private keeps the referral from Microsoft sellers: consentToShareReferralWithMicrosoftSellers must be false or left out (or use dealType PartnerLed or CoSell).',
    });
  }
  if (dealType !== DealType.Private) {
    if (shareFlag === false) {
      conflicts.push({
        path: SHARE_FLAG_PATH,
        code: 'deal_type_conflict',
        message: `${reason} shares the referral with Microsoft sellers: consentToShareReferralWithMicrosoftSellers must be true or left out (or use dealType Private).`,
      });
    }
    if (body.type === ReferralType.Independent) {
      conflicts.push({
        path: ['type'],
        code: 'deal_type_conflict',
        message: `${reason} makes the referral visible to Microsoft: type must be Shared or left out.`,
      });
    }
  }
  if (dealType === DealType.CoSell && !hasCoSell) {
    conflicts.push({
      path: ['coSell'],
      code: 'required',
      message: 'dealType CoSell needs a coSell block with notes and assistanceRequestCode for the Microsoft referral.',
    });
  }
  if (explicit && dealType !== DealType.CoSell && hasCoSell) {
    conflicts.push({
      path: ['coSell'],
      code: 'not_allowed',
      message: `coSell is only allowed with dealType CoSell, not with dealType ${dealType}.`,
    });
  }
  return { dealType, explicit, conflicts };
}

/** The referral type a deal type fills in when `type` is missing ([inferred] Independent for Private). */
export function defaultReferralType(dealType: DealType): ReferralType {
  return dealType === DealType.Private ? ReferralType.Independent : ReferralType.Shared;
}
