import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  PARTNER_ROLE_LABELS,
  PartnerRole,
  SERVICES_CO_SELL_CATALOGUE,
  SOLUTION_AREAS,
  isCataloguePair,
} from '../../../shared/referral';
import { expectInvalid, expectValid, minimalRequest, pointersAndCodes } from './helpers';

const services = (fields: Record<string, unknown>) => ({ ...minimalRequest(), ...fields });

describe('Services co-sell fields', () => {
  it.each([
    { case: 'the UI label', sent: 'Presales envisioning' },
    { case: 'the PascalCase form', sent: 'PresalesEnvisioning' },
    { case: 'lower case', sent: 'presales envisioning' },
    { case: 'kebab case', sent: 'presales-envisioning' },
  ])('accepts the partner role as $case and sends the PascalCase form', ({ sent }) => {
    const referral = expectValid(
      services({ partnerRole: sent, solutionArea: 'Infrastructure', solutionPlay: 'Migrate SAP' }),
    ).referral;
    expect(referral.partnerRole).toBe('PresalesEnvisioning');
  });

  it.each(Object.entries(PARTNER_ROLE_LABELS).map(([role, label]) => ({ case: label, role, label })))(
    'accepts the documented role "$case"',
    ({ role, label }) => {
      const referral = expectValid(
        services({ partnerRole: label, solutionArea: 'Security', solutionPlay: 'Data Security' }),
      ).referral;
      expect(referral.partnerRole).toBe(role);
    },
  );

  it('has the eight documented roles', () => {
    expect(Object.keys(PartnerRole)).toHaveLength(8);
  });

  it('normalises solution area and play to the catalogue spelling', () => {
    const referral = expectValid(
      services({
        partnerRole: 'Transaction',
        solutionArea: 'data and ai',
        solutionPlay: 'BUILD AND MODERNIZE AI APPS',
      }),
    ).referral;
    expect([referral.solutionArea, referral.solutionPlay]).toEqual(['Data and AI', 'Build and Modernize AI Apps']);
  });

  it.each([
    { case: 'only partnerRole', fields: { partnerRole: 'Transaction' }, missing: ['/solutionArea', '/solutionPlay'] },
    { case: 'only solutionArea', fields: { solutionArea: 'Security' }, missing: ['/partnerRole', '/solutionPlay'] },
    {
      case: 'role and area',
      fields: { partnerRole: 'Transaction', solutionArea: 'Security' },
      missing: ['/solutionPlay'],
    },
  ])('rejects $case: all three or none', ({ fields, missing }) => {
    expect(pointersAndCodes(expectInvalid(services(fields)))).toEqual(
      missing.map((pointer) => [pointer, 'services_incomplete']),
    );
  });

  it('accepts a referral with none of the three', () => {
    expect(expectValid(minimalRequest()).referral).not.toHaveProperty('partnerRole');
  });

  it('rejects a play of another solution area, listing the plays of the given area', () => {
    const errors = expectInvalid(
      services({ partnerRole: 'Transaction', solutionArea: 'Unified Support', solutionPlay: 'Migrate SAP' }),
    );
    expect(errors).toEqual([
      {
        pointer: '/solutionPlay',
        code: 'invalid_solution_play',
        message:
          'Not a solution play of solution area Unified Support; its plays are: Build a Strong Foundation with Unified; Drive Cloud Success with Enhanced Solutions.',
      },
    ]);
  });

  it.each([
    {
      case: 'an unknown role',
      fields: { partnerRole: 'Reseller', solutionArea: 'Security', solutionPlay: 'Data Security' },
      pointer: '/partnerRole',
    },
    {
      case: 'an unknown area',
      fields: { partnerRole: 'Transaction', solutionArea: 'Gaming', solutionPlay: 'Data Security' },
      pointer: '/solutionArea',
    },
    {
      case: 'an unknown play',
      fields: { partnerRole: 'Transaction', solutionArea: 'Security', solutionPlay: 'Sell More' },
      pointer: '/solutionPlay',
    },
  ])('rejects $case as an invalid enum value', ({ fields, pointer }) => {
    expect(pointersAndCodes(expectInvalid(services(fields)))).toEqual([[pointer, 'invalid_enum']]);
  });
});

describe('the Services co-sell catalogue data file', () => {
  const file = path.resolve(__dirname, '../../../shared/referral/services-co-sell-catalogue.json');
  const data = JSON.parse(readFileSync(file, 'utf8')) as {
    solutionAreas: Array<{ name: string; solutionPlays: string[] }>;
  };

  it('is what the contract validates against (a data change, no code change)', () => {
    expect(SERVICES_CO_SELL_CATALOGUE.solutionAreas).toEqual(data.solutionAreas);
    for (const area of data.solutionAreas)
      for (const play of area.solutionPlays) expect(isCataloguePair(area.name, play)).toBe(true);
  });

  it('holds the 30 area/play pairs of the documented table', () => {
    expect(SOLUTION_AREAS).toEqual([
      'Business Applications',
      'Data and AI',
      'Digital and Application Innovation',
      'Infrastructure',
      'Modern Work',
      'Security',
      'Unified Support',
    ]);
    expect(data.solutionAreas.flatMap((area) => area.solutionPlays)).toHaveLength(30);
  });

  it('accepts a play that belongs to two areas with either area', () => {
    for (const solutionArea of ['Data and AI', 'Digital and Application Innovation']) {
      expect(
        expectValid(
          services({ partnerRole: 'SolutionDesign', solutionArea, solutionPlay: 'Build and Modernize AI Apps' }),
        ).referral.solutionArea,
      ).toBe(solutionArea);
    }
  });
});
