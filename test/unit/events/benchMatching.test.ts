/**
 * How bench:events matches the publisher's CloudEvents to the changes it made: by type (Microsoft's
 * decision against data.microsoft.decidedAt, edits against data.partnerReferral.updatedDateTime), a
 * newer snapshot covering the older changes of its kind.
 */
import { cloudEventVersionMs, cover, parseCloudEvent } from '../../../bench/events';

type Changes = Parameters<typeof cover>[1];

function changes(): Changes {
  const change = (index: number, kind: 'edit' | 'microsoft-decision', updated: string) => ({
    index,
    trackingId: 't1',
    referralId: kind === 'edit' ? 'p1' : 'm1',
    kind,
    calledAtMs: 0,
    updatedAtMs: Date.parse(updated),
    status: 200,
  });
  return new Map([
    [
      't1',
      [
        change(0, 'microsoft-decision', '2030-01-01T10:00:00.000Z'),
        change(1, 'edit', '2030-01-01T10:00:01.000Z'),
        change(2, 'edit', '2030-01-01T10:00:02.000Z'),
      ],
    ],
  ]);
}

describe('bench:events matching', () => {
  it("reads the publisher's CloudEvent and the version of its kind", () => {
    const text = JSON.stringify({
      specversion: '1.0',
      id: 'a',
      source: 'urn:x',
      type: 'referral.microsoft.accepted',
      subject: 't1',
      time: '2030-01-01T10:00:03.000Z',
      datacontenttype: 'application/json',
      data: {
        partnerReferral: { updatedDateTime: '2030-01-01T09:00:00.000Z' },
        microsoft: { decision: 'Accepted', decidedAt: '2030-01-01T10:00:00.000Z' },
      },
    });
    const event = parseCloudEvent(text)!;
    expect(event.type).toBe('referral.microsoft.accepted');
    expect(cloudEventVersionMs(event.type, event.data)).toBe(Date.parse('2030-01-01T10:00:00.000Z'));
    expect(cloudEventVersionMs('referral.deal.changed', event.data)).toBe(Date.parse('2030-01-01T09:00:00.000Z'));
  });

  it("covers Microsoft's decision only with a microsoft event, and older edits with a newer deal event", () => {
    const byDeal = changes();
    const deal = { arrivedAtMs: 5, id: 'd', subject: 't1', type: 'referral.deal.changed' };
    expect(cover({ ...deal, versionMs: Date.parse('2030-01-01T10:00:02.000Z') }, byDeal)).toBe(2);
    expect(byDeal.get('t1')!.map((c) => c.coveredAtMs)).toEqual([undefined, 5, 5]);
    const accepted = { arrivedAtMs: 7, id: 'm', subject: 't1', type: 'referral.microsoft.accepted' };
    expect(cover({ ...accepted, versionMs: Date.parse('2030-01-01T10:00:00.000Z') }, byDeal)).toBe(1);
    expect(byDeal.get('t1')![0].coveredAtMs).toBe(7);
  });
});
