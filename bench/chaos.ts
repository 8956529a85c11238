/**
 * Chaos run: N mixed referrals (CoSell, PartnerLed, Private) through HTTP and the `referral-intake`
 * queue (plain JSON and base64, with and without idempotency keys, some sent twice, across channels)
 * while the stand-ins inject faults and the local host is killed (SIGKILL) and restarted mid-run.
 *
 * ```
 * submission progress   0%        15%─30%        35%          50%─65%         75%        100%  +2 s
 * Partner Center        latency 5–30 ms + spikes 2.5 s, 5% 500/503, 5% commit-then-drop on create ───► cleared
 *                                 429 storm             429 budget 10/s
 *                                 (p=0.6, Retry-After 1)   (Retry-After = rest of window)
 * host                                          KILL+restart                  KILL+restart
 * Key Vault, Entra token                        429/503 for 4 s               429/503 for 4 s
 * ```
 * The sweeper runs every 2 s (SWEEPER_STALE_AFTER_SECONDS 3), a Partner Center call times out after
 * 2 s, a step lease lasts 20 s (STEP_LEASE_SECONDS: a killed host's records are taken over after it),
 * and a killed host's leased queue messages reappear after 4 s (LOCAL_HOST_QUEUE_LEASE_MS).
 * HTTP clients retry a lost or 5xx answer with the same request (same key), as the contract asks.
 * Every third PartnerLed or Private deal is upgraded to co-sell once Completed
 * (`POST /api/referrals/{id}/co-sell`, sent twice at once, during the faults): they must end Linked.
 * Every fourth deal (upgraded ones left out) is updated once final (bench/lib/chaosUpdates.ts: two PATCH
 * changes in turn, a dealValue and a team member each, every change sent twice at once with one
 * Idempotency-Key); the Partner Center faults stay on until some of those sends met them, and the host is
 * killed once among them.
 * Then the run waits (bounded) until every submitted request's record is final and checks the
 * invariants: nothing lost, no duplicate partner or Microsoft referral, every CoSell deal linked, every
 * change applied once (the final dealValue is the last change's, each added member on the team once).
 *
 * Deterministic inputs: the mix comes from a seeded PRNG and the stand-ins' fault PRNGs from the same
 * seed (timings, and so the exact faults, still vary with the machine).
 *
 * `--instances N` runs N app instances (separate host processes on their own ports) against the same
 * Azurite and stand-ins, as scale-out does: submissions are spread over them (a retry goes to the next
 * one, as a load balancer would send it), the kills go round the instances, and each runs its own timers.
 *
 * `npm run chaos -- --referrals 500 --seed 42 [--instances 3]` prints the figures as one JSON object on the
 * last line.
 */
import { writeFileSync } from 'node:fs';
import { createPrng } from '../sandbox/http-util';
import type { FaultConfig } from '../sandbox/http-util';
import { parseOptions, runBenchmark } from './lib/args';
import { HttpClient, mapWithConcurrency, sleep } from './lib/httpClient';
import { startBenchSandbox, type BenchSandbox } from './lib/sandboxRun';
import { uniqueDeal, type DealType } from './lib/repo';
import { expectedTrackingId } from './lib/identity';
import {
  FINAL_STATES,
  IntakeSender,
  poisonCount,
  queueDepths,
  readAllRecords,
  type RecordSummary,
} from './lib/inspect';
import { readOpenIndex } from './lib/openIndex';
import { round, sumValues } from './lib/stats';
import { ChaosUpdates, planUpdates, type ChaosUpdateFigures } from './lib/chaosUpdates';

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  referrals: number;
  seed: number;
  /** Host kills (SIGKILL + restart) during submission, spread over the instances. @default max(2, instances) */
  kills?: number;
  /** App instances (host processes) against one Azurite and one set of stand-ins. @default 1 */
  instances?: number;
  /** Submissions per second (paced). @default 25 */
  submitRatePerSecond?: number;
  /** Bound on the wait for every record to be final, after the last submission. @default 180000 */
  settleTimeoutMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Write every host generation's output (the last 2000 lines of each) to this file. */
  hostLogFile?: string;
}

/** The figures printed on the last line. */
export interface ChaosFigures extends ChaosUpdateFigures {
  benchmark: 'chaos';
  seed: number;
  /** Distinct requests submitted (a request sent twice counts once). */
  submitted: number;
  /** Sends, duplicates and retries included. */
  sends: {
    http: number;
    queuePlain: number;
    queueBase64: number;
    duplicates: number;
    httpRetries: number;
    /** Upgrade requests sent (UPGRADE_SENDS per upgraded deal). */
    upgrades: number;
  };
  /** PartnerLed and Private deals upgraded to co-sell in the run (counted in expectedLinked). */
  upgraded: number;
  /** Submitted requests whose record is in a final state. */
  finalState: number;
  /** Submitted requests with no tracking record, or no partner referral when one was expected. */
  lost: number;
  duplicatePartnerReferrals: number;
  /** Microsoft referrals beyond one per engagement. */
  duplicateMicrosoftReferrals: number;
  linked: number;
  expectedLinked: number;
  completed: number;
  expectedCompleted: number;
  rejected: number;
  notFinal: number;
  /** Messages on the *-poison queues at the end. */
  poisoned: number;
  kills: number;
  faultsInjected: {
    partnerCenter: Record<string, number>;
    keyVault: Record<string, number>;
    entra: Record<string, number>;
  };
  /** Creates Partner Center answered from a recorded MS-RequestId (a retry after a lost answer: nothing created). */
  idempotentReplays: number;
  /** Refresh-token replays the Entra stand-in saw (each revokes the token family; must be 0). */
  refreshTokenReuse: number;
  /** Refresh-token redemptions (one per host process and token lifetime: at most `hostProcesses`). */
  tokenRedemptions: number;
  /** App instances run at once. */
  instances: number;
  /** Host processes started (instances plus restarts). */
  hostProcesses: number;
  /**
   * Entries left in the open-work index once every record is final and the sweepers have run again
   * (each names a record with open work, or one closed since the last sweep): 0 when the index is tidy.
   */
  openIndexEntries: number;
  /** Seconds from the first submission to the last record turning final. */
  settleSeconds: number;
  /** Host kills among the update sends (beside `kills`, made during the submission). */
  updateKills: number;
  /** Which records were not as expected (first few). */
  problems: string[];
}

interface Planned {
  index: number;
  dealType: DealType;
  channel: 'http' | 'queue-plain' | 'queue-base64';
  body: Record<string, unknown>;
  key?: string;
  trackingId: string;
  /** Send it a second time (same channel or the other one). */
  duplicateVia?: 'http' | 'queue-plain';
  /** A PartnerLed or Private deal upgraded to co-sell once Completed: it must end Linked. */
  upgrade?: boolean;
}

/** Upgrade sends per upgraded deal, at once (concurrent upgrades must make one Microsoft referral). */
const UPGRADE_SENDS = 2;

/** True when the deal must end Linked: created as CoSell, or upgraded. */
const expectsLink = (planned: Planned): boolean => planned.dealType === 'CoSell' || planned.upgrade === true;

/** Partner Center faults for the whole submission phase. */
const BASELINE_PC_FAULTS = {
  latency: { minMs: 5, maxMs: 30, spikeProbability: 0.02, spikeMs: 2500 },
  serverErrors: { probability: 0.05, statuses: [500, 503] as Array<500 | 503> },
  commitThenDrop: { probability: 0.05, operations: ['create'] },
};

/** Partner Center calls that must have met the baseline faults before they are cleared (fewer with fewer referrals). */
const MIN_FAULTED_PARTNER_CENTER_CALLS = 20;
/** How long the fault phase may outlast the submission waiting for them (MSAL's throttle is 60 s). */
const MAX_EXTRA_FAULT_PHASE_MS = 90_000;

/** Key Vault and token endpoint trouble around each restart. */
const DEPENDENCY_FAULTS = {
  rateLimit: { probability: 0.3, retryAfterSeconds: 1 },
  serverErrors: { probability: 0.3, statuses: [503] as Array<500 | 503> },
};

/** Plans the mix: deal type, channel, key and duplicates from a seeded PRNG. */
export function planChaosMix(options: { referrals: number; seed: number }): Planned[] {
  const random = createPrng(options.seed);
  // Every third PartnerLed or Private deal (the first included) is upgraded: no PRNG draw, so the mix of a
  // seed is the same as before upgrades were added.
  let notCoSell = 0;
  return Array.from({ length: options.referrals }, (_, index): Planned => {
    const r = random();
    const dealType: DealType = r < 0.5 ? 'CoSell' : r < 0.75 ? 'PartnerLed' : 'Private';
    const c = random();
    const channel = c < 0.5 ? 'http' : c < 0.75 ? 'queue-plain' : 'queue-base64';
    const keyed = random() < 0.5;
    const d = random();
    const duplicateVia = d < 0.04 ? 'http' : d < 0.08 ? 'queue-plain' : undefined;
    const body = uniqueDeal(dealType, `chaos-${options.seed}-${index}`);
    const key = keyed ? `chaos-key-${options.seed}-${index}` : undefined;
    const upgrade = dealType !== 'CoSell' && notCoSell++ % 3 === 0;
    // Header and envelope keys share one namespace: the same key is the same request on both channels.
    const trackingId = expectedTrackingId(
      body,
      key ? { key, channel: channel === 'http' ? 'header' : 'envelope' } : undefined,
    );
    return {
      index,
      dealType,
      channel,
      body,
      ...(key ? { key } : {}),
      trackingId,
      ...(duplicateVia ? { duplicateVia } : {}),
      ...(upgrade ? { upgrade } : {}),
    };
  });
}

/** Runs the chaos scenario and returns its figures. */
export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const log = options.log ?? (() => undefined);
  const plan = planChaosMix(options);
  const bench = await startBenchSandbox({
    seed: options.seed,
    instances: options.instances ?? 1,
    appSettings: {
      SWEEPER_SCHEDULE: '*/2 * * * * *',
      SWEEPER_STALE_AFTER_SECONDS: '3',
      PARTNER_CENTER_TIMEOUT_MS: '2000',
      SUBMIT_TIME_BUDGET_MS: '3000',
      // Must outlast one Partner Center call with its retries: 4 × 2 s + backoff (≤ 1 s steps, Retry-After ≤ 2 s).
      STEP_LEASE_SECONDS: '20',
      LOCAL_HOST_QUEUE_LEASE_MS: '4000',
    },
  });
  const client = new HttpClient({ maxSockets: 16 });
  try {
    return await drive(bench, plan, client, options, log);
  } finally {
    client.close();
    await bench.stop();
  }
}

/**
 * Waits (bounded) until every refresh-token redemption the Entra stand-in answered has been written back
 * to Key Vault, so a kill never lands between the two. A SIGKILL exactly there leaves Key Vault holding a
 * spent refresh token; with the stand-in's strict reuse detection the next redemption revokes the token
 * family and every referral parks until an operator runs `npm run auth:consent` (docs/auth.md, a hazard
 * the bridge cannot close: the new refresh token exists only in the answer of the redemption). The chaos
 * run tests everything else a kill can hit.
 */
async function untilRotationPersisted(sandbox: BenchSandbox['sandbox'], timeoutMs = 15_000): Promise<void> {
  const secret = sandbox.appSettings.KEY_VAULT_REFRESH_TOKEN_SECRET_NAME ?? 'partner-center-refresh-token';
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const redeemed = sandbox.entra.stats().redemptions.refresh_token ?? 0;
    const written = sandbox.keyVault.stats().writes[secret] ?? 0;
    if (written >= redeemed) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function drive(
  bench: BenchSandbox,
  plan: Planned[],
  client: HttpClient,
  options: ChaosOptions,
  log: (line: string) => void,
): Promise<ChaosFigures> {
  const { sandbox } = bench;
  const hostOutput: string[] = [];
  const kills = options.kills ?? Math.max(2, bench.instances);
  const intake = new IntakeSender(sandbox);
  const sends = { http: 0, queuePlain: 0, queueBase64: 0, duplicates: 0, httpRetries: 0, upgrades: 0 };
  const pcFaults = (extra: FaultConfig = {}): FaultConfig => ({ seed: options.seed, ...BASELINE_PC_FAULTS, ...extra });
  sandbox.partnerCenter.setFaults(pcFaults());

  // Events fire when submission progress crosses their mark; each runs once, in order.
  const killMarks = Array.from({ length: kills }, (_, k) => 0.35 + (0.4 * k) / Math.max(1, kills - 1));
  const events: Array<{ at: number; name: string; run: () => Promise<void> }> = [
    {
      at: 0.15,
      name: 'storm 1 (429 p=0.6)',
      run: async () =>
        sandbox.partnerCenter.setFaults(pcFaults({ rateLimit: { probability: 0.6, retryAfterSeconds: 1 } })),
    },
    { at: 0.3, name: 'storm 1 over', run: async () => sandbox.partnerCenter.setFaults(pcFaults()) },
    {
      at: 0.5,
      name: 'storm 2 (10 req/s)',
      run: async () => sandbox.partnerCenter.setFaults(pcFaults({ rateLimit: { requestsPerSecond: 10 } })),
    },
    { at: 0.65, name: 'storm 2 over', run: async () => sandbox.partnerCenter.setFaults(pcFaults()) },
    ...killMarks.map((at, k) => ({
      at,
      name: `kill ${k + 1}`,
      run: async () => {
        sandbox.keyVault.setFaults({ seed: options.seed + k, ...DEPENDENCY_FAULTS });
        sandbox.entra.setFaults({
          seed: options.seed + k,
          rateLimit: { ...DEPENDENCY_FAULTS.rateLimit, operations: ['token'] },
          serverErrors: { ...DEPENDENCY_FAULTS.serverErrors, operations: ['token'] },
        });
        await untilRotationPersisted(sandbox);
        const instance = k % bench.instances;
        hostOutput.push(`==== instance ${instance}, kill ${k + 1} ====`, ...bench.host(instance).output());
        await bench.restartHost(instance);
        setTimeout(() => {
          sandbox.keyVault.clearFaults();
          sandbox.entra.clearFaults();
        }, 4_000).unref();
      },
    })),
  ].sort((a, b) => a.at - b.at);
  let nextEvent = 0;
  let eventChain = Promise.resolve();
  const fireEventsUpTo = (progress: number): void => {
    while (nextEvent < events.length && events[nextEvent].at <= progress) {
      const event = events[nextEvent++];
      eventChain = eventChain.then(async () => {
        log(`chaos: ${event.name} at ${Math.round(progress * 100)}%`);
        await event.run();
      });
    }
  };

  const postOnce = async (planned: Planned, deadlineMs: number): Promise<void> => {
    const headers: Record<string, string> = planned.key ? { 'idempotency-key': planned.key } : {};
    for (let attempt = 0; ; attempt++) {
      // A load balancer spreads requests; a retry after a lost answer lands on the next instance.
      const answer = await client.request(`${bench.functionsUrl(planned.index + attempt)}/referrals`, {
        body: planned.body,
        headers,
        timeoutMs: 15_000,
      });
      if (answer.status !== 0 && answer.status < 500) {
        if (![200, 201, 202].includes(answer.status))
          log(`chaos: #${planned.index} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
        return;
      }
      if (Date.now() > deadlineMs) {
        log(
          `chaos: #${planned.index} gave up after ${attempt + 1} attempts (${answer.status || answer.error?.message})`,
        );
        return;
      }
      sends.httpRetries++;
      await sleep(Math.min(2_000, 200 * 2 ** Math.min(attempt, 4)));
    }
  };
  const queueOnce = async (planned: Planned, base64: boolean): Promise<void> => {
    const payload = planned.key ? { idempotencyKey: planned.key, referral: planned.body } : planned.body;
    const text = JSON.stringify(payload);
    await intake.send(base64 ? Buffer.from(text, 'utf8').toString('base64') : text);
    if (base64) sends.queueBase64++;
    else sends.queuePlain++;
  };
  const sendVia = async (planned: Planned, channel: Planned['channel']): Promise<void> => {
    if (channel === 'http') {
      sends.http++;
      await postOnce(planned, Date.now() + 90_000);
    } else {
      await queueOnce(planned, channel === 'queue-base64');
    }
  };

  // Waits (bounded) for the deal to be Completed, then sends its upgrade UPGRADE_SENDS times at once, each
  // retried on a lost or 5xx answer and on 409 (still being created), as a client would.
  const upgrades: Array<Promise<void>> = [];
  const upgradeOnce = async (planned: Planned, deadlineMs: number): Promise<void> => {
    const url = `${bench.functionsUrl()}/referrals/${planned.trackingId}`;
    for (;;) {
      const view = await client.request(url, { timeoutMs: 15_000 });
      if (view.status === 200 && view.json?.state === 'Completed') break;
      if (view.status === 200 && view.json?.final) return; // Rejected: nothing to upgrade (the check reports it)
      if (Date.now() > deadlineMs) return log(`chaos: #${planned.index} never Completed for its upgrade`);
      await sleep(500);
    }
    const body = {
      coSell: { notes: 'Upgraded during the chaos run.', assistanceRequestCode: 'ProofOfConceptOrDemo' },
      shareWithMicrosoft: true,
    };
    const sendOne = async (): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        const answer = await client.request(`${url}/co-sell`, { body, timeoutMs: 15_000 });
        if ([200, 202].includes(answer.status)) return;
        if (answer.status !== 0 && answer.status < 500 && answer.status !== 409)
          return log(`chaos: #${planned.index} upgrade answered ${answer.status}: ${answer.text.slice(0, 200)}`);
        if (Date.now() > deadlineMs)
          return log(`chaos: #${planned.index} upgrade gave up (${answer.status || answer.error?.message})`);
        sends.httpRetries++;
        await sleep(Math.min(2_000, 200 * 2 ** Math.min(attempt, 4)));
      }
    };
    await Promise.all(Array.from({ length: UPGRADE_SENDS }, sendOne));
    sends.upgrades += UPGRADE_SENDS;
  };

  // Updates of final deals, sent while the faults are on (and through one more kill).
  let faultsOn = true;
  const plannedUpdates = new Map(planUpdates(plan, options.seed).map((update) => [update.index, update]));
  const updates = new ChaosUpdates({ client, functionsUrl: () => bench.functionsUrl(), faultsOn: () => faultsOn, log });

  const rate = options.submitRatePerSecond ?? 25;
  const startedAtMs = Date.now();
  await mapWithConcurrency(plan, 16, async (planned) => {
    const due = startedAtMs + (planned.index * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    fireEventsUpTo(planned.index / plan.length);
    await sendVia(planned, planned.channel);
    if (planned.duplicateVia) {
      sends.duplicates++;
      await sleep(50);
      // A header key and an envelope key are the same request; an unkeyed body is identified by its externalReferenceId.
      await sendVia(planned, planned.duplicateVia);
    }
    // As long as the run may settle: under faults a deal may take minutes to be Completed, and a client keeps
    // retrying its upgrade through 503s meanwhile (giving up earlier left upgrades unsent, not lost).
    if (planned.upgrade) upgrades.push(upgradeOnce(planned, Date.now() + (options.settleTimeoutMs ?? 180_000)));
    const update = plannedUpdates.get(planned.index);
    // The same bound as the upgrades: a deal held up by the storms and kills gets its changes later, not never.
    if (update) updates.start(update, Date.now() + (options.settleTimeoutMs ?? 180_000));
  });
  fireEventsUpTo(1);
  await eventChain;
  log(`chaos: ${plan.length} submitted in ${round((Date.now() - startedAtMs) / 1000, 1)} s; clearing faults in 2 s`);
  await sleep(2_000);
  // The faults end when the app has met them, not at a wall-clock mark: a host that spent the whole
  // submission getting a token (a kill before its first call, then the token endpoint's 429s and MSAL's
  // 60 s throttle) would otherwise make every Partner Center call after the faults were gone.
  const faultedCallsWanted = Math.min(plan.length, MIN_FAULTED_PARTNER_CENTER_CALLS);
  const faultsUntilMs = Date.now() + MAX_EXTRA_FAULT_PHASE_MS;
  const faultedUpdatesWanted = updates.faultedSendsWanted(plannedUpdates.size);
  let updateKills = 0;
  let killAmongUpdates = kills > 0 && faultedUpdatesWanted > 0;
  while (
    (sumValues(sandbox.partnerCenter.stats().faults) < faultedCallsWanted ||
      updates.sendsDuringFaults < faultedUpdatesWanted ||
      killAmongUpdates) &&
    Date.now() < faultsUntilMs
  ) {
    if (killAmongUpdates && updates.unfinished === 0) killAmongUpdates = false; // every update already done
    if (killAmongUpdates && updates.sendsDuringFaults >= faultedUpdatesWanted / 2) {
      killAmongUpdates = false;
      updateKills++;
      log(`chaos: kill among the updates (${updates.sendsDuringFaults} sent)`);
      await untilRotationPersisted(sandbox);
      hostOutput.push('==== host generation (killed among the updates) ====', ...bench.host().output());
      await bench.restartHost();
    }
    await sleep(250);
  }
  faultsOn = false;
  sandbox.partnerCenter.clearFaults();
  sandbox.keyVault.clearFaults();
  sandbox.entra.clearFaults();
  await Promise.all(upgrades); // before the settle: an upgrade not yet sent would look final as Completed

  // Settle: every submitted record final, and the queues drained.
  const expectedIds = [...new Set(plan.map((p) => p.trackingId))];
  const deadline = Date.now() + (options.settleTimeoutMs ?? 180_000);
  let records = new Map<string, RecordSummary>();
  let lastLogMs = 0;
  for (;;) {
    records = await readAllRecords(sandbox);
    const pending = expectedIds.filter((id) => !FINAL_STATES.has(records.get(id)?.state ?? ''));
    const depths = await queueDepths(sandbox);
    const busy = depths['referral-intake'] + depths['referral-submit'] + depths['referral-link'];
    if ((pending.length === 0 && busy === 0) || Date.now() > deadline) break;
    if (Date.now() - lastLogMs > 10_000) {
      lastLogMs = Date.now();
      const states: Record<string, number> = {};
      for (const id of pending)
        states[records.get(id)?.state ?? 'missing'] = (states[records.get(id)?.state ?? 'missing'] ?? 0) + 1;
      const sample = records.get(pending[0] ?? '');
      const leaseLeft = sample?.leaseUntilEpochMs
        ? `${Math.round((sample.leaseUntilEpochMs - Date.now()) / 1000)} s of lease left (owner ${sample.leaseOwner?.slice(0, 8)})`
        : 'no lease';
      log(
        `chaos: waiting for ${pending.length} records ${JSON.stringify(states)}, ${busy} queued messages; e.g. ${sample?.trackingId} ${sample?.state}, ${leaseLeft}, last error ${sample?.lastErrorCode ?? '-'}`,
      );
    }
    await sleep(500);
  }
  await updates.sent();
  await updates.settle(sandbox, 60_000);
  // Let a link step that wrote Linked but has not deleted its message yet finish.
  await sleep(1_000);
  records = await readAllRecords(sandbox);
  // The sweepers (every 2 s) tidy the entries of records closed since their last pass.
  let openIndexEntries = (await readOpenIndex(sandbox)).length;
  for (let i = 0; i < 20 && openIndexEntries > 0; i++) {
    await sleep(500);
    openIndexEntries = (await readOpenIndex(sandbox)).length;
  }
  if (options.hostLogFile) {
    for (let i = 0; i < bench.instances; i++)
      hostOutput.push(`==== instance ${i} (running) ====`, ...bench.host(i).output());
    writeFileSync(options.hostLogFile, `${hostOutput.join('\n')}\n`);
  }
  const figures = await check(bench, plan, records, sends, kills, startedAtMs, options.seed);
  const updateFigures = updates.check(sandbox.partnerCenter.referrals());
  return {
    ...figures,
    ...updateFigures,
    openIndexEntries,
    updateKills,
    problems: [...figures.problems, ...updates.problems].slice(0, 20),
  };
}

async function check(
  bench: BenchSandbox,
  plan: Planned[],
  records: Map<string, RecordSummary>,
  sends: ChaosFigures['sends'],
  kills: number,
  startedAtMs: number,
  seed: number,
): Promise<Omit<ChaosFigures, keyof ChaosUpdateFigures | 'updateKills' | 'openIndexEntries'>> {
  const { sandbox } = bench;
  const referrals = sandbox.partnerCenter.referrals() as Array<{
    id: string;
    engagementId: string;
    organizationId: string;
    externalReferenceId?: string | null;
  }>;
  const byId = new Map(referrals.map((r) => [r.id, r]));
  const problems: string[] = [];
  const unique = new Map(plan.map((p) => [p.trackingId, p]));
  let finalState = 0;
  let lost = 0;
  let linked = 0;
  let completed = 0;
  let rejected = 0;
  let notFinal = 0;
  let lastFinalAtMs = startedAtMs;
  for (const planned of unique.values()) {
    const record = records.get(planned.trackingId);
    if (!record) {
      lost++;
      problems.push(`#${planned.index} ${planned.dealType} via ${planned.channel}: no tracking record`);
      continue;
    }
    if (FINAL_STATES.has(record.state)) {
      finalState++;
      lastFinalAtMs = Math.max(lastFinalAtMs, record.updatedAtEpochMs ?? 0);
    } else {
      notFinal++;
      problems.push(`#${planned.index} ${planned.dealType}: ${record.state} (not final)`);
    }
    if (record.state === 'Rejected') {
      rejected++;
      problems.push(`#${planned.index} ${planned.dealType}: Rejected (${record.lastErrorCode ?? '?'})`);
    }
    const partner = record.partnerReferralId ? byId.get(record.partnerReferralId) : undefined;
    if (FINAL_STATES.has(record.state) && record.state !== 'Rejected' && !partner) {
      lost++;
      problems.push(`#${planned.index} ${planned.dealType}: ${record.state} without its partner referral`);
    }
    if (expectsLink(planned) && record.state === 'Linked') {
      if (record.microsoftReferralId && byId.get(record.microsoftReferralId)?.engagementId === partner?.engagementId)
        linked++;
      else problems.push(`#${planned.index}: Linked but the Microsoft referral is missing or in another engagement`);
    }
    if (!expectsLink(planned) && record.state === 'Completed') completed++;
    if (expectsLink(planned) && record.state === 'Completed')
      problems.push(`#${planned.index} ${planned.dealType}: Completed, but its upgrade to co-sell never linked`);
  }
  const partnerByExternalId = new Map<string, number>();
  const microsoftByEngagement = new Map<string, number>();
  for (const referral of referrals) {
    if (referral.organizationId === 'msft')
      microsoftByEngagement.set(referral.engagementId, (microsoftByEngagement.get(referral.engagementId) ?? 0) + 1);
    else if (referral.externalReferenceId)
      partnerByExternalId.set(
        referral.externalReferenceId,
        (partnerByExternalId.get(referral.externalReferenceId) ?? 0) + 1,
      );
  }
  const extra = (counts: Map<string, number>) =>
    [...counts.values()].reduce((total, n) => total + Math.max(0, n - 1), 0);
  const depths = await queueDepths(sandbox);
  const pcFaults = sandbox.partnerCenter.stats().faults;
  const kvFaults = sandbox.keyVault.stats().faults;
  const entraFaults = sandbox.entra.stats().faults;
  const nonZero = (faults: Record<string, number>) =>
    Object.fromEntries(Object.entries(faults).filter(([, n]) => n > 0));
  const uniquePlans = [...unique.values()];
  return {
    benchmark: 'chaos',
    seed,
    submitted: unique.size,
    sends,
    finalState,
    lost,
    duplicatePartnerReferrals: extra(partnerByExternalId),
    duplicateMicrosoftReferrals: extra(microsoftByEngagement),
    linked,
    expectedLinked: uniquePlans.filter(expectsLink).length,
    completed,
    expectedCompleted: uniquePlans.filter((p) => !expectsLink(p)).length,
    upgraded: uniquePlans.filter((p) => p.upgrade).length,
    rejected,
    notFinal,
    poisoned: poisonCount(depths),
    kills,
    faultsInjected: {
      partnerCenter: nonZero(pcFaults),
      keyVault: nonZero(kvFaults),
      entra: nonZero(entraFaults),
    },
    idempotentReplays: sandbox.partnerCenter.stats().idempotentReplays,
    refreshTokenReuse: sandbox.entra.stats().reuseDetections,
    tokenRedemptions: sandbox.entra.stats().redemptions.refresh_token ?? 0,
    instances: bench.instances,
    hostProcesses: bench.hostsStarted(),
    settleSeconds: round((lastFinalAtMs - startedAtMs) / 1000, 1),
    problems: problems.slice(0, 20),
  };
}

async function main(): Promise<void> {
  const options = parseOptions({
    referrals: { kind: 'number', default: 500, min: 1 },
    seed: { kind: 'number', default: 42 },
    kills: { kind: 'number', default: -1 },
    instances: { kind: 'number', default: 1, min: 1 },
    rate: { kind: 'number', default: 25, min: 1 },
    'settle-timeout-seconds': { kind: 'number', default: 180, min: 1 },
    'host-log': { kind: 'string', default: '' },
  });
  const figures = await runChaos({
    referrals: options.referrals,
    seed: options.seed,
    ...(options.kills >= 0 ? { kills: options.kills } : {}),
    instances: options.instances,
    submitRatePerSecond: options.rate,
    settleTimeoutMs: options['settle-timeout-seconds'] * 1000,
    log: (line) => console.log(`${new Date().toISOString()} ${line}`),
    ...(options['host-log'] ? { hostLogFile: options['host-log'] } : {}),
  });
  for (const problem of figures.problems) console.log(`problem: ${problem}`);
  console.log(
    `${figures.submitted} submitted: ${figures.finalState} final, ${figures.lost} lost, ${figures.duplicatePartnerReferrals}+${figures.duplicateMicrosoftReferrals} duplicates, ` +
      `${figures.linked}/${figures.expectedLinked} linked, ${figures.poisoned} poisoned, faults ${sumValues(figures.faultsInjected.partnerCenter)} (Partner Center) ` +
      `${sumValues(figures.faultsInjected.keyVault)} (Key Vault) ${sumValues(figures.faultsInjected.entra)} (Entra), ${figures.kills} kills over ${figures.instances} instance(s), ` +
      `${figures.tokenRedemptions} token redemptions for ${figures.hostProcesses} host processes; ` +
      `updates ${figures.updatesApplied}/${figures.updatesSent} applied, ${figures.lostChanges} lost, ${figures.doubleApplied} double-applied`,
  );
  console.log(JSON.stringify(figures));
}

if (require.main === module) runBenchmark(main);
