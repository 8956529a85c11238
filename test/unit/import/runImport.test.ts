/**
 * A whole run against the HTTP stand-in: refused rows and the exit code, the report, a rerun that sends
 * nothing (state file, or an earlier report), a changed row sent again, the dry run, and the command line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { apiBaseOf, parseCommandLine } from '../../../scripts/import';
import { ImportUsageError } from '../../../scripts/import/errors';
import { runImport, type ImportOptions } from '../../../scripts/import/runImport';
import { example, uniqueDeal } from '../../helpers/examples';
import { startStubBridge, type StubBridge } from './stubBridge';

let stub: StubBridge;
let dir: string;
beforeEach(async () => {
  stub = await startStubBridge();
  dir = mkdtempSync(path.join(tmpdir(), 'import-run-'));
});
afterEach(async () => {
  await stub.close();
  rmSync(dir, { recursive: true, force: true });
});

const sink = () => {
  const chunks: string[] = [];
  const stream = new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c.toString()), done()) });
  return { stream, text: () => chunks.join('') };
};

function jsonl(bodies: Array<Record<string, unknown> | string>): string {
  const filePath = path.join(dir, 'pipeline.jsonl');
  writeFileSync(filePath, `${bodies.map((b) => (typeof b === 'string' ? b : JSON.stringify(b))).join('\n')}\n`);
  return filePath;
}

async function run(inputPath: string, extra: Partial<ImportOptions> = {}) {
  const stdout = sink();
  const stderr = sink();
  const summary = await runImport({
    inputPath,
    apiBaseUrl: stub.apiBaseUrl,
    reportPath: `${inputPath}.report.csv`,
    statePath: `${inputPath}.import-state.jsonl`,
    progress: 'none',
    backoffBaseMs: 1,
    stdout: stdout.stream,
    stderr: stderr.stream,
    ...extra,
  });
  const report = readFileSync(extra.reportPath ?? `${inputPath}.report.csv`, 'utf8')
    .trim()
    .split('\r\n');
  return { summary, report, stdout: stdout.text(), stderr: stderr.text() };
}

const deal = (key: string): Record<string, any> => ({
  ...uniqueDeal(example('partner-led-deal.json'), key),
  externalReferenceId: key,
});
const invalid = (key: string) => ({ ...deal(key), details: { ...deal(key).details, currency: 'USX' } });

describe('runImport', () => {
  it('sends the valid rows, refuses the others with line and message, exits 1 and writes the report', async () => {
    const input = jsonl([deal('ok-1'), invalid('ok-2'), '{"broken": ', deal('reject-1'), deal('ok-3')]);
    const { summary, report, stdout, stderr } = await run(input);
    expect(summary).toMatchObject({ exitCode: 1, rows: 5, accepted: 2, refused: 3, submitted: 3 });
    expect(report[0]).toBe('line,externalReferenceId,trackingId,state,error');
    expect(report.slice(1).map((l) => l.split(',').slice(0, 4).join(','))).toEqual([
      expect.stringMatching(/^1,ok-1,r[0-9a-f]{31},Completed$/),
      '2,ok-2,,Invalid',
      '3,,,Unreadable',
      expect.stringMatching(/^4,reject-1,r[0-9a-f]{31},Rejected$/),
      expect.stringMatching(/^5,ok-3,r[0-9a-f]{31},Completed$/),
    ]);
    expect(stderr).toContain(`${input}:2: /details/currency: Must be a valid ISO 4217 currency code.`);
    expect(stderr).toContain(`${input}:3: The line is not valid JSON`);
    expect(stderr).toContain(`${input}:4: The customer country is not supported.`);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stdout).toMatch(/^import: 5 rows: 2 accepted .*3 refused.*rows\/s/);
  });

  it('exits 0 when every row is accepted, following 202s to the end', async () => {
    const { summary, report } = await run(jsonl([deal('ok-a'), deal('slow-a')]));
    expect(summary).toMatchObject({ exitCode: 0, accepted: 2, inProgress: 0 });
    expect(report[2]).toMatch(/^2,slow-a,r[0-9a-f]{31},Linked,$/);
  });

  it('on a rerun skips what was accepted without calling the API, and sends again only what was not', async () => {
    const input = jsonl([deal('ok-r1'), deal('flaky-r2'), deal('ok-r3')]);
    await run(input, { maxAttempts: 1 });
    expect(stub.posts).toHaveLength(3); // flaky-r2 failed once (503), the others were accepted
    const again = await run(input);
    expect(again.summary).toMatchObject({ exitCode: 0, skipped: 2, accepted: 1, submitted: 1 });
    expect(stub.posts.map((p) => p.key)).toEqual(['ok-r1', 'flaky-r2', 'ok-r3', 'flaky-r2']);
    expect(again.report[1]).toMatch(/^1,ok-r1,r[0-9a-f]{31},Completed,$/); // the earlier tracking id
  });

  it('sends a row again when its content changed since the accepted run', async () => {
    const input = jsonl([deal('ok-c1')]);
    await run(input);
    jsonl([{ ...deal('ok-c1'), name: 'Renamed deal' }]);
    const again = await run(input);
    expect(again.summary).toMatchObject({ skipped: 0, submitted: 1 });
    expect(stub.posts).toHaveLength(2);
  });

  it('skips the rows an earlier report shows as done when there is no state file', async () => {
    const input = jsonl([deal('ok-p1'), deal('ok-p2')]);
    await run(input, { statePath: undefined });
    const again = await run(input, { statePath: undefined });
    expect(again.summary).toMatchObject({ exitCode: 0, skipped: 2, submitted: 0 });
    expect(stub.posts).toHaveLength(2);
  });

  it('with resume off sends everything again, and the bridge answers with replays', async () => {
    const input = jsonl([deal('ok-n1')]);
    await run(input);
    const again = await run(input, { resume: false });
    expect(again.summary).toMatchObject({ exitCode: 0, skipped: 0, replayed: 1 });
    expect(stub.created.size).toBe(1);
  });

  it('dry run: validates, writes the report and sends nothing', async () => {
    const { summary, report, stdout } = await run(jsonl([deal('ok-d1'), invalid('ok-d2')]), { dryRun: true });
    expect(summary).toMatchObject({ exitCode: 1, submitted: 0 });
    expect(report.slice(1).map((l) => l.split(',')[3])).toEqual(['Valid', 'Invalid']);
    expect(stub.posts).toHaveLength(0);
    expect(stdout).toMatch(/nothing was sent/);
  });

  it('stopped before it starts (Ctrl-C): sends nothing, reports every row as not submitted, exits 130', async () => {
    const stop = new AbortController();
    stop.abort();
    const { summary, report } = await run(jsonl([deal('ok-x1'), deal('ok-x2')]), { stopSignal: stop.signal });
    expect(summary).toMatchObject({ exitCode: 130, notSubmitted: 2 });
    expect(report.slice(1).map((l) => l.split(',')[3])).toEqual(['NotSubmitted', 'NotSubmitted']);
    expect(stub.posts).toHaveLength(0);
  });

  it('exits 2 when the URL answers no bridge, with every row not submitted', async () => {
    const input = jsonl([deal('ok-u1')]);
    const { summary, stderr } = await run(input, { apiBaseUrl: `${stub.apiBaseUrl}/nothing-here` });
    expect(summary.exitCode).toBe(2);
    expect(stderr).toMatch(/No bridge at/);
  });
});

describe('command line', () => {
  const io = { stdout: sink().stream, stderr: sink().stream };
  it('reads the options and their defaults', () => {
    const options = parseCommandLine(
      ['in.csv', '--mapping', 'm.json', '--concurrency', '4'],
      { BRIDGE_FUNCTION_KEY: 'k' },
      io,
    );
    expect(options).toMatchObject({
      inputPath: 'in.csv',
      mappingPath: 'm.json',
      concurrency: 4,
      functionKey: 'k',
      apiBaseUrl: 'http://127.0.0.1:7071/api',
      reportPath: 'in.csv.report.csv',
      statePath: 'in.csv.import-state.jsonl',
      resume: true,
      progress: 'lines',
    });
  });

  it.each([
    { argv: [], error: /exactly one input FILE/ },
    { argv: ['a.jsonl', 'b.jsonl'], error: /exactly one input FILE/ },
    { argv: ['a.jsonl', '--concurency', '3'], error: /Unknown option/ },
    { argv: ['a.jsonl', '--concurrency', '0'], error: /--concurrency must be a whole number/ },
    { argv: ['a.jsonl', '--format', 'xlsx'], error: /--format must be one of/ },
    { argv: ['a.jsonl', '--url', 'ftp://x'], error: /http or https/ },
  ])('refuses $argv as a usage error', ({ argv, error }) => {
    expect(() => parseCommandLine(argv, {}, io)).toThrow(ImportUsageError);
    expect(() => parseCommandLine(argv, {}, io)).toThrow(error);
  });

  it.each([
    { url: 'http://127.0.0.1:7071', base: 'http://127.0.0.1:7071/api' },
    { url: 'https://bridge.example.com/api/', base: 'https://bridge.example.com/api' },
  ])('takes $url as the API base $base', ({ url, base }) => {
    expect(apiBaseOf(url)).toBe(base);
  });
});
