import type { PartnerCenterReferral } from '../partner-center/types';

/** Organization id Partner Center uses for Microsoft. */
export const MICROSOFT_ORGANIZATION_ID = 'msft';

/** The co-sell block of a validated request. */
export interface CoSellBlock {
  notes: string;
  assistanceRequestCode: string;
  contacts?: unknown[];
}

/**
 * Builds step 2 of a co-sell deal ("Create a Microsoft referral using partner referral details"):
 * same engagementId, organizationId `msft`, target `{ BusinessProfileLocation, msft }`, the partner
 * referral's customer profile, consent and details, `inviteContext.invitedBy` = the partner
 * organisation returned by step 1, and the notes and assistanceRequestCode of the `coSell` block.
 */
export function buildMicrosoftReferral(
  partnerReferral: Record<string, unknown>,
  coSell: CoSellBlock,
  created: { engagementId: string; organizationId?: string; organizationName?: string },
): Record<string, unknown> {
  const details = (partnerReferral.details ?? {}) as Record<string, unknown>;
  return {
    engagementId: created.engagementId,
    organizationId: MICROSOFT_ORGANIZATION_ID,
    organizationName: 'Microsoft',
    ...(partnerReferral.name !== undefined ? { name: partnerReferral.name } : {}),
    customerProfile: partnerReferral.customerProfile,
    consent: partnerReferral.consent,
    details: { ...details, notes: coSell.notes },
    team: coSell.contacts ?? [],
    inviteContext: {
      notes: coSell.notes,
      invitedBy: {
        ...(created.organizationId ? { organizationId: created.organizationId } : {}),
        ...(created.organizationName ? { organizationName: created.organizationName } : {}),
      },
      assistanceRequestCode: coSell.assistanceRequestCode,
    },
    type: 'Shared',
    qualification: partnerReferral.qualification ?? 'SalesQualified',
    target: [{ type: 'BusinessProfileLocation', id: MICROSOFT_ORGANIZATION_ID }],
  };
}

/** True when `referral` is the Microsoft side of an engagement (organisation or target `msft`). */
export function isMicrosoftReferral(referral: PartnerCenterReferral): boolean {
  if (referral.organizationId === MICROSOFT_ORGANIZATION_ID) return true;
  return (referral.target ?? []).some(
    (t) => t.id === MICROSOFT_ORGANIZATION_ID && t.type === 'BusinessProfileLocation',
  );
}
