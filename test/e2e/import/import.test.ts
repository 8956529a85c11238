/**
 * `npm run import` end to end: the built CLI (dist/scripts/import.js, run as a child process) against the
 * sandbox (local host, Azurite, Partner Center simulator). Refused rows and exit code 1, the report, a
 * rerun that creates nothing new (the simulator's /_sandbox/referrals), and Ctrl-C part-way: exit 130,
 * then a rerun finishes the rest with every referral created exactly once. Needs `npm run build`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodeFetch from 'node-fetch';
import type { RunningSandbox } from '../../../sandbox/sandbox';
import { importRowsJsonl } from '../../../bench/importRows';
import { APP_DIR, call, startTestSandbox } from '../../helpers/sandboxHarness';

let sandbox: RunningSandbox;
let dir: string;
beforeAll(async () => {
  sandbox = await startTestSandbox();
  dir = mkdtempSync(path.join(tmpdir(), 'import-e2e-'));
}, 120_000);
afterAll(async () => sandbox?.stop());

const CLI = path.join(APP_DIR, 'dist/scripts/import.js');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; with `interruptAfterProgress`, sends SIGINT once the first progress line is printed. */
function runCli(args: string[], interruptAfterProgress = false): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, '--url', sandbox.endpoints.functions], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (interruptAfterProgress && !interrupted && stderr.includes('progress:')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Partner referrals in the simulator, through its inspection endpoint. */
async function simulatorReferrals(): Promise<Array<{ externalReferenceId?: string; organizationId?: string }>> {
  const response = await nodeFetch(`${sandbox.partnerCenter.url}/_sandbox/referrals`);
  const body = (await response.json()) as { value: Array<{ externalReferenceId?: string }> };
  return body.value;
}

const reportOf = (filePath: string) =>
  readFileSync(filePath, 'utf8')
    .trim()
    .split('\r\n')
    .slice(1)
    .map((line) => line.split(','));

describe('npm run import against the sandbox', () => {
  it('imports 50 rows with refused ones (exit 1, report), and a rerun creates nothing new', async () => {
    const tag = `e2e-${Date.now()}`;
    const good = importRowsJsonl(44, tag).trim().split('\n');
    const body = (i: number) => JSON.parse(good[i]) as Record<string, any>;
    const reused = { ...body(0), externalReferenceId: `${tag}-reused`, name: `${tag} reused` };
    // The key was used before, for another payload: the bridge answers 422.
    const before = await call(
      sandbox,
      'POST',
      '/referrals',
      { ...reused, name: `${tag} other payload` },
      { 'Idempotency-Key': reused.externalReferenceId },
    );
    expect(before.status).toBe(201);
    const lines = [
      ...good,
      JSON.stringify({
        ...body(1),
        externalReferenceId: `${tag}-bad-currency`,
        details: { ...body(1).details, currency: 'USX' },
      }),
      JSON.stringify({
        ...body(1),
        externalReferenceId: `${tag}-negative`,
        details: { ...body(1).details, dealValue: -5 },
      }),
      JSON.stringify({ ...body(1), externalReferenceId: `${tag}-no-customer`, customerProfile: undefined }),
      '{"name": "cut off',
      JSON.stringify(reused),
      JSON.stringify({ ...body(2), name: `${tag} same key twice` }),
    ];
    const input = path.join(dir, 'pipeline.jsonl');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const existingBefore = (await simulatorReferrals()).length;

    const first = await runCli([input, '--progress', 'none']);
    expect(first.stdout).toMatch(/^import: 50 rows: 44 accepted \(0 skipped.*6 refused, 0 failed; 45 sent .*rows\/s/);
    expect(first.code).toBe(1);
    const report = reportOf(`${input}.report.csv`);
    expect(report).toHaveLength(50);
    const states = Object.fromEntries(report.map((cells) => [Number(cells[0]), cells[3]]));
    expect(
      report
        .slice(0, 44)
        .every((cells) => ['Completed', 'Linked'].includes(cells[3]) && /^r[0-9a-f]{31}$/.test(cells[2])),
    ).toBe(true);
    expect([45, 46, 47, 48, 49, 50].map((line) => states[line])).toEqual([
      'Invalid',
      'Invalid',
      'Invalid',
      'Unreadable',
      'KeyReused',
      'Invalid',
    ]);
    expect(first.stderr).toContain(`${input}:45: /details/currency: Must be a valid ISO 4217 currency code.`);
    expect(first.stderr).toMatch(/:50: Same idempotency key as line 3/);
    const afterFirst = await simulatorReferrals();
    const ids = afterFirst
      .map((r) => r.externalReferenceId)
      .filter((id): id is string => Boolean(id?.startsWith(`bench-${tag}-`)));
    expect(ids).toHaveLength(44); // one partner referral per accepted row (bench deals are keyed bench-<tag>-<n>)
    expect(new Set(ids).size).toBe(44);

    const second = await runCli([input, '--progress', 'none']);
    expect(second.code).toBe(1); // the refused rows are still refused
    expect(second.stdout).toMatch(/44 accepted \(44 skipped as done before/);
    expect(second.stdout).toMatch(/; 1 sent/); // only the KeyReused row is asked again (and refused again)
    expect((await simulatorReferrals()).length).toBe(afterFirst.length);
    expect(afterFirst.length).toBeGreaterThan(existingBefore);
  });

  it('stops cleanly on Ctrl-C (exit 130, report) and a rerun finishes the rest, each referral once', async () => {
    const tag = `e2e-int-${Date.now()}`;
    const input = path.join(dir, 'interrupted.jsonl');
    writeFileSync(input, importRowsJsonl(120, tag));
    const interrupted = await runCli(
      [input, '--concurrency', '2', '--progress', 'lines', '--progress-interval-ms', '1'],
      true,
    );
    expect(interrupted.code).toBe(130);
    expect(interrupted.stdout).toMatch(/stopped by Ctrl-C/);
    const report = reportOf(`${input}.report.csv`);
    expect(report).toHaveLength(120);
    const notSubmitted = report.filter((cells) => cells[3] === 'NotSubmitted').length;
    expect(notSubmitted).toBeGreaterThan(0);

    const rerun = await runCli([input, '--progress', 'none']);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/120 accepted/);
    const ids = (await simulatorReferrals())
      .map((r) => r.externalReferenceId)
      .filter((id): id is string => Boolean(id?.startsWith(`bench-${tag}-`)));
    expect(ids).toHaveLength(120);
    expect(new Set(ids).size).toBe(120);
  });

  it('exits 2 with one line for a usage error and for a UTF-16 file', async () => {
    const usage = await runCli(['--no-such-option']);
    expect(usage.code).toBe(2);
    const utf16 = path.join(dir, 'utf16.jsonl');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"name":"x"}\n', 'utf16le')]));
    const file = await runCli([utf16]);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/UTF-16 \(little-endian\).*line 1/);
    expect(file.stdout.trim().split('\n')).toHaveLength(1);
  });
});
