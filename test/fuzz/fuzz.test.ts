/**
 * A small seeded fuzz run (bench/fuzz.ts) as part of `npm test`: random and mutated referral requests
 * against POST /api/referrals/validate, POST /api/referrals and the intake queue (plain and base64),
 * plus the hostile inputs that once got through. Needs `npm run build` (the host runs dist/).
 */
import type { RunningSandbox } from '../../sandbox/sandbox';
import { runFuzz, type FuzzFigures } from '../../bench/fuzz';
import { startBenchSandbox, type BenchSandbox } from '../../bench/lib/sandboxRun';
import { IntakeSender, poisonCount, queueDepths, readAllRecords } from '../../bench/lib/inspect';

let bench: BenchSandbox;
let sandbox: RunningSandbox;
let figures: FuzzFigures;

beforeAll(async () => {
  bench = await startBenchSandbox({ seed: 2024 });
  sandbox = bench.sandbox;
  figures = await runFuzz({
    cases: 150,
    seed: 2024,
    sandbox,
    functionsUrl: bench.functionsUrl(),
    settleTimeoutMs: 60_000,
  });
}, 150_000);
afterAll(async () => bench?.stop());

describe('fuzz: 150 seeded cases over HTTP and the intake queue', () => {
  it('covers every channel', () => {
    expect(Object.keys(figures.byChannel).sort()).toEqual(['queue-base64', 'queue-plain', 'submit', 'validate']);
    expect(figures.cases).toBe(150);
  });

  it('never answers 5xx and always answers', () => {
    expect(figures.findings.filter((f) => /HTTP 5|no answer/.test(f.problem))).toEqual([]);
    expect(figures.serverErrors).toBe(0);
    expect(figures.transportErrors).toBe(0);
  });

  it('has no side effect for input the validator refused', () => {
    expect(figures.findings.filter((f) => f.channel === 'table' || f.channel === 'partnerCenter')).toEqual([]);
    expect(figures.sideEffectsFromInvalid).toBe(0);
  });

  it('answers every HTTP case the way the validator decides', () => {
    expect(figures.verdictMismatches).toBe(0);
  });

  it('records every refused queue message as Rejected and poisons nothing', () => {
    expect(figures.findings.filter((f) => f.channel.startsWith('queue'))).toEqual([]);
    expect(figures.invalidQueueMessagesRejected).toBe(figures.invalidQueueMessages);
    expect(figures.acceptedQueueMessagesFinal).toBe(figures.acceptedQueueMessages);
    expect(figures.poisoned).toBe(0);
  });
});

describe('fuzz regressions', () => {
  it('records an intake message nested a thousand levels deep as Rejected instead of poisoning it', async () => {
    const before = [...(await readAllRecords(sandbox)).values()].filter((r) => r.keySource === 'queueMessage').length;
    // 1,000 levels: far past the validator's depth cap. Much deeper messages are poisoned by @azure/functions
    // itself before any app code runs (recursive toCamelCaseValue of the trigger metadata): docs/reliability.md.
    const depth = 1_000;
    await new IntakeSender(sandbox).send(`{"name":"deep","customerProfile":${'['.repeat(depth)}1${']'.repeat(depth)}}`);
    // Bounded wait: the message is either recorded as Rejected or, after five failed tries, poisoned.
    const deadline = Date.now() + 30_000;
    let rejected = before;
    let poisoned = 0;
    while (Date.now() < deadline && rejected === before && poisoned === 0) {
      await new Promise((r) => setTimeout(r, 250));
      rejected = [...(await readAllRecords(sandbox)).values()].filter(
        (r) => r.keySource === 'queueMessage' && r.state === 'Rejected',
      ).length;
      poisoned = poisonCount(await queueDepths(sandbox));
    }
    expect(poisoned).toBe(0);
    expect(rejected).toBe(before + 1);
  }, 45_000);
});
