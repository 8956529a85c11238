/**
 * Fuzzing the Partner Center event receiver: seeded hostile deliveries (bench/lib/eventsFuzzCases.ts:
 * forged signatures, altered bodies, wrong algorithms, certificates from another host or CA, expired
 * certificates, missing headers, oversized bodies, replays of old events, certificate servers that
 * redirect, stall or send too much) against the receive use case (shared/events/receiveEvent.ts), with
 * its real verifier and https certificate source talking to an in-process certificate server.
 *
 * Checks, for every case: the outcome (enqueued, ignored, invalid, refused + reason) is the one the case
 * was built to reach (`mismatches`), and a case that must not change anything put nothing on the queue
 * (`stateChangesFromRefused`).
 *
 * `npm run fuzz:events -- --cases 1000 --seed 7` prints the figures as one JSON object on the last line.
 */
import { parseCertificateUrlAllowlist } from '../shared/events/certificateUrl';
import { certificatesFromPem } from '../shared/events/certificateChain';
import { HttpsCertificateSource } from '../shared/events/certificateSource';
import { EventDefaults } from '../shared/events/constants';
import { EventReceiver, type ReceiveOutcome } from '../shared/events/receiveEvent';
import { SignatureVerifier } from '../shared/events/signatureVerifier';
import { parseOptions, runBenchmark } from './lib/args';
import { mapWithConcurrency } from './lib/httpClient';
import { createEventPki, startCertificateServer } from './lib/eventPki';
import { generateEventsFuzzCases, type EventsFuzzCase, type ExpectedOutcome } from './lib/eventsFuzzCases';

/** Options of {@link runEventsFuzz}. */
export interface EventsFuzzOptions {
  cases: number;
  seed: number;
  /** Deliveries in flight. @default 16 */
  concurrency?: number;
  /**
   * Certificate download budget. Only the stalling server's cases use it up; it is generous so that a
   * busy machine never turns a genuine download into a timeout. @default 2000
   */
  certFetchTimeoutMs?: number;
}

/** One case whose outcome differs from the expected one. */
export interface EventsFuzzMismatch {
  index: number;
  family: string;
  variant: string;
  expected: string;
  actual: string;
}

/** The figures printed on the last line. */
export interface EventsFuzzFigures {
  benchmark: 'fuzz:events';
  seed: number;
  cases: number;
  byFamily: Record<string, number>;
  /** Enqueued on referral-sync. */
  accepted: number;
  /** Verified and answered 200 without enqueuing (test-created, unknown names). */
  ignored: number;
  /** Verified, but not an event body (400). */
  invalid: number;
  refused: number;
  refusedByReason: Record<string, number>;
  /** Cases whose outcome is not the one they were built to reach. */
  mismatches: number;
  /** Messages enqueued by cases that had to change nothing. */
  stateChangesFromRefused: number;
  /** Certificate downloads (the rest were served by the cache). */
  certificateDownloads: number;
  /** Cases that threw instead of returning an outcome. */
  thrown: number;
  mismatchSamples: EventsFuzzMismatch[];
}

const describeExpected = (expected: ExpectedOutcome) =>
  expected.kind === 'refused' ? `refused:${expected.reason}` : expected.kind;
const describeActual = (outcome: ReceiveOutcome) =>
  outcome.kind === 'refused' ? `refused:${outcome.reason}` : outcome.kind;

/** Runs the fuzz cases in process and returns the figures. */
export async function runEventsFuzz(options: EventsFuzzOptions): Promise<EventsFuzzFigures> {
  const pki = await createEventPki();
  const server = await startCertificateServer(pki);
  try {
    const maxBodyBytes = EventDefaults.maxBodyBytes;
    const maxAgeMs = EventDefaults.maxAgeHours * 3_600_000;
    const source = new HttpsCertificateSource({
      tlsCa: pki.tls.caPem,
      timeoutMs: options.certFetchTimeoutMs ?? 2_000,
      nowMs: () => pki.nowMs,
    });
    const verifier = new SignatureVerifier({
      certificates: source,
      allowlist: parseCertificateUrlAllowlist(`${server.host}/cert/*`),
      anchors: { roots: certificatesFromPem(pki.trustedRootsPem), intermediates: [] },
      maxBodyBytes,
      nowMs: () => pki.nowMs,
    });
    const cases = generateEventsFuzzCases(options.cases, options.seed, { pki, server, maxBodyBytes, maxAgeMs });
    const results = await mapWithConcurrency(cases, options.concurrency ?? 16, async (fuzzCase: EventsFuzzCase) => {
      const queued: object[] = [];
      const receiver = new EventReceiver({
        verifier,
        queue: { send: (message) => Promise.resolve(void queued.push(message)) },
        maxAgeMs,
        nowMs: () => pki.nowMs,
      });
      try {
        const outcome = await receiver.receive({ headers: fuzzCase.headers, body: fuzzCase.body });
        return { fuzzCase, outcome, queued: queued.length };
      } catch (error) {
        return { fuzzCase, outcome: undefined, queued: queued.length, error };
      }
    });

    const byFamily: Record<string, number> = {};
    const refusedByReason: Record<string, number> = {};
    const mismatchSamples: EventsFuzzMismatch[] = [];
    let mismatches = 0;
    let stateChangesFromRefused = 0;
    let thrown = 0;
    const count = { enqueued: 0, ignored: 0, invalid: 0, refused: 0 };
    for (const { fuzzCase, outcome, queued } of results) {
      byFamily[fuzzCase.family] = (byFamily[fuzzCase.family] ?? 0) + 1;
      if (fuzzCase.expected.kind !== 'enqueued') stateChangesFromRefused += queued;
      if (!outcome) {
        thrown++;
        continue;
      }
      count[outcome.kind]++;
      if (outcome.kind === 'refused') refusedByReason[outcome.reason] = (refusedByReason[outcome.reason] ?? 0) + 1;
      const expected = describeExpected(fuzzCase.expected);
      const actual = describeActual(outcome);
      if (expected !== actual || (outcome.kind === 'enqueued') !== (queued === 1)) {
        mismatches++;
        if (mismatchSamples.length < 25)
          mismatchSamples.push({
            index: fuzzCase.index,
            family: fuzzCase.family,
            variant: fuzzCase.variant,
            expected,
            actual,
          });
      }
    }
    return {
      benchmark: 'fuzz:events',
      seed: options.seed,
      cases: cases.length,
      byFamily,
      accepted: count.enqueued,
      ignored: count.ignored,
      invalid: count.invalid,
      refused: count.refused,
      refusedByReason,
      mismatches: mismatches + thrown,
      stateChangesFromRefused,
      certificateDownloads: source.downloads,
      thrown,
      mismatchSamples,
    };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const options = parseOptions({
    cases: { kind: 'number', default: 1000, min: 1 },
    seed: { kind: 'number', default: 7 },
    concurrency: { kind: 'number', default: 16, min: 1 },
  });
  const figures = await runEventsFuzz(options);
  for (const sample of figures.mismatchSamples)
    console.log(
      `mismatch: #${sample.index} ${sample.family}/${sample.variant}: expected ${sample.expected}, got ${sample.actual}`,
    );
  console.log(
    `${figures.cases} deliveries: ${figures.accepted} enqueued, ${figures.ignored} ignored, ${figures.invalid} invalid, ` +
      `${figures.refused} refused; ${figures.mismatches} mismatches, ${figures.stateChangesFromRefused} state changes from refused deliveries`,
  );
  console.log(JSON.stringify(figures));
}

if (require.main === module) runBenchmark(main);
