/**
 * The seeded chaos run with three app instances (separate host processes, one Azurite, one set of
 * stand-ins), each killed once: the invariants hold across instances, the step leases and the token
 * lease keep them from doubling anything, and their sweepers leave the open-work index tidy.
 * Asserts the invariants only (never timings). Needs `npm run build` (the hosts run dist/).
 */
import { runChaos, type ChaosFigures } from '../../bench/chaos';

let figures: ChaosFigures;

beforeAll(async () => {
  figures = await runChaos({ referrals: 40, seed: 11, instances: 3, settleTimeoutMs: 150_000 });
}, 330_000);

describe('chaos: 40 referrals over three instances, each killed once', () => {
  it('runs three instances and kills each once', () => {
    expect(figures.instances).toBe(3);
    expect(figures.kills).toBe(3);
    expect(figures.hostProcesses).toBe(3 + figures.kills + figures.updateKills); // each kill starts a new process
  });

  it('loses nothing, duplicates nothing, links every co-sell deal and brings every record to a final state', () => {
    expect(figures.problems).toEqual([]);
    expect(figures.lost).toBe(0);
    expect(figures.notFinal).toBe(0);
    expect(figures.duplicatePartnerReferrals).toBe(0);
    expect(figures.duplicateMicrosoftReferrals).toBe(0);
    expect(figures.linked).toBe(figures.expectedLinked);
    expect(figures.completed).toBe(figures.expectedCompleted);
  });

  it('redeems the refresh token at most once per host process and never replays a spent one', () => {
    expect(figures.refreshTokenReuse).toBe(0);
    expect(figures.tokenRedemptions).toBeGreaterThan(0);
    expect(figures.tokenRedemptions).toBeLessThanOrEqual(figures.hostProcesses);
  });

  it('leaves no open-work index entry once every record is final (the sweepers tidied it)', () => {
    expect(figures.openIndexEntries).toBe(0);
  });
});
