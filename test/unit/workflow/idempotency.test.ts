import fc from 'fast-check';
import { canonicalJson } from '../../../shared/workflow/canonicalJson';
import {
  identifyRequest,
  isValidIdempotencyKey,
  trackingIdForInvalidMessage,
} from '../../../shared/workflow/idempotency';

describe('canonicalJson', () => {
  it('gives the same text whatever the key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
        const reversed = Object.fromEntries(Object.entries(object).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(object));
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips to an equal value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('identifyRequest', () => {
  const request = (externalReferenceId?: string, notes = 'a') => ({
    dealType: 'Private',
    referral: { externalReferenceId, details: { notes } },
  });

  it('lands a header key and the same envelope key on one trackingId', () => {
    const viaHeader = identifyRequest(request(), { key: 'k-1', source: 'header' });
    const viaQueue = identifyRequest(request(), { key: 'k-1', source: 'envelope' });
    expect(viaHeader.trackingId).toBe(viaQueue.trackingId);
    expect(viaHeader.trackingId).toMatch(/^r[0-9a-f]{31}$/);
  });

  it('uses externalReferenceId when no key is given, and the payload hash when neither is', () => {
    expect(identifyRequest(request('crm-1'), undefined).keySource).toBe('externalReferenceId');
    expect(identifyRequest(request('crm-1', 'x'), undefined).trackingId).toBe(
      identifyRequest(request('crm-1', 'y'), undefined).trackingId,
    );
    expect(identifyRequest(request(''), undefined).keySource).toBe('hash');
    expect(identifyRequest(request(undefined, 'x'), undefined).trackingId).not.toBe(
      identifyRequest(request(undefined, 'y'), undefined).trackingId,
    );
  });

  it('keeps a key and an externalReferenceId with the same text apart', () => {
    expect(identifyRequest(request('same'), undefined).trackingId).not.toBe(
      identifyRequest(request(), { key: 'same', source: 'header' }).trackingId,
    );
  });

  it('changes the request hash when the payload changes and not when only key order does', () => {
    const a = identifyRequest(
      { dealType: 'Private', referral: { name: 'x', details: { a: 1, b: 2 } } } as never,
      undefined,
    );
    const b = identifyRequest(
      { referral: { details: { b: 2, a: 1 }, name: 'x' }, dealType: 'Private' } as never,
      undefined,
    );
    const c = identifyRequest(
      { dealType: 'Private', referral: { name: 'y', details: { a: 1, b: 2 } } } as never,
      undefined,
    );
    expect(a.requestHash).toBe(b.requestHash);
    expect(a.requestHash).not.toBe(c.requestHash);
  });

  it('derives one trackingId for an invalid message whether the host hands it over as text or parsed', () => {
    expect(trackingIdForInvalidMessage('not json')).toBe(trackingIdForInvalidMessage('not json'));
    expect(trackingIdForInvalidMessage('a')).not.toBe(trackingIdForInvalidMessage('b'));
    expect(trackingIdForInvalidMessage('{"b": 1, "a": [2]}')).toBe(trackingIdForInvalidMessage({ a: [2], b: 1 }));
  });
});

describe('isValidIdempotencyKey', () => {
  it.each([
    { key: 'abc-123', valid: true },
    { key: 'x'.repeat(255), valid: true },
    { key: '', valid: false },
    { key: 'x'.repeat(256), valid: false },
    { key: 'has space', valid: false },
    { key: 'tab\t', valid: false },
    { key: 'é', valid: false },
  ])('$key.length chars → $valid', ({ key, valid }) => {
    expect(isValidIdempotencyKey(key)).toBe(valid);
  });
});
