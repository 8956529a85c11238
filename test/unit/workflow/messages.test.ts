import { decodeQueuePayload, parseIntakeMessage, parseStepMessage } from '../../../shared/workflow/messages';

describe('decodeQueuePayload', () => {
  const body = { name: 'Deal', details: { dealValue: 1 } };

  it.each([
    { case: 'plain JSON text (Power Automate)', payload: JSON.stringify(body) },
    { case: 'base64 JSON (SDK senders)', payload: Buffer.from(JSON.stringify(body)).toString('base64') },
    { case: 'an object the host already parsed', payload: body },
    { case: 'JSON text with surrounding whitespace', payload: `\n ${JSON.stringify(body)} \n` },
  ])('reads $case', ({ payload }) => {
    const decoded = decodeQueuePayload(payload);
    expect(decoded.ok && decoded.value).toEqual(body);
  });

  it.each([
    { case: 'plain text', payload: 'hello world' },
    { case: 'truncated JSON', payload: '{"name": "Deal"' },
    { case: 'base64 of something that is not JSON', payload: Buffer.from('nope!').toString('base64') },
  ])('refuses $case with a problem', ({ payload }) => {
    const decoded = decodeQueuePayload(payload);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.problem.status).toBe(400);
  });
});

describe('parseIntakeMessage', () => {
  it('unwraps the envelope and its idempotency key', () => {
    const message = parseIntakeMessage({ idempotencyKey: 'k1', referral: { name: 'x' } });
    expect(message).toEqual({ body: { name: 'x' }, idempotencyKey: 'k1', traceparent: undefined });
  });

  it('treats an object with other keys as the body itself', () => {
    const value = { referral: { name: 'x' }, type: 'Shared' };
    expect(parseIntakeMessage(value).body).toBe(value);
  });
});

describe('parseStepMessage', () => {
  it('accepts a trackingId and a traceparent, and nothing else', () => {
    const trackingId = `r${'a'.repeat(31)}`;
    expect(parseStepMessage({ trackingId, traceparent: '00-abc-def-01' })).toEqual({
      trackingId,
      traceparent: '00-abc-def-01',
    });
    expect(parseStepMessage({ trackingId })).toEqual({ trackingId });
    expect(parseStepMessage({ trackingId, extra: 1 })).toBeUndefined();
    expect(parseStepMessage({ trackingId: "r' or 1 eq 1" })).toBeUndefined();
    expect(parseStepMessage({ trackingId, traceparent: 'x'.repeat(101) })).toBeUndefined();
    expect(parseStepMessage([trackingId])).toBeUndefined();
    expect(parseStepMessage(null)).toBeUndefined();
  });
});
