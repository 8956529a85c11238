/**
 * Benchmark: throttle-aware Partner Center calls against a rate-limited tenant.
 *
 * The simulator's `rateLimit: { requestsPerSecond: --limit-rps }` is the tenant's limit (a fixed
 * one-second window counting every request, rejected ones too; 429 with Retry-After ≥ 1 s). One or two
 * local hosts share one Azurite (competing queue consumers, as scale-out does); each calls the simulator
 * through its own recording proxy (bench/lib/timelineProxy.ts). `--referrals` N (half CoSell: 1.5 creates
 * per referral) are POSTed, spread over the hosts, by `--client-concurrency` lanes; the simulator answers
 * after `--latency-ms`. Each configuration runs on a fresh sandbox:
 *
 * - `adaptive`: PARTNER_CENTER_ADAPTIVE=true (the default), with `--share-throttle off|on|both`
 *   (PARTNER_CENTER_SHARE_THROTTLE, only meaningful with 2 instances) and `--rate-sharing table|off|both`
 *   (PARTNER_CENTER_RATE_SHARING; default table, the app's default);
 * - `fixed`: PARTNER_CENTER_ADAPTIVE=false, today's fixed PARTNER_CENTER_CONCURRENCY (the baseline).
 *
 * Figures per run: `goodputRatio` = successful creates per second over the run (first Partner Center call to the last
 * create) ÷ the limit; `throttledFraction` = 429s ÷ every Partner Center call (the simulator's counters);
 * `lost` = POSTed referrals whose record is missing or not final when the run ends (`--timeout-seconds`);
 * `duplicatePartnerReferrals` (per externalReferenceId) and `duplicateMicrosoftReferrals` (per engagement)
 * from the simulator's referrals. Prints one line per run and, last, all runs side by side as JSON:
 * `npm run bench:throttle -- --limit-rps 20 --referrals 600 --instances 2`
 * `--chart` also writes docs/figures/throttle.svg (calls started, accepted creates, 429s and calls in
 * flight per second, from the proxies) from the adaptive run with the most instances and its baseline.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fastQueuesHostJson, startSandbox } from '../sandbox/sandbox';
import { startLocalHost, type RunningHost } from '../sandbox/host';
import { parseOptions, runBenchmark } from './lib/args';
import { HttpClient, mapWithConcurrency, sleep } from './lib/httpClient';
import { expectedTrackingId } from './lib/identity';
import { FINAL_STATES, IntakeSender, readAllRecords } from './lib/inspect';
import { dealMix, repoRoot, uniqueDeal } from './lib/repo';
import { round } from './lib/stats';
import { startTimelineProxy, type RunningTimelineProxy, type TimelineBucket } from './lib/timelineProxy';
import { renderTimeSeriesSvg, type TimeSeries } from './lib/timeSeriesChart';

/** One configuration. */
export interface ThrottleRunConfig {
  instances: number;
  mode: 'adaptive' | 'fixed';
  /** PARTNER_CENTER_SHARE_THROTTLE (adaptive only). */
  shareThrottle: boolean;
  /** PARTNER_CENTER_RATE_SHARING=table (adaptive only). */
  rateSharing: boolean;
}

/** Options shared by every run. */
export interface ThrottleBenchOptions {
  limitRps: number;
  referrals: number;
  latencyMs: number;
  /** PARTNER_CENTER_CONCURRENCY: the fixed concurrency, and the adaptive ceiling. */
  concurrency: number;
  clientConcurrency: number;
  /** `queue`: messages on referral-intake, taken by the hosts as competing consumers; `http`: POSTs spread over the hosts. */
  intake: 'queue' | 'http';
  timeoutMs: number;
  /** Referrals per host sent before the measured ones, with no rate limit (first token, services built). */
  warmupPerHost: number;
  tag: string;
}

/** The figures of one run. */
export interface ThrottleFigures extends ThrottleRunConfig {
  label: string;
  goodputRatio: number;
  throttledFraction: number;
  lost: number;
  duplicatePartnerReferrals: number;
  duplicateMicrosoftReferrals: number;
  /** Creates Partner Center accepted during the run (1 per referral, 2 per CoSell deal). */
  successfulCreates: number;
  expectedCreates: number;
  /** The first Partner Center call to the last accepted create. */
  runSeconds: number;
  /** The same over the first intake message (or POST) to the last create: queue polling included. */
  goodputRatioSinceFirstSend: number;
  /** First intake message (or POST) to the first Partner Center call. */
  firstCallAfterSeconds: number;
  /** successfulCreates / runSeconds. */
  createsPerSecond: number;
  partnerCenterCalls: number;
  /** Partner Center calls of the measured run by operation and status (everything counts against the limit). */
  callsByOperation: Record<string, Record<string, number>>;
  /**
   * (calls − 429s − calls other than creates) ÷ calls: the share of the limit creates could have had, the
   * most goodputRatio could reach had every call been accepted and the run lasted exactly calls ÷ limit.
   */
  createShareOfCalls: number;
  throttled: number;
  /** Refresh-token redemptions at the Entra stand-in over the whole run, all instances (warm-up included). */
  tokenRedemptions: number;
  /** POST answers by status (`--intake http`). */
  postStatuses: Record<string, number>;
  /** Records by state at the end (missing: no record). */
  finalStates: Record<string, number>;
  /** Per instance: calls sent, 429s received, most calls in flight at once. */
  perInstance: Array<{ calls: number; throttled: number; maxInFlight: number }>;
  loadAverageAtStart: number;
}

/** A run's figures and its per-instance timelines (for the chart). */
interface RunResult {
  figures: ThrottleFigures;
  timelines: TimelineBucket[][];
  /** The adaptive limiters' adjustments, from the hosts' log lines. */
  adjustments: LimiterAdjustment[];
}

/** One adjustment an instance's limiter logged (shared/partner-center/throttleGate.ts). */
interface LimiterAdjustment {
  instance: number;
  atSeconds: number;
  reason: string;
  ratePerSecond: number | null;
  concurrencyLimit: number;
}

function parseAdjustment(line: string, instance: number, t0Ms: number): LimiterAdjustment | undefined {
  if (!line.includes('"reason"') || !line.includes('concurrencyLimit')) return undefined;
  const start = line.indexOf('{');
  try {
    const record = JSON.parse(line.slice(start)) as Record<string, unknown>;
    const time = typeof record.time === 'string' ? Date.parse(record.time) : Date.now();
    return {
      instance,
      atSeconds: round((time - t0Ms) / 1000, 2),
      reason: String(record.reason),
      ratePerSecond: typeof record.ratePerSecond === 'number' ? round(record.ratePerSecond, 2) : null,
      concurrencyLimit: Number(record.concurrencyLimit),
    };
  } catch {
    return undefined;
  }
}

const HOST_JSON = fastQueuesHostJson(500);

/** Runs one configuration on a fresh sandbox. */
export async function runThrottle(config: ThrottleRunConfig, options: ThrottleBenchOptions): Promise<RunResult> {
  const label = `${config.instances} instance${config.instances > 1 ? 's' : ''}, ${config.mode}${
    config.mode === 'adaptive' && config.instances > 1 ? `, share-throttle ${config.shareThrottle ? 'on' : 'off'}` : ''
  }${config.mode === 'adaptive' ? `, rate-sharing ${config.rateSharing ? 'table' : 'off'}` : ''}`;
  const loadAverageAtStart = round(loadavg()[0] ?? 0, 2);
  const stateDir = mkdtempSync(path.join(tmpdir(), 'bridge-throttle-'));
  const sandbox = await startSandbox({
    appDir: repoRoot(),
    stateDir,
    freePorts: true,
    inMemoryStorage: true,
    quiet: true,
    startHost: false,
    hostJson: HOST_JSON,
    appSettings: {
      PARTNER_CENTER_CONCURRENCY: String(options.concurrency),
      PARTNER_CENTER_ADAPTIVE: String(config.mode === 'adaptive'),
      PARTNER_CENTER_SHARE_THROTTLE: String(config.mode === 'adaptive' && config.shareThrottle),
      PARTNER_CENTER_RATE_SHARING: config.mode === 'adaptive' && config.rateSharing ? 'table' : 'off',
      // warn: the limiter's adjustments (one line per throttle event) and each failed call.
      LOG_LEVEL: config.mode === 'adaptive' ? 'warn' : 'error',
    },
  });
  const adjustments: LimiterAdjustment[] = [];
  let firstPostAtMs = Number.POSITIVE_INFINITY;
  const proxies: RunningTimelineProxy[] = [];
  const hosts: RunningHost[] = [];
  const client = new HttpClient({ maxSockets: options.clientConcurrency });
  try {
    for (let i = 0; i < config.instances; i++) {
      const proxy = await startTimelineProxy({ upstreamUrl: sandbox.partnerCenter.url });
      proxies.push(proxy);
      hosts.push(
        await startLocalHost({
          appDir: repoRoot(),
          port: 0,
          env: { ...sandbox.appSettings, PARTNER_CENTER_BASE_URL: proxy.url },
          hostJson: HOST_JSON,
          quiet: true,
          onLine: (line) => {
            const adjustment = parseAdjustment(line, i, firstPostAtMs);
            if (adjustment) adjustments.push(adjustment);
          },
        }),
      );
    }
    const urls = hosts.map((h) => `${h.url}/api/referrals`);
    const pc = sandbox.partnerCenter;

    // Warm-up, unthrottled: every host builds its services and gets its first token.
    const warmup = urls.flatMap((url, h) =>
      dealMix(options.warmupPerHost).map((type, i) => ({ url, body: uniqueDeal(type, `${options.tag}-w${h}-${i}`) })),
    );
    const warmAnswers = await mapWithConcurrency(warmup, 8, (w) => client.request(w.url, { body: w.body }));
    const refused = warmAnswers.filter((a) => a.status !== 201 && a.status !== 202);
    if (refused.length > 0) throw new Error(`${refused.length} warm-up referrals refused (${refused[0].status})`);
    const warmCreates = warmup.length + warmup.filter((w) => w.body.dealType === 'CoSell').length;
    const warmDeadline = Date.now() + 30_000;
    while (pc.referrals().length < warmCreates && Date.now() < warmDeadline) await sleep(50);
    // More than one window (1 s) before the limit applies: the limiter's accepted history (and the tenant
    // rows) hold the warm-up's calls, which the simulator never counted; one within a window of the first
    // 429 counts in the shared window as if the server had (a share 1–2 calls too high, one more event).
    await sleep(1500);

    // The measured run.
    const referralsBefore = pc.referrals().length;
    const statsBefore = pc.stats();
    pc.setFaults({ latency: options.latencyMs, rateLimit: { requestsPerSecond: options.limitRps } });
    const types = dealMix(options.referrals);
    const bodies = types.map((type, i) => uniqueDeal(type, `${options.tag}-${i}`));
    firstPostAtMs = Date.now();
    for (const proxy of proxies) proxy.reset(firstPostAtMs);
    let ids: Array<string | undefined>;
    const postStatuses: Record<string, number> = {};
    if (options.intake === 'queue') {
      // Competing consumers: every host takes intake messages as fast as its limiter lets it.
      const intake = new IntakeSender(sandbox);
      await mapWithConcurrency(bodies, 16, (body) => intake.send(JSON.stringify(body)));
      ids = bodies.map((body) => expectedTrackingId(body));
    } else {
      const answers = await mapWithConcurrency(bodies, options.clientConcurrency, (body, i) =>
        client.request(urls[i % urls.length], { body, timeoutMs: 120_000 }),
      );
      for (const a of answers) postStatuses[String(a.status)] = (postStatuses[String(a.status)] ?? 0) + 1;
      ids = answers.map((a) => (typeof a.json?.trackingId === 'string' ? (a.json.trackingId as string) : undefined));
    }
    const expectedCreates = options.referrals + types.filter((t) => t === 'CoSell').length;
    const deadline = firstPostAtMs + options.timeoutMs;
    let records = await readAllRecords(sandbox);
    const pending = () => ids.filter((id) => id === undefined || !FINAL_STATES.has(records.get(id)?.state ?? ''));
    while (pending().length > 0 && Date.now() < deadline) {
      await sleep(500);
      records = await readAllRecords(sandbox);
    }
    const statsAfter = pc.stats();
    pc.clearFaults();

    const created = pc.referrals().slice(referralsBefore);
    const lastCreateAtMs = Math.max(firstPostAtMs + 1, ...created.map((r) => Date.parse(r.createdDateTime)));
    // The run: the first Partner Center call to the last accepted create (what the limiter controls).
    const firstCallAtMs = Math.min(...proxies.map((p) => p.firstRequestAtMs() ?? Number.POSITIVE_INFINITY));
    const runSeconds = (lastCreateAtMs - firstCallAtMs) / 1000;
    const sinceFirstSendSeconds = (lastCreateAtMs - firstPostAtMs) / 1000;
    const sum = (calls: Record<string, Record<string, number>>) =>
      Object.values(calls).reduce((t, byStatus) => t + Object.values(byStatus).reduce((a, b) => a + b, 0), 0);
    const partnerCenterCalls = sum(statsAfter.calls) - sum(statsBefore.calls);
    const throttled = statsAfter.faults.rateLimit - statsBefore.faults.rateLimit;
    const callsByOperation: Record<string, Record<string, number>> = {};
    for (const [operation, byStatus] of Object.entries(statsAfter.calls)) {
      for (const [status, n] of Object.entries(byStatus)) {
        const delta = n - (statsBefore.calls[operation]?.[status] ?? 0);
        if (delta > 0) (callsByOperation[operation] ??= {})[status] = delta;
      }
    }
    const partnerByExternalId = new Map<string, number>();
    const microsoftByEngagement = new Map<string, number>();
    for (const referral of pc.referrals()) {
      if (referral.organizationId === 'msft')
        microsoftByEngagement.set(referral.engagementId, (microsoftByEngagement.get(referral.engagementId) ?? 0) + 1);
      else if (typeof referral.externalReferenceId === 'string')
        partnerByExternalId.set(
          referral.externalReferenceId,
          (partnerByExternalId.get(referral.externalReferenceId) ?? 0) + 1,
        );
    }
    const extra = (counts: Map<string, number>) => [...counts.values()].reduce((t, n) => t + Math.max(0, n - 1), 0);
    const finalStates: Record<string, number> = {};
    for (const id of ids) {
      const state = (id && records.get(id)?.state) || 'missing';
      finalStates[state] = (finalStates[state] ?? 0) + 1;
    }
    const timelines = proxies.map((p) => p.timeline());
    const figures: ThrottleFigures = {
      ...config,
      shareThrottle: config.mode === 'adaptive' && config.shareThrottle,
      rateSharing: config.mode === 'adaptive' && config.rateSharing,
      label,
      goodputRatio: round(created.length / runSeconds / options.limitRps, 3),
      throttledFraction: round(throttled / Math.max(1, partnerCenterCalls), 4),
      lost: pending().length,
      duplicatePartnerReferrals: extra(partnerByExternalId),
      duplicateMicrosoftReferrals: extra(microsoftByEngagement),
      successfulCreates: created.length,
      expectedCreates,
      runSeconds: round(runSeconds, 2),
      goodputRatioSinceFirstSend: round(created.length / sinceFirstSendSeconds / options.limitRps, 3),
      firstCallAfterSeconds: round((firstCallAtMs - firstPostAtMs) / 1000, 2),
      createsPerSecond: round(created.length / runSeconds, 2),
      partnerCenterCalls,
      callsByOperation,
      createShareOfCalls: round(created.length / Math.max(1, partnerCenterCalls), 3),
      throttled,
      tokenRedemptions: sandbox.entra.stats().redemptions.refresh_token ?? 0,
      postStatuses,
      finalStates,
      perInstance: timelines.map((buckets) => ({
        calls: buckets.reduce((t, b) => t + b.started, 0),
        throttled: buckets.reduce((t, b) => t + (b.answered['429'] ?? 0), 0),
        maxInFlight: Math.max(0, ...buckets.map((b) => b.maxInFlight)),
      })),
      loadAverageAtStart,
    };
    return { figures, timelines, adjustments: adjustments.filter((a) => a.atSeconds >= 0) };
  } finally {
    client.close();
    for (const host of hosts) await host.stop().catch(() => undefined);
    for (const proxy of proxies) await proxy.close();
    await sandbox.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Per-second series of the proxies' timelines (100 ms buckets). */
function perSecond(timelines: TimelineBucket[][], pick: (b: TimelineBucket) => number, combine: 'sum' | 'max') {
  const seconds = new Map<number, number>();
  for (const buckets of timelines) {
    const own = new Map<number, number>();
    for (const b of buckets) {
      const s = Math.floor(b.atMs / 1000);
      own.set(s, combine === 'sum' ? (own.get(s) ?? 0) + pick(b) : Math.max(own.get(s) ?? 0, pick(b)));
    }
    for (const [s, v] of own) seconds.set(s, (seconds.get(s) ?? 0) + v);
  }
  return [...seconds.entries()].sort((a, b) => a[0] - b[0]).map(([s, y]) => ({ x: s, y }));
}

/** The chart of docs/figures/throttle.svg: the adaptive run and its fixed baseline, second by second. */
export function renderThrottleChart(
  adaptive: RunResult,
  baseline: RunResult | undefined,
  options: ThrottleBenchOptions,
) {
  const accepted = (b: TimelineBucket) => b.answered['201'] ?? 0;
  const lastX = Math.max(...perSecond(adaptive.timelines, (b) => b.started, 'sum').map((p) => p.x), 1);
  const rateSeries: TimeSeries[] = [
    {
      name: `tenant limit (${options.limitRps}/s)`,
      color: '#555',
      dashed: true,
      points: [
        { x: 0, y: options.limitRps },
        { x: lastX + 1, y: options.limitRps },
      ],
    },
    { name: 'adaptive: creates accepted/s', color: '#1f77b4', points: perSecond(adaptive.timelines, accepted, 'sum') },
    {
      name: 'adaptive: 429s/s',
      color: '#d62728',
      points: perSecond(adaptive.timelines, (b) => b.answered['429'] ?? 0, 'sum'),
    },
  ];
  const flightSeries: TimeSeries[] = adaptive.timelines.map((t, i) => ({
    name: `adaptive: instance ${i + 1}`,
    color: ['#1f77b4', '#2ca02c'][i % 2],
    points: perSecond([t], (b) => b.maxInFlight, 'max'),
  }));
  const startSeries: TimeSeries[] = adaptive.timelines.map((t, i) => ({
    name: `adaptive: instance ${i + 1}`,
    color: ['#1f77b4', '#2ca02c'][i % 2],
    points: perSecond([t], (b) => b.started, 'sum'),
  }));
  if (baseline) {
    rateSeries.push({
      name: 'fixed: creates accepted/s',
      color: '#ff7f0e',
      dashed: true,
      points: perSecond(baseline.timelines, accepted, 'sum'),
    });
    rateSeries.push({
      name: 'fixed: 429s/s',
      color: '#9467bd',
      dashed: true,
      points: perSecond(baseline.timelines, (b) => b.answered['429'] ?? 0, 'sum'),
    });
    flightSeries.push({
      name: 'fixed: all instances',
      color: '#ff7f0e',
      dashed: true,
      points: perSecond(baseline.timelines, (b) => b.maxInFlight, 'max'),
    });
  }
  const a = adaptive.figures;
  const f = baseline?.figures;
  return renderTimeSeriesSvg({
    title: `Throttled tenant (${options.limitRps} requests/s), ${a.instances} instance${a.instances > 1 ? 's' : ''}: adaptive against fixed concurrency`,
    subtitle:
      `N = ${options.referrals} referrals (half CoSell), latency ${options.latencyMs} ms, PARTNER_CENTER_CONCURRENCY ${options.concurrency}; ` +
      `adaptive goodput ${a.goodputRatio}, 429s ${round(a.throttledFraction * 100, 1)} %` +
      (f ? `; fixed goodput ${f.goodputRatio}, 429s ${round(f.throttledFraction * 100, 1)} %` : ''),
    xLabel: 'seconds since the first POST',
    panels: [
      { title: 'Partner Center answers per second (all instances)', yLabel: 'calls/s', series: rateSeries },
      {
        title: 'Calls started per second per instance (the paced rate)',
        yLabel: 'calls/s',
        series: startSeries,
      },
      { title: 'Most calls in flight at once (per second)', yLabel: 'calls', series: flightSeries },
    ],
  });
}

function parseList<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim()) as T[];
  for (const item of items)
    if (!allowed.includes(item))
      throw new Error(`--${flag} takes ${allowed.join(', ')} (comma-separated); got ${item}`);
  return items;
}

async function main(): Promise<void> {
  const args = parseOptions({
    'limit-rps': { kind: 'number', default: 20, min: 1 },
    referrals: { kind: 'number', default: 600, min: 1 },
    /** Comma-separated instance counts, e.g. `1,2`. */
    instances: { kind: 'string', default: '1,2' },
    /** Comma-separated: adaptive, fixed. */
    mode: { kind: 'string', default: 'adaptive,fixed' },
    /** off, on, or both (adaptive runs with more than one instance). */
    'share-throttle': { kind: 'string', default: 'off' },
    'rate-sharing': { kind: 'string', default: 'table' },
    'latency-ms': { kind: 'number', default: 100, min: 0 },
    concurrency: { kind: 'number', default: 16, min: 1 },
    'client-concurrency': { kind: 'number', default: 64, min: 1 },
    /** queue (competing consumers, the default) or http (POSTs alternating between the hosts). */
    intake: { kind: 'string', default: 'queue' },
    'timeout-seconds': { kind: 'number', default: 150, min: 1 },
    warmup: { kind: 'number', default: 4, min: 1 },
    chart: { kind: 'boolean' },
    /** Also print each run's per-second accepted creates, 429s and calls started. */
    timeline: { kind: 'boolean' },
  });
  const options: ThrottleBenchOptions = {
    limitRps: args['limit-rps'],
    referrals: args.referrals,
    latencyMs: args['latency-ms'],
    concurrency: args.concurrency,
    clientConcurrency: args['client-concurrency'],
    intake: parseList('intake', args.intake, ['queue', 'http'] as const)[0],
    timeoutMs: args['timeout-seconds'] * 1000,
    warmupPerHost: args.warmup,
    tag: String(Date.now()),
  };
  const instanceCounts = parseList('instances', args.instances, ['1', '2'] as const).map(Number);
  const modes = parseList('mode', args.mode, ['adaptive', 'fixed'] as const);
  const share = parseList('share-throttle', args['share-throttle'], ['off', 'on', 'both'] as const)[0];
  const rateSharingArg = parseList('rate-sharing', args['rate-sharing'], ['off', 'table', 'both'] as const)[0];
  const rateSharings = rateSharingArg === 'both' ? [false, true] : [rateSharingArg === 'table'];
  const configs: ThrottleRunConfig[] = [];
  for (const instances of instanceCounts) {
    for (const mode of modes) {
      const shares =
        mode === 'adaptive' && instances > 1 ? (share === 'both' ? [false, true] : [share === 'on']) : [false];
      for (const shareThrottle of shares)
        for (const rateSharing of mode === 'adaptive' ? rateSharings : [false])
          configs.push({ instances, mode, shareThrottle, rateSharing });
    }
  }
  const results: RunResult[] = [];
  for (const config of configs) {
    const result = await runThrottle(config, { ...options, tag: `${options.tag}-${results.length}` });
    const f = result.figures;
    console.log(
      `${f.label}: goodputRatio ${f.goodputRatio}, throttledFraction ${f.throttledFraction}, lost ${f.lost}, duplicates ${f.duplicatePartnerReferrals}+${f.duplicateMicrosoftReferrals} ` +
        `(${f.successfulCreates}/${f.expectedCreates} creates in ${f.runSeconds} s, ${f.throttled} 429s of ${f.partnerCenterCalls} calls, ` +
        `creates ${f.createShareOfCalls} of calls, ${f.tokenRedemptions} token redemptions)`,
    );
    if (args.timeline) {
      const seconds = (pick: (b: TimelineBucket) => number) =>
        perSecond(result.timelines, pick, 'sum')
          .map((p) => p.y)
          .join(' ');
      console.log(`  accepted/s: ${seconds((b) => b.answered['201'] ?? 0)}`);
      console.log(`  429/s:      ${seconds((b) => b.answered['429'] ?? 0)}`);
      console.log(`  started/s:  ${seconds((b) => b.started)}`);
      if (result.timelines.length > 1)
        result.timelines.forEach((timeline, i) =>
          console.log(
            `  #${i + 1} started/s: ${perSecond([timeline], (b) => b.started, 'sum')
              .map((p) => p.y)
              .join(' ')}`,
          ),
        );
      for (const a of result.adjustments)
        console.log(
          `  ${a.atSeconds}s #${a.instance + 1} ${a.reason}: rate ${a.ratePerSecond}, limit ${a.concurrencyLimit}`,
        );
    }
    results.push(result);
  }
  let chartFile: string | undefined;
  if (args.chart) {
    const most = Math.max(...results.map((r) => r.figures.instances));
    const adaptive = results.find(
      (r) => r.figures.instances === most && r.figures.mode === 'adaptive' && !r.figures.shareThrottle,
    );
    const baseline = results.find((r) => r.figures.instances === most && r.figures.mode === 'fixed');
    if (adaptive) {
      chartFile = path.join(repoRoot(), 'docs', 'figures', 'throttle.svg');
      mkdirSync(path.dirname(chartFile), { recursive: true });
      writeFileSync(chartFile, renderThrottleChart(adaptive, baseline, options));
      console.log(`wrote ${path.relative(process.cwd(), chartFile)}`);
    }
  }
  const pick = (f: ThrottleFigures) => ({
    goodputRatio: f.goodputRatio,
    throttledFraction: f.throttledFraction,
    lost: f.lost,
    duplicatePartnerReferrals: f.duplicatePartnerReferrals,
    duplicateMicrosoftReferrals: f.duplicateMicrosoftReferrals,
    tokenRedemptions: f.tokenRedemptions,
  });
  const sideBySide: Record<string, Record<string, ReturnType<typeof pick>>> = {};
  for (const { figures: f } of results) {
    const key = `instances=${f.instances}`;
    const column =
      (f.mode === 'fixed'
        ? 'fixed'
        : f.instances > 1
          ? `adaptive-share-${f.shareThrottle ? 'on' : 'off'}`
          : 'adaptive') + (f.rateSharing ? '-rate-table' : '');
    (sideBySide[key] ??= {})[column] = pick(f);
  }
  console.log(
    JSON.stringify({
      benchmark: 'throttle',
      limitRps: options.limitRps,
      referrals: options.referrals,
      latencyMs: options.latencyMs,
      concurrency: options.concurrency,
      clientConcurrency: options.clientConcurrency,
      intake: options.intake,
      sideBySide,
      ...(chartFile ? { chart: path.relative(repoRoot(), chartFile) } : {}),
      runs: results.map((r) => r.figures),
    }),
  );
}

if (require.main === module) runBenchmark(main);
