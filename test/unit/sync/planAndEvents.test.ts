import {
  DEFAULT_DECISION_RULES,
  compareInstants,
  decisionOf,
  isNewer,
  planSnapshotApply,
} from '../../../shared/sync/applySnapshot';
import { cloudEventId } from '../../../shared/sync/cloudEvents';
import { inboundTrackingId } from '../../../shared/sync/inboundRecord';
import { sameDeal } from '../../../shared/sync/ownership';
import type { TrackingRecord } from '../../../shared/tracking/trackingRecord';
import fc from 'fast-check';

const record = (fields: Partial<TrackingRecord> = {}): TrackingRecord => ({
  trackingId: 'r0000000000000000000000000000001',
  state: 'Linked',
  dealType: 'CoSell',
  source: 'http',
  keySource: 'header',
  requestHash: 'h',
  attempts: 1,
  partnerReferralId: 'p-1',
  createdAtEpochMs: 0,
  updatedAtEpochMs: 0,
  etag: 'e',
  ...fields,
});

const partner = (updatedDateTime: string, extra: Record<string, unknown> = {}) => ({
  id: 'p-1',
  engagementId: 'g-1',
  status: 'New',
  substatus: 'Pending',
  updatedDateTime,
  eTag: `"${updatedDateTime}"`,
  ...extra,
});

describe('the decision table [inferred]', () => {
  it.each([
    ['Active', 'Accepted', 'Accepted'],
    ['Closed', 'Declined', 'Declined'],
    ['Closed', 'Expired', 'Expired'],
    ['Closed', 'Won', 'Accepted'],
    ['New', 'Pending', 'Pending'],
    ['Unheard', 'Of', 'Pending'],
  ])('reads %s/%s as %s', (status, substatus, decision) => {
    expect(decisionOf(status, substatus, DEFAULT_DECISION_RULES)).toBe(decision);
  });

  it('takes a configured table instead (first match wins)', () => {
    const rules = [{ status: 'Active', substatus: 'Engaged', decision: 'Accepted' as const }];
    expect(decisionOf('Active', 'Accepted', rules)).toBe('Pending');
    expect(decisionOf('Active', 'Engaged', rules)).toBe('Accepted');
  });
});

describe('newer than, at Partner Center precision', () => {
  it('orders two changes inside one millisecond', () => {
    expect(isNewer('2021-03-17T21:10:00.3734455Z', '2021-03-17T21:10:00.3734454Z')).toBe(true);
    expect(isNewer('2021-03-17T21:10:00.3734454Z', '2021-03-17T21:10:00.3734455Z')).toBe(false);
    expect(compareInstants('2021-03-17T21:10:00.373Z', '2021-03-17T21:10:00.3730000Z')).toBe(0);
  });

  it('agrees with millisecond order whenever the milliseconds differ (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 0, max: 4e12 }), (a, b) => {
        const x = new Date(a).toISOString();
        const y = new Date(b).toISOString();
        expect(Math.sign(compareInstants(x, y))).toBe(Math.sign(a - b));
      }),
    );
  });

  it('never takes an unreadable time for newer', () => {
    expect(isNewer('not a time', '2021-03-17T21:10:00Z')).toBe(false);
    expect(isNewer('2021-03-17T21:10:00Z', undefined)).toBe(true);
  });
});

describe('planSnapshotApply', () => {
  const at = '2030-01-01T00:00:00.000Z';
  it('records the first snapshot of our own referral without announcing a change', () => {
    const plan = planSnapshotApply(record(), { partner: partner('2030-01-01T00:00:00Z'), source: 'event', at });
    expect(plan).toMatchObject({ kind: 'apply', changed: [] });
  });

  it('announces a status change once, and a second finding of the same snapshot changes nothing', () => {
    const first = planSnapshotApply(record(), { partner: partner('2030-01-01T00:00:00Z'), source: 'event', at });
    if (first.kind !== 'apply') throw new Error('expected apply');
    const stored = record({ ...first.changes });
    const moved = partner('2030-01-01T00:00:01Z', { status: 'Active', substatus: 'Accepted' });
    const second = planSnapshotApply(stored, { partner: moved, source: 'event', at });
    expect(second).toMatchObject({ kind: 'apply', changed: ['status'] });
    if (second.kind !== 'apply') throw new Error('expected apply');
    const after = record({ ...first.changes, ...second.changes });
    expect(planSnapshotApply(after, { partner: moved, source: 'reconcile', at })).toEqual({ kind: 'unchanged' });
    expect(after.history?.[0]).toMatchObject({ kind: 'status', from: 'New/Pending', to: 'Active/Accepted' });
  });

  it('ignores an older snapshot that arrives late (out of order)', () => {
    const stored = record({ partnerCenter: { id: 'p-1', status: 'Active', updatedDateTime: '2030-01-01T00:00:05Z' } });
    expect(planSnapshotApply(stored, { partner: partner('2030-01-01T00:00:01Z'), source: 'event', at })).toEqual({
      kind: 'unchanged',
    });
  });

  it("announces Microsoft's decision when it moves", () => {
    const microsoft = {
      id: 'm-1',
      engagementId: 'g-1',
      organizationId: 'msft',
      status: 'Active',
      substatus: 'Accepted',
      createdDateTime: '2030-01-01T00:00:00Z',
      updatedDateTime: '2030-01-02T00:00:00Z',
      trackingInfo: { microsoftMsxId: '7-ABC' },
    };
    const stored = record({ microsoft: { decision: 'Pending', updatedDateTime: '2030-01-01T00:00:00Z' } });
    const plan = planSnapshotApply(stored, { microsoft, source: 'event', at });
    expect(plan).toMatchObject({
      kind: 'apply',
      changed: ['microsoft'],
      changes: { microsoft: { decision: 'Accepted', msxId: '7-ABC', respondBy: '2030-01-15T00:00:00.000Z' } },
    });
  });
});

describe('ids', () => {
  it('gives one change one CloudEvent id, and another change another', () => {
    const id = cloudEventId('P-1', 'referral.status.changed', '2030-01-01T00:00:01Z');
    expect(cloudEventId('p-1', 'referral.status.changed', '2030-01-01T00:00:01Z')).toBe(id);
    expect(cloudEventId('p-1', 'referral.status.changed', '2030-01-01T00:00:02Z')).not.toBe(id);
    expect(cloudEventId('p-1', 'referral.deal.changed', '2030-01-01T00:00:01Z')).not.toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('derives the inbound trackingId from the referral id, in the trackingId format', () => {
    expect(inboundTrackingId('ABC-1')).toBe(inboundTrackingId('abc-1'));
    expect(inboundTrackingId('abc-1')).toMatch(/^r[0-9a-f]{31}$/);
    expect(inboundTrackingId('abc-2')).not.toBe(inboundTrackingId('abc-1'));
  });
});

describe('sameDeal (is an unknown referral maybe our create in flight?)', () => {
  const sent = {
    name: 'Contoso  Migration',
    customerProfile: { name: 'Contoso' },
    details: { dealValue: 5, currency: 'USD' },
  };
  it('matches what Partner Center returns for it, ignoring case and spacing', () => {
    expect(sameDeal(sent, { id: 'x', engagementId: 'g', ...sent, name: 'contoso migration' })).toBe(true);
  });
  it('does not match another deal', () => {
    expect(sameDeal(sent, { id: 'x', engagementId: 'g', ...sent, customerProfile: { name: 'Fabrikam' } })).toBe(false);
  });
});

describe('the referral-sync consumer', () => {
  it('consumes an invalid message without calling Partner Center', async () => {
    const { ReferralSync } = await import('../../../shared/sync/referralSync');
    const { InMemoryTrackingRecords } = await import('../../../shared/tracking/inMemoryTrackingRecords');
    const { createLogger, silentSink } = await import('../../../shared/platform/logging');
    const refuse = () => {
      throw new Error('no Partner Center call expected');
    };
    const sync = new ReferralSync({
      records: new InMemoryTrackingRecords(),
      partnerCenter: { getReferral: refuse, listReferrals: refuse, listReferralPages: refuse },
      applier: undefined as never,
      logger: createLogger({ sink: silentSink }),
    });
    for (const payload of ['not json', '{}', { eventName: 'referral-updated', referralId: 'x', dedupeKey: 'e0' }])
      await expect(sync.handle(payload)).resolves.toEqual({ kind: 'invalid' });
  });
});
