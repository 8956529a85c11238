/**
 * A short seeded chaos run (bench/chaos.ts) as part of `npm test`: 40 mixed referrals through HTTP
 * and the intake queue while the stand-ins inject 429 storms, 5xx, latency spikes, commit-then-drop on
 * creates, Key Vault and token endpoint 429/503, and the local host is killed and restarted twice; then
 * PATCH changes of final deals (each sent twice with one Idempotency-Key) through the faults and one more
 * kill. Asserts the invariants only (never timings). Needs `npm run build` (the host runs dist/).
 */
import { runChaos, type ChaosFigures } from '../../bench/chaos';

let figures: ChaosFigures;

beforeAll(async () => {
  figures = await runChaos({ referrals: 40, seed: 42, kills: 2, settleTimeoutMs: 150_000 });
}, 400_000); // submission + up to 90 s more of faults (bench/chaos.ts) + 150 s to settle + 60 s for the updates

describe('chaos: 40 referrals, two host kills, faults in every dependency', () => {
  it('injects faults into Partner Center and the token path and kills the host twice', () => {
    expect(figures.kills).toBe(2);
    expect(Object.values(figures.faultsInjected.partnerCenter).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(figures.submitted).toBe(40);
  });

  it('loses no request: every submitted request has a tracking record and its partner referral', () => {
    expect(figures.problems).toEqual([]);
    expect(figures.lost).toBe(0);
  });

  it('brings every record to a final state within the run', () => {
    expect(figures.notFinal).toBe(0);
    expect(figures.finalState).toBe(figures.submitted);
  });

  it('creates no duplicate partner referral and at most one Microsoft referral per engagement', () => {
    expect(figures.duplicatePartnerReferrals).toBe(0);
    expect(figures.duplicateMicrosoftReferrals).toBe(0);
  });

  it('never replays a spent refresh token (the token family stays alive across kills)', () => {
    expect(figures.refreshTokenReuse).toBe(0);
  });

  it('links every CoSell deal and every deal upgraded to co-sell, and completes every other deal', () => {
    expect(figures.upgraded).toBeGreaterThan(0);
    expect(figures.linked).toBe(figures.expectedLinked);
    expect(figures.completed).toBe(figures.expectedCompleted);
    expect(figures.rejected).toBe(0);
  });

  it('applies every PATCH change exactly once: no change lost, none applied twice', () => {
    expect(figures.updatesSent).toBeGreaterThan(0);
    expect(figures.updateSendsDuringFaults).toBeGreaterThan(0);
    expect(figures.lostChanges).toBe(0);
    expect(figures.doubleApplied).toBe(0);
    expect(figures.updatesApplied).toBe(figures.updatesSent);
  });
});
