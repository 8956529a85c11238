/**
 * Fuzzing the edges: random and mutated referral requests (bench/lib/fuzzCases.ts, seeded fast-check)
 * posted to `POST /api/referrals/validate` and `POST /api/referrals` and put on the `referral-intake`
 * queue (plain text and base64), against the whole sandbox.
 *
 * Checks, for every case, against an in-process verdict (bench/lib/fuzzOracle.ts):
 * - no 5xx answer (`serverErrors`);
 * - input the validator refused has no side effect (`sideEffectsFromInvalid`): no tracking record
 *   outside `Rejected` and no Partner Center referral that an accepted request does not account for;
 * - every refused queue message is recorded as `Rejected` (`invalidQueueMessagesRejected` equals
 *   `invalidQueueMessages`), and nothing lands on a poison queue (`poisoned`).
 *
 * `npm run fuzz -- --cases 500 --seed 7` prints the figures as one JSON object on the last line.
 */
import type { RunningSandbox } from '../sandbox/sandbox';
import { parseOptions, runBenchmark } from './lib/args';
import { HttpClient, mapWithConcurrency, sleep } from './lib/httpClient';
import { startBenchSandbox } from './lib/sandboxRun';
import { exampleBodies, generateFuzzCases, generatePatchFuzzCases, type FuzzCase } from './lib/fuzzCases';
import { validateReferralChanges } from '../shared/referral/changeSchema';
import { expectedVerdict, isXmlSafe, queueMessageText, type FuzzVerdict } from './lib/fuzzOracle';
import {
  FINAL_STATES,
  IntakeSender,
  poisonCount,
  queueDepths,
  readAllRecords,
  type RecordSummary,
} from './lib/inspect';

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  cases: number;
  seed: number;
  /** A running sandbox to use (else one is started and stopped). */
  sandbox?: RunningSandbox;
  /** Base URL of the functions (`http://127.0.0.1:<port>/api`); required with `sandbox`. */
  functionsUrl?: string;
  /** Requests in flight. @default 8 */
  concurrency?: number;
  /** How long to wait for queue messages and accepted requests to settle. @default 90000 */
  settleTimeoutMs?: number;
}

/** One discrepancy worth a look (kept short in the figures). */
export interface FuzzFinding {
  index: number;
  channel: string;
  kind: string;
  problem: string;
}

/** The figures printed on the last line. */
export interface FuzzFigures {
  benchmark: 'fuzz';
  seed: number;
  cases: number;
  byChannel: Record<string, number>;
  /** Cases the validator (the in-process verdict) accepted. */
  acceptedByVerdict: number;
  /** HTTP answers ≥ 500. */
  serverErrors: number;
  /** HTTP requests without an answer (connection reset, timeout). */
  transportErrors: number;
  /** Partner Center referrals or non-Rejected tracking records that no accepted request accounts for. */
  sideEffectsFromInvalid: number;
  invalidQueueMessages: number;
  /** Refused queue messages found as `Rejected` under their trackingId. */
  invalidQueueMessagesRejected: number;
  /** Accepted queue messages whose record reached a final state. */
  acceptedQueueMessagesFinal: number;
  acceptedQueueMessages: number;
  /** Queue cases the storage service refused to take (over 64 KiB); not counted above. */
  unsendable: number;
  poisoned: number;
  /** HTTP answers that disagree with the verdict (accepted vs refused). */
  verdictMismatches: number;
  /** Records not final when the settle wait ended. */
  notFinal: number;
  findings: FuzzFinding[];
}

interface Sent {
  fuzzCase: FuzzCase;
  verdict: FuzzVerdict;
  status?: number;
  trackingId?: string;
  unsendable?: boolean;
  error?: string;
}

const REFUSED_STATUSES = new Set([400, 413, 415]);

/** Runs the fuzz cases and returns the figures (starts its own sandbox unless given one). */
export async function runFuzz(options: FuzzOptions): Promise<FuzzFigures> {
  const own = options.sandbox ? undefined : await startBenchSandbox({ seed: options.seed });
  const sandbox = options.sandbox ?? own!.sandbox;
  const functionsUrl = options.functionsUrl ?? own!.functionsUrl();
  const client = new HttpClient({ maxSockets: options.concurrency ?? 8 });
  try {
    const cases = generateFuzzCases({ count: options.cases, seed: options.seed });
    const intake = new IntakeSender(sandbox);
    const sent = await mapWithConcurrency(cases, options.concurrency ?? 8, async (fuzzCase): Promise<Sent> => {
      const verdict = expectedVerdict(fuzzCase);
      if (fuzzCase.channel === 'validate' || fuzzCase.channel === 'submit') {
        const route = fuzzCase.channel === 'validate' ? '/referrals/validate' : '/referrals';
        const headers: Record<string, string> = { 'content-type': fuzzCase.contentType ?? 'application/json' };
        if (fuzzCase.idempotencyKey !== undefined) headers['idempotency-key'] = fuzzCase.idempotencyKey;
        const answer = await client.request(`${functionsUrl}${route}`, {
          method: 'POST',
          body: fuzzCase.body,
          headers,
        });
        return {
          fuzzCase,
          verdict,
          status: answer.status,
          ...(typeof answer.json?.trackingId === 'string' ? { trackingId: answer.json.trackingId as string } : {}),
          ...(answer.error ? { error: answer.error.message } : {}),
        };
      }
      const text = queueMessageText(fuzzCase);
      if (!isXmlSafe(text)) return { fuzzCase, verdict, unsendable: true, error: 'not XML-safe (send it base64)' };
      try {
        await intake.send(text);
        return { fuzzCase, verdict };
      } catch (error) {
        return { fuzzCase, verdict, unsendable: true, error: (error as Error).message.slice(0, 200) };
      }
    });
    return await settleAndCheck(sandbox, sent, options);
  } finally {
    client.close();
    await own?.stop();
  }
}

async function settleAndCheck(sandbox: RunningSandbox, sent: Sent[], options: FuzzOptions): Promise<FuzzFigures> {
  const findings: FuzzFinding[] = [];
  const note = (s: Sent, problem: string) =>
    findings.push({ index: s.fuzzCase.index, channel: s.fuzzCase.channel, kind: s.fuzzCase.kind, problem });
  const queued = sent.filter((s) => s.fuzzCase.channel.startsWith('queue') && !s.unsendable);
  const submittedAccepted = sent.filter(
    (s) => s.fuzzCase.channel === 'submit' && s.trackingId && s.status !== undefined && s.status < 300,
  );

  // Ids that must reach a final state: accepted queue messages, refused ones (as Rejected), accepted POSTs.
  const expectedIds = new Set<string>();
  for (const s of queued) {
    if (s.verdict.accepted) expectedIds.add(s.verdict.trackingId);
    else if (s.verdict.rejectedTrackingId) expectedIds.add(s.verdict.rejectedTrackingId);
  }
  for (const s of submittedAccepted) expectedIds.add(s.trackingId!);

  const deadline = Date.now() + (options.settleTimeoutMs ?? 90_000);
  let records = new Map<string, RecordSummary>();
  let waitMs = 200;
  for (;;) {
    records = await readAllRecords(sandbox);
    const pending = [...expectedIds].filter((id) => !FINAL_STATES.has(records.get(id)?.state ?? ''));
    const depths = await queueDepths(sandbox);
    const queuesBusy = depths['referral-intake'] + depths['referral-submit'] + depths['referral-link'] > 0;
    if ((pending.length === 0 && !queuesBusy) || Date.now() > deadline) break;
    await sleep(waitMs);
    waitMs = Math.min(2_000, waitMs * 1.5);
  }
  // One more moment for messages still in flight (e.g. a record written, its message not yet deleted).
  await sleep(500);
  records = await readAllRecords(sandbox);
  const depths = await queueDepths(sandbox);

  let serverErrors = 0;
  let transportErrors = 0;
  let verdictMismatches = 0;
  const acceptedIds = new Set<string>();
  for (const s of sent) {
    if (s.status === undefined) continue;
    if (s.status === 0) {
      transportErrors++;
      note(s, `no answer: ${s.error ?? ''}`);
      continue;
    }
    if (s.status >= 500) {
      serverErrors++;
      note(s, `HTTP ${s.status}`);
    }
    const refused = REFUSED_STATUSES.has(s.status);
    if (s.verdict.accepted === refused) {
      verdictMismatches++;
      note(
        s,
        `HTTP ${s.status} but the verdict says ${s.verdict.accepted ? 'accepted' : `refused (${s.verdict.reason})`}`,
      );
    }
    if (s.fuzzCase.channel === 'submit' && !refused && s.trackingId) acceptedIds.add(s.trackingId);
  }

  let invalidQueueMessages = 0;
  let invalidQueueMessagesRejected = 0;
  let acceptedQueueMessages = 0;
  let acceptedQueueMessagesFinal = 0;
  for (const s of queued) {
    if (s.verdict.accepted) {
      acceptedQueueMessages++;
      acceptedIds.add(s.verdict.trackingId);
      const record = records.get(s.verdict.trackingId);
      if (record && FINAL_STATES.has(record.state)) acceptedQueueMessagesFinal++;
      else note(s, `accepted message not final (${record?.state ?? 'no record'})`);
      continue;
    }
    invalidQueueMessages++;
    const record = s.verdict.rejectedTrackingId ? records.get(s.verdict.rejectedTrackingId) : undefined;
    if (record?.state === 'Rejected') invalidQueueMessagesRejected++;
    else
      note(
        s,
        `refused message (${s.verdict.reason.slice(0, 120)}) not recorded as Rejected (${record?.state ?? 'no record'})`,
      );
  }

  // Side effects: records outside Rejected that no accepted request accounts for, and Partner Center
  // referrals that no accepted request's record names.
  let sideEffectsFromInvalid = 0;
  const accountedReferrals = new Set<string>();
  for (const record of records.values()) {
    if (acceptedIds.has(record.trackingId)) {
      if (record.partnerReferralId) accountedReferrals.add(record.partnerReferralId);
      if (record.microsoftReferralId) accountedReferrals.add(record.microsoftReferralId);
      continue;
    }
    if (record.state !== 'Rejected') {
      sideEffectsFromInvalid++;
      findings.push({
        index: -1,
        channel: 'table',
        kind: 'record',
        problem: `record ${record.trackingId} in ${record.state} for no accepted request`,
      });
    }
  }
  const accountedEngagements = new Set(
    [...records.values()].filter((r) => acceptedIds.has(r.trackingId) && r.engagementId).map((r) => r.engagementId!),
  );
  for (const referral of sandbox.partnerCenter.referrals() as Array<{ id: string; engagementId?: string }>) {
    if (accountedReferrals.has(referral.id)) continue;
    // A Microsoft referral whose link step has not recorded it yet still belongs to an accepted engagement.
    if (referral.engagementId && accountedEngagements.has(referral.engagementId)) continue;
    sideEffectsFromInvalid++;
    findings.push({
      index: -1,
      channel: 'partnerCenter',
      kind: 'referral',
      problem: `referral ${referral.id} for no accepted request`,
    });
  }

  const notFinal = [...expectedIds].filter((id) => !FINAL_STATES.has(records.get(id)?.state ?? '')).length;
  const byChannel: Record<string, number> = {};
  for (const s of sent) byChannel[s.fuzzCase.channel] = (byChannel[s.fuzzCase.channel] ?? 0) + 1;
  return {
    benchmark: 'fuzz',
    seed: options.seed,
    cases: sent.length,
    byChannel,
    acceptedByVerdict: sent.filter((s) => s.verdict.accepted).length,
    serverErrors,
    transportErrors,
    sideEffectsFromInvalid,
    invalidQueueMessages,
    invalidQueueMessagesRejected,
    acceptedQueueMessagesFinal,
    acceptedQueueMessages,
    unsendable: sent.filter((s) => s.unsendable).length,
    poisoned: poisonCount(depths),
    verdictMismatches,
    notFinal,
    findings: findings.slice(0, 25),
  };
}

/** The figures of the PATCH phase ({@link runPatchFuzz}). */
export interface PatchFuzzFigures {
  benchmark: 'fuzz-patch';
  seed: number;
  cases: number;
  /** Cases the change validator (in process) accepted. */
  acceptedByVerdict: number;
  dryRuns: number;
  byStatus: Record<string, number>;
  serverErrors: number;
  transportErrors: number;
  /** Refused cases answered otherwise than 400/413/415. */
  verdictMismatches: number;
  /**
   * Changes to the control deal, which only received invalid bodies and dry runs: its referral's eTag in
   * Partner Center, or its tracking record, moved.
   */
  sideEffectsFromInvalid: number;
  findings: FuzzFinding[];
}

/**
 * Fuzzes `PATCH /api/referrals/{trackingId}` (bench/lib/fuzzCases.ts `generatePatchFuzzCases`): creates a
 * control deal and three target deals, sends refused bodies and dry runs to the control deal and accepted
 * bodies to the targets, then checks: no 5xx, every refused body answered 400/413/415, and the control
 * deal unchanged in Partner Center and in the tracking table.
 */
export async function runPatchFuzz(options: {
  cases: number;
  seed: number;
  sandbox: RunningSandbox;
  functionsUrl: string;
  concurrency?: number;
}): Promise<PatchFuzzFigures> {
  const client = new HttpClient({ maxSockets: options.concurrency ?? 8 });
  const findings: FuzzFinding[] = [];
  try {
    const example = exampleBodies().find((e) => e.name === 'partner-led-deal.json')!.body;
    const deals = await Promise.all(
      [0, 1, 2, 3].map(async (n) => {
        const body = {
          ...example,
          name: `Patch fuzz ${options.seed}-${n}`,
          externalReferenceId: `patch-fuzz-${options.seed}-${n}`,
        };
        const answer = await client.request(`${options.functionsUrl}/referrals`, {
          method: 'POST',
          body: Buffer.from(JSON.stringify(body)),
          headers: { 'content-type': 'application/json' },
        });
        const view = answer.json as { trackingId?: string; partnerReferral?: { id: string } } | undefined;
        if (!view?.trackingId || !view.partnerReferral)
          throw new Error(`patch fuzz: deal ${n} not created (${answer.status})`);
        return { trackingId: view.trackingId, referralId: view.partnerReferral.id };
      }),
    );
    const [control, ...targets] = deals;
    const controlReferral = () =>
      (options.sandbox.partnerCenter.referrals() as Array<{ id: string; eTag?: string }>).find(
        (r) => r.id === control.referralId,
      );
    const viewOf = async (trackingId: string) =>
      JSON.stringify((await client.request(`${options.functionsUrl}/referrals/${trackingId}`, { method: 'GET' })).json);
    // The control record first absorbs Partner Center's own events about its creation (the sync path writes
    // the referral's status into it): wait until it is at rest, so only the fuzz could change it afterwards.
    await options.sandbox.partnerCenter.eventsSettled();
    const controlView = await settledView(() => viewOf(control.trackingId));
    const controlETag = controlReferral()?.eTag;

    const cases = generatePatchFuzzCases({ count: options.cases, seed: options.seed });
    const byStatus: Record<string, number> = {};
    let serverErrors = 0;
    let transportErrors = 0;
    let verdictMismatches = 0;
    let accepted = 0;
    await mapWithConcurrency(cases, options.concurrency ?? 8, async (fuzzCase) => {
      const valid = patchVerdict(fuzzCase.body, fuzzCase.contentType, fuzzCase.idempotencyKey);
      if (valid) accepted++;
      const target = valid && !fuzzCase.dryRun ? targets[fuzzCase.index % targets.length] : control;
      const headers: Record<string, string> = { 'content-type': fuzzCase.contentType };
      if (fuzzCase.idempotencyKey !== undefined) headers['idempotency-key'] = fuzzCase.idempotencyKey;
      const answer = await client.request(
        `${options.functionsUrl}/referrals/${target.trackingId}${fuzzCase.dryRun ? '?dryRun=true' : ''}`,
        { method: 'PATCH', body: fuzzCase.body, headers },
      );
      byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
      const finding = (problem: string) =>
        findings.push({ index: fuzzCase.index, channel: 'patch', kind: fuzzCase.kind, problem });
      if (answer.status === 0) {
        transportErrors++;
        finding(`no answer: ${answer.error?.message ?? ''}`);
      } else if (answer.status >= 500) {
        serverErrors++;
        finding(`HTTP ${answer.status}`);
      } else if (!valid && ![400, 413, 415].includes(answer.status)) {
        verdictMismatches++;
        finding(`HTTP ${answer.status} for a body the validator refuses`);
      }
    });
    let sideEffectsFromInvalid = 0;
    if (controlReferral()?.eTag !== controlETag) {
      sideEffectsFromInvalid++;
      findings.push({ index: -1, channel: 'partnerCenter', kind: 'referral', problem: 'the control deal changed' });
    }
    if ((await viewOf(control.trackingId)) !== controlView) {
      sideEffectsFromInvalid++;
      findings.push({ index: -1, channel: 'table', kind: 'record', problem: 'the control record changed' });
    }
    return {
      benchmark: 'fuzz-patch',
      seed: options.seed,
      cases: cases.length,
      acceptedByVerdict: accepted,
      dryRuns: cases.filter((c) => c.dryRun).length,
      byStatus,
      serverErrors,
      transportErrors,
      verdictMismatches,
      sideEffectsFromInvalid,
      findings: findings.slice(0, 25),
    };
  } finally {
    client.close();
  }
}

/** The in-process verdict of a PATCH case: JSON media type, UTF-8 JSON, a usable key, a valid change. */
function patchVerdict(body: Buffer, contentType: string, key: string | undefined): boolean {
  const media = contentType.split(';')[0].trim().toLowerCase();
  if (media !== 'application/json' && !media.endsWith('+json')) return false;
  if (body.length > 256 * 1024) return false;
  if (key !== undefined && !(key.length > 0 && key.length <= 255 && /^[\x21-\x7e]+$/.test(key))) return false;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    return validateReferralChanges(parsed).ok;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const options = parseOptions({
    cases: { kind: 'number', default: 500, min: 1 },
    seed: { kind: 'number', default: 7 },
    concurrency: { kind: 'number', default: 8, min: 1 },
    patchCases: { kind: 'number', default: 200, min: 0 },
  });
  const own = await startBenchSandbox({ seed: options.seed });
  try {
    const figures = await runFuzz({ ...options, sandbox: own.sandbox, functionsUrl: own.functionsUrl() });
    report(figures);
    if (options.patchCases > 0) {
      const patch = await runPatchFuzz({
        cases: options.patchCases,
        seed: options.seed,
        sandbox: own.sandbox,
        functionsUrl: own.functionsUrl(),
        concurrency: options.concurrency,
      });
      for (const finding of patch.findings)
        console.log(`finding: #${finding.index} ${finding.channel} ${finding.kind}: ${finding.problem}`);
      console.log(
        `${patch.cases} PATCH cases: ${patch.serverErrors} server errors, ${patch.sideEffectsFromInvalid} side effects from invalid input, ${patch.verdictMismatches} verdict mismatches`,
      );
      console.log(JSON.stringify(patch));
    }
  } finally {
    await own.stop();
  }
}

function report(figures: FuzzFigures): void {
  for (const finding of figures.findings)
    console.log(`finding: #${finding.index} ${finding.channel} ${finding.kind}: ${finding.problem}`);
  console.log(
    `${figures.cases} cases: ${figures.serverErrors} server errors, ${figures.sideEffectsFromInvalid} side effects from invalid input, ` +
      `${figures.invalidQueueMessagesRejected}/${figures.invalidQueueMessages} refused queue messages recorded as Rejected, ${figures.poisoned} poisoned`,
  );
  console.log(JSON.stringify(figures));
}

if (require.main === module) runBenchmark(main);

/** A view read twice in a row the same, once Partner Center's snapshot is in it (bounded: 30 s). */
async function settledView(read: () => Promise<string>): Promise<string> {
  let previous = '';
  for (let i = 0; i < 60; i++) {
    const current = await read();
    if (current === previous && current.includes('"status"')) return current;
    previous = current;
    await sleep(500);
  }
  return previous;
}
