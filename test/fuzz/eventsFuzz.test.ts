/**
 * A small seeded run of bench/eventsFuzz.ts: 200 hostile Partner Center deliveries against the receive
 * use case with its real verifier and an in-process https certificate server. No build, no sandbox.
 */
import { runEventsFuzz, type EventsFuzzFigures } from '../../bench/eventsFuzz';
import { FuzzFamily } from '../../bench/lib/eventsFuzzCases';

let figures: EventsFuzzFigures;

beforeAll(async () => {
  figures = await runEventsFuzz({ cases: 200, seed: 2024 });
}, 120_000);

describe('fuzz: 200 seeded hostile deliveries to the event receiver', () => {
  it('covers every fault family', () => {
    expect(Object.keys(figures.byFamily).sort()).toEqual(Object.values(FuzzFamily).sort());
    expect(figures.cases).toBe(200);
  });

  it('reaches the outcome every case was built for', () => {
    expect(figures.mismatchSamples).toEqual([]);
    expect(figures.mismatches).toBe(0);
    expect(figures.thrown).toBe(0);
  });

  it('changes nothing for a delivery it refuses', () => {
    expect(figures.stateChangesFromRefused).toBe(0);
  });

  it('refuses for many different reasons and still accepts the genuine deliveries', () => {
    expect(Object.keys(figures.refusedByReason).length).toBeGreaterThanOrEqual(12);
    expect(figures.accepted).toBeGreaterThan(0);
    expect(figures.ignored).toBeGreaterThan(0);
  });

  it('downloads a certificate once per URL while it is cached', () => {
    expect(figures.certificateDownloads).toBeLessThan(figures.cases / 4);
  });
});
