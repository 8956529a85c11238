/**
 * Benchmark: validateReferralRequest on the documented "Request example" (examples/request-example.json).
 *
 * Warms up, then validates in a loop for about 3 s on one core and prints the figure as one JSON object
 * on the last line: {"benchmark":"validate","referralsPerSecond":N,"microsecondsPerReferral":N,"iterations":N}.
 * Run with `npm run bench:validate` (builds, then runs dist/bench/validate.js). Options:
 * `--duration-ms N` (default 3000), `--warmup-ms N` (default 500).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { validateReferralRequest } from '../shared/referral';

/** The repository root: the nearest folder above this file holding package.json (works from bench/ and dist/bench/). */
export function findRepoRoot(start: string = __dirname): string {
  let dir = start;
  for (let i = 0; i < 10; i += 1) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`No package.json found above ${start}`);
}

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** Validates `body` repeatedly for `durationMs` and returns the count and the elapsed time. */
export function runFor(body: unknown, durationMs: number): { iterations: number; elapsedNs: bigint } {
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(durationMs * 1e6));
  let iterations = 0;
  let now = start;
  // Check the clock every 256 validations so reading it costs nothing measurable.
  while (now < deadline) {
    for (let i = 0; i < 256; i += 1) {
      const result = validateReferralRequest(body);
      if (!result.ok) throw new Error(`The Request example did not validate: ${JSON.stringify(result.problem)}`);
    }
    iterations += 256;
    now = process.hrtime.bigint();
  }
  return { iterations, elapsedNs: now - start };
}

function main(): void {
  const root = findRepoRoot();
  const body: unknown = JSON.parse(readFileSync(path.join(root, 'examples', 'request-example.json'), 'utf8'));
  runFor(body, option('--warmup-ms', 500));
  const { iterations, elapsedNs } = runFor(body, option('--duration-ms', 3000));
  const seconds = Number(elapsedNs) / 1e9;
  const referralsPerSecond = Math.round(iterations / seconds);
  const microsecondsPerReferral = Math.round((seconds * 1e6 * 100) / iterations) / 100;
  console.log(JSON.stringify({ benchmark: 'validate', referralsPerSecond, microsecondsPerReferral, iterations }));
}

if (require.main === module) main();
