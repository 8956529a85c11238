/**
 * The Partner Center client with its adaptive limiter, against a scripted fetch on a fake clock: what a
 * 429 does to the instance's other calls and to the retry of the throttled one.
 */
import type nodeFetch from 'node-fetch';
import { PartnerCenterClient } from '../../../shared/partner-center/partnerCenterClient';
import { AdaptiveConcurrencyLimiter } from '../../../shared/partner-center/adaptiveConcurrency';
import { FakeClock, settle } from './adaptiveHelpers';

interface SentCall {
  atMs: number;
  name: string;
}

/** A fetch that answers 429 (Retry-After 1) to the first `throttledCalls` calls and 201 after. */
function scriptedFetch(clock: FakeClock, throttledCalls: number) {
  const sent: SentCall[] = [];
  const fetch = (async (_url: string, init: { body?: string }) => {
    const name = (JSON.parse(init.body ?? '{}') as { name?: string }).name ?? '?';
    sent.push({ atMs: clock.nowMs, name });
    const throttled = sent.length <= throttledCalls;
    const text = throttled
      ? JSON.stringify({ statusCode: 429, message: 'Rate limit is exceeded.' })
      : JSON.stringify({ id: `id-${sent.length}`, engagementId: `e-${sent.length}` });
    return {
      status: throttled ? 429 : 201,
      headers: { get: (header: string) => (throttled && header.toLowerCase() === 'retry-after' ? '1' : null) },
      text: async () => text,
    };
  }) as unknown as typeof nodeFetch;
  return { fetch, sent };
}

function client(clock: FakeClock, fetch: typeof nodeFetch, adaptive = true) {
  return new PartnerCenterClient({
    baseUrl: 'https://partner-center.test',
    tokens: { getAccessToken: async () => 'token' },
    baseBackoffMs: 250,
    fetch,
    random: () => 0.5,
    nowMs: clock.now,
    sleep: clock.sleep,
    limiter: new AdaptiveConcurrencyLimiter({ ceiling: 4, adaptive, nowMs: clock.now, sleep: clock.sleep }),
  });
}

describe('PartnerCenterClient with the adaptive limiter', () => {
  it("holds the instance's other calls until the 429's Retry-After ends; the retry waits the hold plus jitter", async () => {
    const clock = new FakeClock();
    const { fetch, sent } = scriptedFetch(clock, 1);
    const pc = client(clock, fetch);
    const first = pc.createReferral({ name: 'first' });
    await settle();
    expect(sent).toEqual([{ atMs: 0, name: 'first' }]);
    const second = pc.createReferral({ name: 'second' });
    await clock.advance(999);
    expect(sent).toHaveLength(1); // the second call did not start during the hold
    await clock.advance(1001);
    await Promise.all([first, second]);
    expect(sent.map((s) => s.name)).toEqual(['first', 'second', 'first']);
    expect(sent[1].atMs).toBe(1000);
    // The retry slept for the hold (1000 ms) plus the retry helper's Retry-After jitter (0.5 × 10 % of it).
    expect(clock.sleeps).toContain(1050);
    expect(sent[2].atMs).toBeGreaterThanOrEqual(1050);
  });

  it('sends the other calls at once with adaptation off (the fixed baseline)', async () => {
    const clock = new FakeClock();
    const { fetch, sent } = scriptedFetch(clock, 1);
    const pc = client(clock, fetch, false);
    const first = pc.createReferral({ name: 'first' });
    await settle();
    const second = pc.createReferral({ name: 'second' });
    await settle();
    expect(sent.map((s) => [s.name, s.atMs])).toEqual([
      ['first', 0],
      ['second', 0],
    ]);
    await clock.advance(2000);
    await Promise.all([first, second]);
  });
});
