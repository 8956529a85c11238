/** The pure core of a change: JSON Patch from a merge patch, the 3-way merge, the rules table. */
import fc from 'fast-check';
import type { PartnerCenterReferral } from '../../../shared/partner-center';
import { plannedStatus, sharingErrors } from '../../../shared/referral/changeRules';
import { validateReferralChanges, type ReferralChanges } from '../../../shared/referral/changeSchema';
import { captureBase, planChange } from '../../../shared/update/planChange';

const held = (overrides: Record<string, unknown> = {}): PartnerCenterReferral => ({
  id: 'r-1',
  engagementId: 'e-1',
  eTag: 'E1',
  name: 'Deal',
  status: 'New',
  substatus: 'Pending',
  statusReason: null,
  type: 'Shared',
  consent: { consentToShareReferralWithMicrosoftSellers: true },
  details: { dealValue: 100, currency: 'USD', notes: 'n' },
  team: [{ email: 'Riley@Partner.example.com' }],
  ...overrides,
});

const changesOf = (body: unknown): ReferralChanges => {
  const result = validateReferralChanges(body);
  if (!result.ok) throw new Error(JSON.stringify(result.problem));
  return result.value;
};

const plan = (body: unknown, referral = held(), snapshot?: Record<string, unknown>) => {
  const changes = changesOf(body);
  return planChange(changes, referral, captureBase(changes, snapshot as never, referral));
};

describe('from a merge patch to a JSON Patch', () => {
  it.each([
    [{ details: { dealValue: 5 } }, [{ op: 'replace', path: '/details/dealValue', value: 5 }]],
    [
      { details: { closingDateTime: '2027-01-01T00:00:00Z' } },
      [{ op: 'add', path: '/details/closingDateTime', value: '2027-01-01T00:00:00Z' }],
    ],
    [{ statusReason: 'why' }, [{ op: 'replace', path: '/statusReason', value: 'why' }]],
    [
      { status: 'Active' },
      [
        { op: 'replace', path: '/status', value: 'Active' },
        { op: 'replace', path: '/substatus', value: 'Accepted' },
      ],
    ],
    [
      { substatus: 'Received' },
      [
        { op: 'replace', path: '/status', value: 'New' },
        { op: 'replace', path: '/substatus', value: 'Received' },
      ],
    ],
    [{ name: 'Deal', details: { dealValue: 100 } }, []],
    [
      { team: [{ email: 'riley@partner.EXAMPLE.com' }, { email: 'sam@partner.example.com' }] },
      [{ op: 'add', path: '/team/-', value: { email: 'sam@partner.example.com' } }],
    ],
    [{ type: 'Shared', consent: { consentToShareReferralWithMicrosoftSellers: true } }, []],
  ])('%j → %j', (body, operations) => {
    expect(plan(body)).toEqual({ kind: 'patch', operations });
  });

  it('adds the whole team when Partner Center holds none', () => {
    expect(plan({ team: [{ email: 'a@b.example.com' }] }, held({ team: null }))).toEqual({
      kind: 'patch',
      operations: [{ op: 'add', path: '/team', value: [{ email: 'a@b.example.com' }] }],
    });
  });
});

describe('the 3-way merge', () => {
  const snapshot = { id: 'r-1', status: 'New', substatus: 'Pending', dealValue: 100, name: 'Deal' };

  it('applies over a field someone else changed when the change does not touch it', () => {
    expect(plan({ name: 'Renamed' }, held({ details: { dealValue: 7 } }), snapshot)).toEqual({
      kind: 'patch',
      operations: [{ op: 'replace', path: '/name', value: 'Renamed' }],
    });
  });

  it('conflicts on a field changed since the base, with base, theirs and ours', () => {
    expect(plan({ details: { dealValue: 300 } }, held({ details: { dealValue: 7 } }), snapshot)).toEqual({
      kind: 'conflict',
      conflicts: [{ path: ['details', 'dealValue'], base: 100, theirs: 7, ours: 300 }],
    });
  });

  it('does not conflict when someone else already set our value (nothing left to send)', () => {
    expect(plan({ details: { dealValue: 7 } }, held({ details: { dealValue: 7 } }), snapshot)).toEqual({
      kind: 'patch',
      operations: [],
    });
  });
});

describe('the rules table', () => {
  it.each([
    [{ status: 'New', substatus: 'Pending' }, { status: 'Active' }, { status: 'Active', substatus: 'Accepted' }],
    [
      { status: 'New', substatus: 'Pending' },
      { status: 'Closed', substatus: 'Lost' },
      { status: 'Closed', substatus: 'Lost' },
    ],
    [
      { status: 'Active', substatus: 'Accepted' },
      { status: 'Closed', substatus: 'Won' },
      { status: 'Closed', substatus: 'Won' },
    ],
    [{ status: 'Active', substatus: 'Accepted' }, { substatus: 'Won' }, undefined],
    [{ status: 'Active', substatus: 'Accepted' }, { status: 'New', substatus: 'Received' }, undefined],
    [{ status: 'New', substatus: 'Pending' }, { status: 'Closed' }, undefined],
  ])('%j + %j → %j', (from, requested, target) => {
    const result = plannedStatus(from, requested);
    expect(result.target).toEqual(target);
    expect(result.errors.length > 0).toBe(target === undefined);
  });

  it('refuses a terminal referral whatever the change', () => {
    expect(plan({ details: { notes: 'x' } }, held({ status: 'Closed', substatus: 'Expired' }))).toEqual({
      kind: 'terminal',
      state: 'Closed/Expired',
    });
  });

  it('never unshares and sends sharing to the co-sell endpoint', () => {
    expect(sharingErrors({ type: 'Shared', shared: true }, { shared: false }).map((e) => e.code)).toEqual([
      'unshare_not_allowed',
    ]);
    expect(sharingErrors({ type: 'Independent', shared: false }, { type: 'Shared' }).map((e) => e.code)).toEqual([
      'use_co_sell',
    ]);
  });
});

describe('any merge patch', () => {
  const key = fc.oneof(
    fc.constantFrom(
      'name',
      'STATUS',
      'substatus',
      'statusReason',
      'qualification',
      'details',
      'team',
      'type',
      'consent',
      'customerProfile',
      'eTag',
      'nmae',
    ),
    fc.string({ maxLength: 6 }),
  );
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('Active', 'Closed', 'Won', 'Accepted', 'New', 'Pending', 'Independent', true, false, 5, -1),
    fc.record(
      {
        dealValue: fc.oneof(fc.double(), fc.integer()),
        notes: fc.string(),
        currency: fc.constantFrom('USD', 'usd', 'XXX'),
      },
      { requiredKeys: [] },
    ),
    fc.array(fc.record({ email: fc.oneof(fc.emailAddress(), fc.string()) }, { requiredKeys: [] }), { maxLength: 3 }),
  );
  const referral = fc.record({
    status: fc.constantFrom('New', 'Active', 'Closed', undefined),
    substatus: fc.constantFrom('Pending', 'Received', 'Accepted', 'Won', 'Lost', undefined),
  });

  it('is valid (a JSON Patch of add/replace), refused with pointers, or a 409, and never throws', () => {
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 5 }), referral, (body, state) => {
        const validated = validateReferralChanges(body);
        if (!validated.ok) {
          expect(validated.problem.status).toBe(400);
          for (const error of validated.problem.errors ?? []) expect(typeof error.pointer).toBe('string');
          return;
        }
        const referralNow = held(state);
        const decided = planChange(validated.value, referralNow, captureBase(validated.value, undefined, referralNow));
        if (decided.kind === 'patch')
          for (const operation of decided.operations) expect(['add', 'replace']).toContain(operation.op);
        else expect(['terminal', 'refused', 'conflict']).toContain(decided.kind);
      }),
      { numRuns: 500, seed: 14 },
    );
  });
});
