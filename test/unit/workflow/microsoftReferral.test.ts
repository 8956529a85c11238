import { buildMicrosoftReferral, isMicrosoftReferral } from '../../../shared/workflow/microsoftReferral';
import { isNonPublicAddress } from '../../../shared/workflow/callbackNotifier';

describe('buildMicrosoftReferral', () => {
  const partner = {
    name: 'Contoso deal',
    type: 'Shared',
    customerProfile: { name: 'Contoso', address: { country: 'US' } },
    consent: { consentToShareReferralWithMicrosoftSellers: true },
    details: { dealValue: 100000, currency: 'USD', notes: 'internal notes' },
    qualification: 'SalesQualified',
    team: [{ email: 'seller@partner.example' }],
  };
  const referral = buildMicrosoftReferral(
    partner,
    { notes: 'Please help with a PoC', assistanceRequestCode: 'ProofOfConceptOrDemo' },
    {
      engagementId: 'e-1',
      organizationId: 'org-1',
      organizationName: 'Partner Inc',
    },
  );

  it('joins the engagement as Microsoft with Microsoft as the target', () => {
    expect(referral).toMatchObject({
      engagementId: 'e-1',
      organizationId: 'msft',
      type: 'Shared',
      target: [{ type: 'BusinessProfileLocation', id: 'msft' }],
    });
  });

  it('is invited by the partner organisation with the co-sell notes and assistance code', () => {
    expect(referral.inviteContext).toEqual({
      notes: 'Please help with a PoC',
      invitedBy: { organizationId: 'org-1', organizationName: 'Partner Inc' },
      assistanceRequestCode: 'ProofOfConceptOrDemo',
    });
    expect((referral.details as { notes: string }).notes).toBe('Please help with a PoC');
  });

  it('carries the customer profile and consent but not the partner team', () => {
    expect(referral.customerProfile).toBe(partner.customerProfile);
    expect(referral.consent).toBe(partner.consent);
    expect(referral.team).toEqual([]);
  });

  it('recognises the Microsoft side of an engagement', () => {
    expect(isMicrosoftReferral({ id: 'a', engagementId: 'e', organizationId: 'msft' })).toBe(true);
    expect(
      isMicrosoftReferral({ id: 'a', engagementId: 'e', target: [{ type: 'BusinessProfileLocation', id: 'msft' }] }),
    ).toBe(true);
    expect(isMicrosoftReferral({ id: 'a', engagementId: 'e', organizationId: 'org-1', target: [] })).toBe(false);
  });
});

describe('isNonPublicAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['20.30.40.50', false],
    ['2603:1030::1', false],
  ])('%s → %s', (address, nonPublic) => {
    expect(isNonPublicAddress(address)).toBe(nonPublic);
  });
});
