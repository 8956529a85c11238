import {
  ALLOWED_STATUS_TRANSITIONS,
  ALLOWED_SUBSTATUS_BY_STATUS,
  type ReferralStatus,
  type ReferralSubstatus,
  isAllowedStatusTransition,
  type ReferralState,
} from '../../../shared/referral';
import { expectInvalid, expectValid, minimalRequest, pointersAndCodes } from './helpers';

describe('status and substatus on create', () => {
  it.each([
    { case: 'New/Pending', status: 'New', substatus: 'Pending' },
    { case: 'New/Received', status: 'New', substatus: 'Received' },
    { case: 'Active/Accepted', status: 'Active', substatus: 'Accepted' },
    { case: 'Closed/Won', status: 'Closed', substatus: 'Won' },
    { case: 'Closed/Lost', status: 'Closed', substatus: 'Lost' },
    { case: 'Closed/Declined', status: 'Closed', substatus: 'Declined' },
    { case: 'Closed/Expired', status: 'Closed', substatus: 'Expired' },
    { case: 'a status without substatus', status: 'Active', substatus: undefined },
  ])('accepts $case', ({ status, substatus }) => {
    const referral = expectValid({ ...minimalRequest(), status, ...(substatus ? { substatus } : {}) }).referral;
    expect([referral.status, referral.substatus]).toEqual([status, substatus]);
  });

  it.each([
    {
      case: 'New/Accepted',
      status: 'New',
      substatus: 'Accepted',
      message: 'With status New the substatus must be one of: Pending, Received.',
    },
    {
      case: 'Active/Pending',
      status: 'Active',
      substatus: 'Pending',
      message: 'With status Active the substatus must be one of: Accepted.',
    },
    {
      case: 'Closed/Received',
      status: 'Closed',
      substatus: 'Received',
      message: 'With status Closed the substatus must be one of: Won, Lost, Declined, Expired.',
    },
  ])('rejects $case: the substatus must belong to the status', ({ status, substatus, message }) => {
    expect(expectInvalid({ ...minimalRequest(), status, substatus })).toEqual([
      { pointer: '/substatus', code: 'invalid_substatus', message },
    ]);
  });

  it('rejects a substatus given without its status', () => {
    expect(pointersAndCodes(expectInvalid({ ...minimalRequest(), substatus: 'Pending' }))).toEqual([
      ['/substatus', 'status_required'],
    ]);
  });

  it('points at the substatus as the caller spelled it', () => {
    expect(pointersAndCodes(expectInvalid({ ...minimalRequest(), Status: 'closed', SubStatus: 'pending' }))).toEqual([
      ['/SubStatus', 'invalid_substatus'],
    ]);
  });
});

describe('isAllowedStatusTransition', () => {
  const s = (status: ReferralStatus, substatus: ReferralSubstatus): ReferralState => ({ status, substatus });

  it.each([
    { case: 'New/Pending → New/Received', from: s('New', 'Pending'), to: s('New', 'Received'), allowed: true },
    { case: 'New/Received → Active/Accepted', from: s('New', 'Received'), to: s('Active', 'Accepted'), allowed: true },
    { case: 'New/Pending → Closed/Declined', from: s('New', 'Pending'), to: s('Closed', 'Declined'), allowed: true },
    { case: 'Active/Accepted → Closed/Won', from: s('Active', 'Accepted'), to: s('Closed', 'Won'), allowed: true },
    { case: 'Active/Accepted → New/Pending', from: s('Active', 'Accepted'), to: s('New', 'Pending'), allowed: false },
    { case: 'Closed/Won → Active/Accepted', from: s('Closed', 'Won'), to: s('Active', 'Accepted'), allowed: false },
    {
      case: 'Closed/Lost → Closed/Won (terminal: no edits)',
      from: s('Closed', 'Lost'),
      to: s('Closed', 'Won'),
      allowed: false,
    },
    { case: 'Closed/Won → Closed/Won (no change)', from: s('Closed', 'Won'), to: s('Closed', 'Won'), allowed: true },
    {
      case: 'a target pair the table does not allow',
      from: s('New', 'Pending'),
      to: s('Active', 'Won'),
      allowed: false,
    },
    { case: 'a source pair the table does not allow', from: s('New', 'Won'), to: s('Closed', 'Won'), allowed: false },
  ])('$case: $allowed', ({ from, to, allowed }) => {
    expect(isAllowedStatusTransition(from, to)).toBe(allowed);
  });

  it('follows the documented table', () => {
    expect(ALLOWED_STATUS_TRANSITIONS).toMatchObject({
      New: ['New', 'Active', 'Closed'],
      Active: ['Active', 'Closed'],
      Closed: ['Closed'],
    });
    expect(ALLOWED_SUBSTATUS_BY_STATUS).toMatchObject({
      New: ['Pending', 'Received'],
      Active: ['Accepted'],
      Closed: ['Won', 'Lost', 'Declined', 'Expired'],
    });
  });

  it('never throws for values outside the enums', () => {
    const bogus = { status: '__proto__', substatus: 'constructor' } as unknown as ReferralState;
    expect(isAllowedStatusTransition(bogus, s('New', 'Pending'))).toBe(false);
    expect(isAllowedStatusTransition(s('New', 'Pending'), bogus)).toBe(false);
  });
});
