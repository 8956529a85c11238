/**
 * The submitter against a stand-in HTTP server (stubBridge.ts): retries honour Retry-After with the same
 * key, 202 is followed to the final state, refusals are told apart, the concurrency bound holds and a
 * stop leaves unsent rows as not submitted.
 */
import {
  submitRows,
  type SubmitJob,
  type SubmitResult,
  type SubmitterOptions,
} from '../../../scripts/import/submitter';
import { backoffMs, retryAfterMs } from '../../../scripts/import/http';
import { startStubBridge, type StubBridge } from './stubBridge';

let stub: StubBridge;
afterEach(async () => stub?.close());

const job = (key: string, line = 1): SubmitJob => ({
  line,
  key,
  body: { name: `Deal ${key}`, externalReferenceId: key },
});

async function submit(jobs: SubmitJob[], options: Partial<SubmitterOptions> = {}) {
  const results = new Map<string, SubmitResult>();
  const retries: Array<{ line: number; status: number; waitMs: number }> = [];
  const run = await submitRows(jobs, {
    apiBaseUrl: stub.apiBaseUrl,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    onResult: (j, r) => results.set(j.key, r),
    onRetry: (info) => retries.push(info),
    ...options,
  });
  return { run, results, retries };
}

describe('submitRows', () => {
  it('creates a referral with its idempotency key and answers accepted with the tracking state', async () => {
    stub = await startStubBridge();
    const { results } = await submit([job('ok-1')]);
    expect(results.get('ok-1')).toMatchObject({ kind: 'accepted', state: 'Completed', final: true, replayed: false });
    expect(stub.posts.map((p) => p.key)).toEqual(['ok-1']);
  });

  it('waits the Retry-After of a 429 and sends the same key again', async () => {
    stub = await startStubBridge();
    const { results, retries } = await submit([job('throttle-1')]);
    expect(results.get('throttle-1')).toMatchObject({ kind: 'accepted', state: 'Completed' });
    expect(retries).toEqual([{ line: 1, status: 429, waitMs: 1000 }]);
    expect(stub.posts.map((p) => p.key)).toEqual(['throttle-1', 'throttle-1']);
    expect(stub.created.size).toBe(1);
  });

  it('follows 202 + Location until the record is final', async () => {
    stub = await startStubBridge();
    const { results } = await submit([job('slow-1')]);
    expect(results.get('slow-1')).toMatchObject({ kind: 'accepted', state: 'Linked', final: true });
    expect(stub.polls).toHaveLength(2);
    expect(stub.posts).toHaveLength(1);
  });

  it('reports a 202 still in progress when the poll time is over, without failing it', async () => {
    stub = await startStubBridge();
    const { results } = await submit([job('pending-1')], { pollTimeoutMs: 1000 });
    expect(results.get('pending-1')).toMatchObject({ kind: 'accepted', state: 'CreatingPartner', final: false });
    expect(stub.polls).toHaveLength(0); // Retry-After 5 s is past the poll time: no poll sooner than told
  });

  it('retries a 503 with the same key and succeeds', async () => {
    stub = await startStubBridge();
    const { results, retries } = await submit([job('flaky-1')]);
    expect(results.get('flaky-1')).toMatchObject({ kind: 'accepted' });
    expect(retries.map((r) => r.status)).toEqual([503]);
  });

  it('gives up after maxAttempts transient answers and says to run again', async () => {
    stub = await startStubBridge();
    const { results } = await submit([job('down-1')], { maxAttempts: 3 });
    expect(results.get('down-1')).toMatchObject({ kind: 'failed' });
    expect((results.get('down-1') as { message: string }).message).toMatch(/3 attempts.*503.*Run again/);
    expect(stub.posts).toHaveLength(3);
  });

  it.each([
    { key: 'reject-1', state: 'Rejected', message: /country is not supported/ },
    { key: 'reused-1', state: 'KeyReused', message: /different payload/ },
    { key: 'bad-1', state: 'Invalid', message: /not valid/ },
  ])('refuses $key as $state without retrying', async ({ key, state, message }) => {
    stub = await startStubBridge();
    const { results } = await submit([job(key)]);
    const result = results.get(key) as Extract<SubmitResult, { kind: 'refused' }>;
    expect(result).toMatchObject({ kind: 'refused', state });
    expect(result.message).toMatch(message);
    expect(stub.posts).toHaveLength(1);
  });

  it('keeps the API problem pointers of a 400', async () => {
    stub = await startStubBridge();
    const { results } = await submit([job('bad-2')]);
    expect(results.get('bad-2')).toMatchObject({
      errors: [
        { pointer: '/details/currency', code: 'invalid_enum', message: 'Must be a valid ISO 4217 currency code.' },
      ],
    });
  });

  it('never has more requests in flight than the concurrency', async () => {
    stub = await startStubBridge({ delayMs: 20 });
    const jobs = Array.from({ length: 12 }, (_, i) => job(`ok-c${i}`, i + 1));
    const { results } = await submit(jobs, { concurrency: 3 });
    expect([...results.values()].every((r) => r.kind === 'accepted')).toBe(true);
    expect(stub.maxInFlight).toBeLessThanOrEqual(3);
    expect(stub.maxInFlight).toBeGreaterThan(1);
  });

  it('stops the whole run on a refused function key and reports the rest as not submitted', async () => {
    stub = await startStubBridge({ functionKey: 'right' });
    const jobs = Array.from({ length: 5 }, (_, i) => job(`ok-k${i}`, i + 1));
    const { run, results } = await submit(jobs, { functionKey: 'wrong', concurrency: 1 });
    expect(run.fatal?.status).toBe(401);
    expect([...results.values()].map((r) => r.kind)).toEqual(Array(5).fill('notSubmitted'));
    expect(stub.posts).toHaveLength(0);
  });

  it('sends the function key as x-functions-key', async () => {
    stub = await startStubBridge({ functionKey: 'right' });
    const { results } = await submit([job('ok-key')], { functionKey: 'right' });
    expect(results.get('ok-key')).toMatchObject({ kind: 'accepted' });
  });

  it('after a stop takes no new row, lets the requests in flight finish and reports the rest as not submitted', async () => {
    stub = await startStubBridge({ delayMs: 30 });
    const stop = new AbortController();
    const jobs = Array.from({ length: 10 }, (_, i) => job(`ok-s${i}`, i + 1));
    const results: SubmitResult[] = [];
    await submitRows(jobs, {
      apiBaseUrl: stub.apiBaseUrl,
      concurrency: 2,
      stopSignal: stop.signal,
      onResult: (_j, r) => {
        results.push(r);
        stop.abort();
      },
    });
    expect(results).toHaveLength(10);
    const accepted = results.filter((r) => r.kind === 'accepted').length;
    expect(accepted).toBe(2); // the two lanes' requests in flight when the first answer came
    expect(results.filter((r) => r.kind === 'notSubmitted')).toHaveLength(8);
    expect(stub.posts).toHaveLength(2);
  });
});

describe('Retry-After and back-off', () => {
  it.each([
    { header: '3', expected: 3000 },
    { header: ' 0 ', expected: 0 },
    { header: 'Wed, 21 Oct 2015 07:28:10 GMT', expected: 10_000 },
    { header: 'soon', expected: undefined },
    { header: null, expected: undefined },
  ])('reads Retry-After $header', ({ header, expected }) => {
    expect(retryAfterMs(header, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(expected);
  });

  it('backs off within [0, min(max, base·2^(n−1))]', () => {
    expect(backoffMs(1, 500, 30_000, () => 1)).toBe(500);
    expect(backoffMs(4, 500, 30_000, () => 1)).toBe(4000);
    expect(backoffMs(20, 500, 30_000, () => 1)).toBe(30_000);
    expect(backoffMs(3, 500, 30_000, () => 0)).toBe(0);
  });
});
