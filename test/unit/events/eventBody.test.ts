import fc from 'fast-check';
import { canonicalUtcTimestamp, parseEventBody, referralIdFromResourceUri } from '../../../shared/events/eventBody';

const id = 'c2a5a8e8-aa8b-4f64-8a06-55fde09f0ea4';
const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const documentedBody = {
  EventName: 'referral-created',
  ResourceUri: `https://api.partnercenter.microsoft.com/engagements/v1/referrals/${id}`,
  ResourceName: 'referral',
  AuditUri: null,
  ResourceChangeUtcDate: '2021-03-17T21:10:00.3734454+00:00',
};

describe('parseEventBody', () => {
  it('reads the documented body', () => {
    expect(parseEventBody(bytes(documentedBody))).toEqual({
      ok: true,
      event: {
        kind: 'sync',
        eventName: 'referral-created',
        referralId: id,
        resourceName: 'referral',
        changedAt: '2021-03-17T21:10:00.3734454Z',
        changedAtMs: Date.parse('2021-03-17T21:10:00.373Z'),
      },
    });
  });

  it.each(['referral-updated', 'related-referral-created', 'related-referral-updated'])('reads %s', (name) => {
    const result = parseEventBody(bytes({ ...documentedBody, EventName: name }));
    expect(result.ok && result.event).toMatchObject({ kind: 'sync', eventName: name, referralId: id });
  });

  it('accepts AuditUri and AuditUrl', () => {
    const { AuditUri: _ignored, ...withoutAudit } = documentedBody;
    const viaUrl = parseEventBody(bytes({ ...withoutAudit, AuditUrl: 'https://audit.example/1' }));
    const viaUri = parseEventBody(bytes({ ...withoutAudit, AuditUri: 'https://audit.example/2' }));
    expect(viaUrl.ok && viaUrl.event).toMatchObject({ auditUri: 'https://audit.example/1' });
    expect(viaUri.ok && viaUri.event).toMatchObject({ auditUri: 'https://audit.example/2' });
    expect(parseEventBody(bytes(withoutAudit)).ok).toBe(true);
  });

  it('takes the referral id from the path and ignores the host', () => {
    for (const uri of [
      `https://evil.example/engagements/v1/referrals/${id}`,
      `https://api.partner.microsoft.com/v1.0/engagements/referrals/${id}/`,
      `http://127.0.0.1:9/referrals/${id}`,
    ]) {
      expect(referralIdFromResourceUri(uri)).toBe(id);
    }
  });

  it.each([
    'not a uri',
    `https://api.partnercenter.microsoft.com/engagements/v1/referrals/${id}/notes`,
    'https://api.partnercenter.microsoft.com/engagements/v1/referrals/',
    'https://api.partnercenter.microsoft.com/engagements/v1/referrals/..%2F..%2Fadmin',
    `https://api.partnercenter.microsoft.com/engagements/v1/referrals/${'a'.repeat(65)}`,
  ])('finds no referral id in %s', (uri) => {
    expect(referralIdFromResourceUri(uri)).toBeUndefined();
  });

  it('reads the id from the path, not from a query that imitates one', () => {
    expect(referralIdFromResourceUri(`https://x.example/referrals/${id}?next=/referrals/other`)).toBe(id);
    expect(referralIdFromResourceUri(`https://x.example/notes?r=/referrals/${id}`)).toBeUndefined();
  });

  it('parses test-created by its name only (Partner Center validation)', () => {
    expect(parseEventBody(bytes({ EventName: 'test-created' }))).toEqual({
      ok: true,
      event: { kind: 'test', eventName: 'test-created' },
    });
  });

  it('parses an unknown event name as unknown, without requiring the other fields', () => {
    expect(parseEventBody(bytes({ EventName: 'referral-deleted' }))).toEqual({
      ok: true,
      event: { kind: 'unknown', eventName: 'referral-deleted' },
    });
    const odd = parseEventBody(bytes({ EventName: 'line\nbreak' }));
    expect(odd.ok && odd.event).toEqual({ kind: 'unknown', eventName: '(unprintable)' });
  });

  it.each([
    ['not JSON', '{"EventName":'],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
    ['an array', '[]'],
    ['no EventName', { ...documentedBody, EventName: undefined }],
    ['a numeric EventName', { ...documentedBody, EventName: 7 }],
    ['no ResourceUri', { ...documentedBody, ResourceUri: undefined }],
    ['no ResourceChangeUtcDate', { ...documentedBody, ResourceChangeUtcDate: undefined }],
    ['a date that is not ISO 8601', { ...documentedBody, ResourceChangeUtcDate: '17/03/2021' }],
    ['an impossible date', { ...documentedBody, ResourceChangeUtcDate: '2021-02-30T00:00:00Z' }],
    ['camelCase keys', { eventName: 'referral-created', resourceUri: documentedBody.ResourceUri }],
  ])('refuses %s with a problem that echoes nothing', (_name, value) => {
    const result = parseEventBody(Buffer.isBuffer(value) ? value : bytes(value));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).not.toContain(id);
  });
});

describe('canonicalUtcTimestamp', () => {
  it.each([
    ['2021-03-17T21:10:00.3734454+00:00', '2021-03-17T21:10:00.3734454Z'],
    ['2021-03-17T21:10:00.3734454Z', '2021-03-17T21:10:00.3734454Z'],
    ['2021-03-17T21:10:00.37344540Z', '2021-03-17T21:10:00.3734454Z'],
    ['2021-03-17T23:10:00.5+02:00', '2021-03-17T21:10:00.5Z'],
    ['2021-03-17T21:10:00', '2021-03-17T21:10:00Z'],
    ['2021-03-17T21:10:00.000Z', '2021-03-17T21:10:00Z'],
  ])('writes %s as %s', (input, canonical) => {
    expect(canonicalUtcTimestamp(input)?.text).toBe(canonical);
  });

  it('gives one canonical text per instant, whatever the offset', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }),
        fc.integer({ min: -12 * 60, max: 14 * 60 }),
        (date, offsetMinutes) => {
          const shifted = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 23);
          const sign = offsetMinutes < 0 ? '-' : '+';
          const abs = Math.abs(offsetMinutes);
          const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          const parsed = canonicalUtcTimestamp(`${shifted}${zone}`);
          expect(parsed?.epochMs).toBe(date.getTime());
          expect(parsed?.text).toBe(canonicalUtcTimestamp(date.toISOString())?.text);
        },
      ),
      { seed: 21 },
    );
  });
});
