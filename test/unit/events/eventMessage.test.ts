import { dedupeKeyOf, parseReferralSyncMessage, toReferralSyncMessage } from '../../../shared/events/eventMessage';

const event = {
  kind: 'sync' as const,
  eventName: 'referral-updated' as const,
  referralId: 'C2A5A8E8-aa8b-4f64-8a06-55fde09f0ea4',
  changedAt: '2021-03-17T21:10:00.3734454Z',
  changedAtMs: 0,
};

describe('referral-sync message', () => {
  it('carries the event, its dedupe key, when it was received and the trace', () => {
    const message = toReferralSyncMessage(event, {
      receivedAtMs: Date.UTC(2021, 2, 17, 21, 11),
      traceparent: '00-a-b-01',
    });
    expect(message).toEqual({
      eventName: 'referral-updated',
      referralId: event.referralId,
      changedAt: event.changedAt,
      dedupeKey: dedupeKeyOf('referral-updated', event.referralId, event.changedAt),
      receivedAt: '2021-03-17T21:11:00.000Z',
      traceparent: '00-a-b-01',
    });
    expect(parseReferralSyncMessage(JSON.parse(JSON.stringify(message)))).toEqual(message);
  });

  it('gives a redelivery the same key and another change, name or referral another one', () => {
    const key = dedupeKeyOf('referral-updated', 'abc', '2021-03-17T21:10:00Z');
    expect(key).toMatch(/^e[0-9a-f]{32}$/);
    expect(dedupeKeyOf('referral-updated', 'ABC', '2021-03-17T21:10:00Z')).toBe(key);
    expect(dedupeKeyOf('referral-created', 'abc', '2021-03-17T21:10:00Z')).not.toBe(key);
    expect(dedupeKeyOf('referral-updated', 'abd', '2021-03-17T21:10:00Z')).not.toBe(key);
    expect(dedupeKeyOf('referral-updated', 'abc', '2021-03-17T21:10:00.1Z')).not.toBe(key);
  });

  it.each([
    ['an extra field', { extra: 1 }],
    ['an unknown event name', { eventName: 'test-created' }],
    ['a referral id with a slash', { referralId: 'a/b' }],
    ['a local time', { changedAt: '2021-03-17T21:10:00' }],
    ['a dedupe key of other fields', { dedupeKey: dedupeKeyOf('referral-created', event.referralId, event.changedAt) }],
    ['a long traceparent', { traceparent: 'x'.repeat(101) }],
  ])('refuses a message with %s', (_name, change) => {
    const message = { ...toReferralSyncMessage(event, { receivedAtMs: 0 }), ...change };
    expect(parseReferralSyncMessage(message)).toBeUndefined();
  });

  it('refuses what is not an object', () => {
    for (const value of [null, 'text', [], 7]) expect(parseReferralSyncMessage(value)).toBeUndefined();
  });
});
