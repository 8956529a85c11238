/**
 * Benchmark: the whole pipeline on loopback.
 *
 * N referrals (half CoSell, the rest PartnerLed and Private, interleaved) are POSTed to the local host
 * by `--client-concurrency` lanes (default 64) while the Partner Center simulator answers every call
 * after `--latency-ms` L; the app runs with PARTNER_CENTER_CONCURRENCY = `--concurrency` C. The run
 * ends when every record is final (bounded by `--timeout-seconds`). The app's table traffic goes
 * through a counting proxy; the host's CPU and peak memory are read from /proc.
 *
 * A warm-up of `--warmup` referrals (default 200, same mix, no latency) runs first: service
 * construction, the first access token, the first table writes, and the JIT compiler's first pass over
 * every code path, so the per-referral figures describe a running instance (the warm-up's own CPU is
 * printed too). Key Vault reads and token redemptions are the stand-ins' totals for the whole run,
 * warm-up included.
 *
 * Prints the figures as one JSON object on the last line:
 * `npm run bench:pipeline -- --referrals 1000 --latency-ms 50 --concurrency 16`
 * `--chart` instead runs a small grid (N = 200, C × L) and writes docs/figures/pipeline.svg.
 * `--set NAME=VALUE` (repeatable) adds an app setting for an experiment, e.g. `--set LOG_LEVEL=warn`, or
 * Node.js options of the app: `--set languageWorkers__node__arguments=--max-old-space-size=128`.
 * `--node PATH` runs the host and the app on another Node.js binary (infra/ deploys Node.js 22).
 * `--cpu-prof-dir DIR` profiles the host child (bench/lib/cpuProfilePreload.ts): `host-<pid>-1.cpuprofile` is the
 * measured run alone, `-0` what came before it, `-2` what came after (written when the host stops).
 * `--azurite-cpu-prof-dir DIR` profiles Azurite (one `.cpuprofile` of its whole life); `--table-log FILE`
 * appends every table request the counting proxy sees (`<epoch ms> <method> <path?query>`): together they
 * show which storage calls the app makes when, and what they cost the emulator.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseOptions, runBenchmark } from './lib/args';
import { HttpClient, mapWithConcurrency, sleep } from './lib/httpClient';
import { ProcessMeter } from './lib/proc';
import { dealMix, repoRoot, uniqueDeal } from './lib/repo';
import { BENCH_HOST_JSON, projectHostJson, startBenchSandbox } from './lib/sandboxRun';
import { FINAL_STATES, readAllRecords } from './lib/inspect';
import { percentile, round, sumNested, sumValues } from './lib/stats';
import { renderGroupedBarsSvg } from './lib/svgChart';

/** Options of {@link runPipeline}. */
export interface PipelineOptions {
  referrals: number;
  latencyMs: number;
  /** PARTNER_CENTER_CONCURRENCY of the app. */
  concurrency: number;
  /** POSTs in flight. @default 64 */
  clientConcurrency?: number;
  /**
   * Referrals sent first, with no latency, and left out of the figures (the same mix): services built,
   * first token, and the JIT compiler warmed, so the figures describe a running instance. With 1, the
   * measured referrals still pay for compiling the code paths (≈ 1 ms more CPU per referral at N = 1000).
   * @default 200
   */
  warmupReferrals?: number;
  /** @default 300000 */
  timeoutMs?: number;
  /** Write a CPU profile of the host child into this folder. */
  cpuProfileDir?: string;
  /** Write a CPU profile of Azurite into this folder. */
  azuriteCpuProfileDir?: string;
  /** Append every table request to this file. */
  tableLogPath?: string;
  /** Run tag (unique deal names across runs). @default Date.now() */
  tag?: string;
  /** More app settings (experiments: `LOG_LEVEL=warn`...). */
  appSettings?: Record<string, string>;
  /**
   * Queue polling of the host: `project` (the repository's host.json, as deployed: an idle queue is
   * polled at most every 2 s) or `fast` (every 100 ms; only matters with `LINK_MODE=queue`). An idle
   * host polling three queues every 100 ms costs ≈ 90–130 ms of CPU per second on this machine, against
   * ≈ 12 ms with the project's host.json. @default 'project'
   */
  queuePolling?: 'project' | 'fast';
  /** Node.js binary of the host and the app (e.g. the major infra/ deploys). @default this process's own */
  nodeBinary?: string;
}

/** The figures printed on the last line. */
export interface PipelineFigures {
  benchmark: 'pipeline';
  referrals: number;
  coSell: number;
  latencyMs: number;
  concurrency: number;
  clientConcurrency: number;
  /** The host's queue polling (see {@link PipelineOptions.queuePolling}) and the app's LINK_MODE. */
  queuePolling: 'project' | 'fast';
  linkMode: string;
  /** Node.js version the app ran on (`--node`). */
  appNodeVersion: string;
  /** First POST to the last record turning Linked or Completed. */
  wallSeconds: number;
  /** partnerCenterCalls × L / C / 1000: the time the calls need at C in flight. */
  boundSeconds: number;
  /** boundSeconds / wallSeconds (target ≥ 0.8 at N = 1000, L = 50, C = 16). */
  efficiency: number;
  /** Calls the app made to the simulator during the run (its stats; inspection is in-process). */
  partnerCenterCalls: number;
  /** 1 per Private or PartnerLed, 2 per CoSell. */
  expectedPartnerCenterCalls: number;
  partnerCenterCallsByOperation: Record<string, Record<string, number>>;
  /** Key Vault secret reads over the whole run (target ≤ 2). */
  keyVaultReads: number;
  keyVaultReadsBySecret: Record<string, number>;
  keyVaultWrites: number;
  /** Refresh-token redemptions at the Entra stand-in over the whole run (target 1). */
  tokenRedemptions: number;
  /** Client-credentials redemptions (the app's identity, for Key Vault). */
  identityTokenRedemptions: number;
  /** Table requests the app made during the run (through the counting proxy). */
  tableOperations: number;
  tableOperationsPerReferral: number;
  tableOperationsByMethod: Record<string, number>;
  /** Host child CPU (user + system) during the run / N (target ≤ 3). */
  cpuMsPerReferral: number;
  /** The kernel-mode share of the host's CPU (system calls: loopback TCP, the stdout pipe). */
  cpuSystemShare: number;
  /** Referrals of the warm-up (see {@link PipelineOptions.warmupReferrals}). */
  warmupReferrals: number;
  /** Host CPU of the whole warm-up (cold services, first token, code compiled on first use). */
  warmupCpuMs: number;
  /** warmupCpuMs / warmupReferrals: what a referral costs an instance that has just started. */
  warmupCpuMsPerReferral: number;
  /**
   * Host CPU per request when the same N bodies are POSTed to /api/referrals/validate after the run (no
   * storage, no Partner Center): the inbound HTTP, the `@azure/functions` request and response objects,
   * JSON parsing and validation. The part of `cpuMsPerReferral` no storage or Partner Center change can cut.
   */
  validateOnlyCpuMsPerRequest: number;
  /** CPU of the other processes on the same cores during the run, for context: Azurite, and this process (client, simulator, stand-ins, table proxy). */
  otherCpuMs: { azurite: number; benchProcess: number };
  /** Seconds from the first POST: the last POST answered, the last partner and the last Microsoft referral created. */
  phases: { postsAnsweredSeconds: number; lastPartnerReferralSeconds: number; lastMicrosoftReferralSeconds: number };
  /** POST latency percentiles. */
  p50Ms: number;
  p99Ms: number;
  /** VmHWM of the host child (target ≤ 200). */
  peakRssMiB: number;
  statuses: Record<string, number>;
  finalStates: Record<string, number>;
  notFinal: number;
  /** 1-minute load average when the run started (other work on the machine skews every figure). */
  loadAverageAtStart: number;
}

/** Runs one pipeline benchmark and returns its figures. */
export async function runPipeline(options: PipelineOptions): Promise<PipelineFigures> {
  const clientConcurrency = options.clientConcurrency ?? 64;
  const tag = options.tag ?? String(Date.now());
  const appSettings: Record<string, string> = {
    ...options.appSettings,
    PARTNER_CENTER_CONCURRENCY: String(options.concurrency),
  };
  if (options.cpuProfileDir) {
    mkdirSync(options.cpuProfileDir, { recursive: true });
    // `--cpu-prof` is refused in NODE_OPTIONS: a preload starts the inspector's profiler instead.
    appSettings.NODE_OPTIONS = `--require ${path.join(__dirname, 'lib', 'cpuProfilePreload.js')}`;
    appSettings.BENCH_CPU_PROFILE_DIR = path.resolve(options.cpuProfileDir);
  }
  const loadAverageAtStart = round(loadavg()[0] ?? 0, 2);
  const queuePolling = options.queuePolling ?? 'project';
  const bench = await startBenchSandbox({
    countTableOperations: true,
    ...(options.tableLogPath ? { tableLogPath: options.tableLogPath } : {}),
    ...(options.azuriteCpuProfileDir ? { azuriteCpuProfileDir: options.azuriteCpuProfileDir } : {}),
    appSettings,
    hostJson: queuePolling === 'fast' ? BENCH_HOST_JSON : projectHostJson(),
    ...(options.nodeBinary ? { nodeBinary: options.nodeBinary } : {}),
  });
  const client = new HttpClient({ maxSockets: clientConcurrency });
  try {
    const { sandbox } = bench;
    const url = `${bench.functionsUrl()}/referrals`;
    const pid = bench.host().pid;

    // Warm-up: the same mix, no latency; the first one alone (services built, first token).
    const warmupReferrals = Math.max(1, options.warmupReferrals ?? 200);
    const warmupMeter = new ProcessMeter({ pid });
    warmupMeter.start();
    const warmupTypes = dealMix(warmupReferrals);
    const first = await client.request(url, { body: uniqueDeal(warmupTypes[0], `${tag}-warmup-0`) });
    if (first.status !== 201 && first.status !== 202)
      throw new Error(`The first warm-up referral answered ${first.status}: ${first.text.slice(0, 500)}`);
    const warmupAnswers = await mapWithConcurrency(warmupTypes.slice(1), clientConcurrency, (type, i) =>
      client.request(url, { body: uniqueDeal(type, `${tag}-warmup-${i + 1}`) }),
    );
    const warmupPartnerCenterCalls = warmupReferrals + warmupTypes.filter((t) => t === 'CoSell').length;
    const warmupDeadline = Date.now() + (options.timeoutMs ?? 300_000);
    while (Date.now() < warmupDeadline && sandbox.partnerCenter.referrals().length < warmupPartnerCenterCalls)
      await sleep(50);
    const refused = warmupAnswers.filter((a) => a.status !== 201 && a.status !== 202);
    if (refused.length > 0)
      throw new Error(`${refused.length} warm-up referrals were refused (e.g. ${refused[0].status})`);
    const warmupCpuMs = warmupMeter.stop().cpuMs;

    sandbox.partnerCenter.setFaults({ latency: options.latencyMs });
    const callsBefore = sandbox.partnerCenter.stats().calls;
    bench.tableProxy!.reset();
    const types = dealMix(options.referrals);
    const bodies = types.map((type, i) => uniqueDeal(type, `${tag}-${i}`));
    const meter = new ProcessMeter({ pid });
    const azuriteMeter = new ProcessMeter({ pid: sandbox.azurite.pid });
    const ownCpuBefore = process.cpuUsage();
    meter.start();
    azuriteMeter.start();
    // A profiled host starts a new profile segment here and at the end of the measured run.
    if (options.cpuProfileDir) process.kill(pid, 'SIGUSR2');
    const firstPostAtMs = Date.now();
    const answers = await mapWithConcurrency(bodies, clientConcurrency, (body) => client.request(url, { body }));
    const postsAnsweredAtMs = Date.now();
    const trackingIds = answers.map((a) =>
      typeof a.json?.trackingId === 'string' ? (a.json.trackingId as string) : undefined,
    );
    const coSell = types.filter((t) => t === 'CoSell').length;
    const expectedPartnerCenterCalls = options.referrals + coSell;

    // Wait: first for the simulator to hold every referral (in-process, no app call), then for every
    // record to be final (read from the table directly, not through the proxy).
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    while (
      Date.now() < deadline &&
      sandbox.partnerCenter.referrals().length < warmupPartnerCenterCalls + expectedPartnerCenterCalls
    ) {
      await sleep(50);
    }
    let records = await readAllRecords(sandbox);
    const ids = trackingIds.filter((id): id is string => id !== undefined);
    const pending = () => ids.filter((id) => !FINAL_STATES.has(records.get(id)?.state ?? ''));
    while (pending().length > 0 && Date.now() < deadline) {
      await sleep(250);
      records = await readAllRecords(sandbox);
    }
    const usage = meter.stop();
    const azuriteUsage = azuriteMeter.stop();
    if (options.cpuProfileDir) process.kill(pid, 'SIGUSR2');
    const ownCpu = process.cpuUsage(ownCpuBefore);
    const validateMeter = new ProcessMeter({ pid });
    validateMeter.start();
    await mapWithConcurrency(bodies, clientConcurrency, (body) => client.request(`${url}/validate`, { body }));
    const validateOnlyCpuMsPerRequest = round(validateMeter.stop().cpuMs / options.referrals, 2);
    const tableCounts = bench.tableProxy!.counts();
    const pcStats = sandbox.partnerCenter.stats();
    const kvStats = sandbox.keyVault.stats();
    const entraStats = sandbox.entra.stats();

    const calls = diffNested(pcStats.calls, callsBefore);
    const partnerCenterCalls = sumNested(calls);
    const lastFinalAtMs = Math.max(...ids.map((id) => records.get(id)?.updatedAtEpochMs ?? 0));
    const wallSeconds = (lastFinalAtMs - firstPostAtMs) / 1000;
    const boundSeconds = (partnerCenterCalls * options.latencyMs) / options.concurrency / 1000;
    const statuses: Record<string, number> = {};
    for (const a of answers) statuses[String(a.status)] = (statuses[String(a.status)] ?? 0) + 1;
    const finalStates: Record<string, number> = {};
    for (const id of ids) {
      const state = records.get(id)?.state ?? 'missing';
      finalStates[state] = (finalStates[state] ?? 0) + 1;
    }
    const latencies = answers.map((a) => a.durationMs);
    const createdAt = (microsoft: boolean) =>
      Math.max(
        0,
        ...sandbox.partnerCenter
          .referrals()
          .filter((r) => (r.organizationId === 'msft') === microsoft)
          .map((r) => Date.parse(r.createdDateTime)),
      );
    const sinceFirstPost = (atMs: number) => round((atMs - firstPostAtMs) / 1000, 3);
    return {
      benchmark: 'pipeline',
      referrals: options.referrals,
      coSell,
      latencyMs: options.latencyMs,
      concurrency: options.concurrency,
      clientConcurrency,
      queuePolling,
      linkMode: appSettings.LINK_MODE ?? 'inline',
      appNodeVersion: options.nodeBinary
        ? execFileSync(options.nodeBinary, ['--version'], { encoding: 'utf8' }).trim()
        : process.version,
      wallSeconds: round(wallSeconds, 3),
      boundSeconds: round(boundSeconds, 3),
      efficiency: round(boundSeconds / wallSeconds, 3),
      partnerCenterCalls,
      expectedPartnerCenterCalls,
      partnerCenterCallsByOperation: calls,
      keyVaultReads: sumValues(kvStats.reads),
      keyVaultReadsBySecret: kvStats.reads,
      keyVaultWrites: sumValues(kvStats.writes),
      tokenRedemptions: entraStats.redemptions.refresh_token ?? 0,
      identityTokenRedemptions: entraStats.redemptions.client_credentials ?? 0,
      tableOperations: tableCounts.total,
      tableOperationsPerReferral: round(tableCounts.total / options.referrals, 2),
      tableOperationsByMethod: tableCounts.byMethod,
      cpuMsPerReferral: round(usage.cpuMs / options.referrals, 2),
      cpuSystemShare: round(usage.systemMs / Math.max(1, usage.cpuMs), 2),
      warmupReferrals,
      warmupCpuMs: round(warmupCpuMs, 0),
      warmupCpuMsPerReferral: round(warmupCpuMs / warmupReferrals, 2),
      validateOnlyCpuMsPerRequest,
      otherCpuMs: {
        azurite: round(azuriteUsage.cpuMs, 0),
        benchProcess: round((ownCpu.user + ownCpu.system) / 1000, 0),
      },
      phases: {
        postsAnsweredSeconds: sinceFirstPost(postsAnsweredAtMs),
        lastPartnerReferralSeconds: sinceFirstPost(createdAt(false)),
        lastMicrosoftReferralSeconds: sinceFirstPost(createdAt(true)),
      },
      p50Ms: round(percentile(latencies, 50), 1),
      p99Ms: round(percentile(latencies, 99), 1),
      peakRssMiB: round(usage.peakRssMiB, 1),
      statuses,
      finalStates,
      notFinal: pending().length,
      loadAverageAtStart,
    };
  } finally {
    client.close();
    await bench.stop();
  }
}

/** `after - before` of two-level call counters. */
function diffNested(
  after: Record<string, Record<string, number>>,
  before: Record<string, Record<string, number>>,
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [operation, byStatus] of Object.entries(after)) {
    for (const [status, n] of Object.entries(byStatus)) {
      const delta = n - (before[operation]?.[status] ?? 0);
      if (delta > 0) (out[operation] ??= {})[status] = delta;
    }
  }
  return out;
}

/** The grid of `--chart`: N = 200 for each (C, L), plus one run at L = 0 (the CPU floor). */
export const CHART_GRID = { referrals: 200, concurrencies: [4, 8, 16], latenciesMs: [25, 50, 100] } as const;

/** One point of the chart. */
export type ChartPoint = Pick<
  PipelineFigures,
  'concurrency' | 'latencyMs' | 'wallSeconds' | 'boundSeconds' | 'efficiency' | 'cpuMsPerReferral'
>;

/** Runs the chart grid, writes docs/figures/pipeline.svg, and returns the points and the floor. */
export async function runChart(
  options: { clientConcurrency?: number; outFile?: string } = {},
): Promise<{ file: string; floorSeconds: number; points: ChartPoint[] }> {
  const pick = (f: PipelineFigures): ChartPoint => ({
    concurrency: f.concurrency,
    latencyMs: f.latencyMs,
    wallSeconds: f.wallSeconds,
    boundSeconds: f.boundSeconds,
    efficiency: f.efficiency,
    cpuMsPerReferral: f.cpuMsPerReferral,
  });
  const floor = await runPipeline({
    referrals: CHART_GRID.referrals,
    latencyMs: 0,
    concurrency: 16,
    clientConcurrency: options.clientConcurrency,
  });
  console.log(`floor (L=0): wall ${floor.wallSeconds} s`);
  const points: ChartPoint[] = [];
  for (const concurrency of CHART_GRID.concurrencies) {
    for (const latencyMs of CHART_GRID.latenciesMs) {
      const figures = pick(
        await runPipeline({
          referrals: CHART_GRID.referrals,
          latencyMs,
          concurrency,
          clientConcurrency: options.clientConcurrency,
        }),
      );
      points.push(figures);
      console.log(
        `C=${concurrency} L=${latencyMs} ms: wall ${figures.wallSeconds} s, bound ${figures.boundSeconds} s, efficiency ${figures.efficiency}`,
      );
    }
  }
  const svg = renderGroupedBarsSvg({
    title: 'Pipeline: wall time against the Partner Center bound',
    subtitle: `N = ${CHART_GRID.referrals} referrals (half CoSell) through the local host; simulator latency L, PARTNER_CENTER_CONCURRENCY C; 2 cores, loopback`,
    yLabel: 'seconds',
    series: [
      { name: 'bound = Partner Center calls × L / C', color: '#9aa5b1' },
      { name: 'wall = first POST to last final record', color: '#1f77b4' },
    ],
    groups: points.map((p) => ({
      label: `C=${p.concurrency}\nL=${p.latencyMs} ms`,
      values: [p.boundSeconds, p.wallSeconds],
      note: `${Math.round(p.efficiency * 100)}%`,
    })),
    reference: { value: floor.wallSeconds, label: `CPU floor: wall at L = 0 (${floor.wallSeconds} s)` },
  });
  const file = options.outFile ?? path.join(repoRoot(), 'docs', 'figures', 'pipeline.svg');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, svg);
  return { file, floorSeconds: floor.wallSeconds, points };
}

function parseQueuePolling(value: string): 'project' | 'fast' {
  if (value !== 'project' && value !== 'fast') throw new Error(`--queue-polling takes project or fast (got ${value})`);
  return value;
}

async function main(): Promise<void> {
  const options = parseOptions({
    referrals: { kind: 'number', default: 1000, min: 1 },
    'latency-ms': { kind: 'number', default: 50, min: 0 },
    concurrency: { kind: 'number', default: 16, min: 1 },
    'client-concurrency': { kind: 'number', default: 64, min: 1 },
    'timeout-seconds': { kind: 'number', default: 300, min: 1 },
    'cpu-prof-dir': { kind: 'string', default: '' },
    'azurite-cpu-prof-dir': { kind: 'string', default: '' },
    'table-log': { kind: 'string', default: '' },
    /** Referrals sent (no latency) before the measured ones. */
    warmup: { kind: 'number', default: 200, min: 1 },
    /** `project` (the repository's host.json) or `fast` (idle queues polled every 100 ms). */
    'queue-polling': { kind: 'string', default: 'project' },
    chart: { kind: 'boolean' },
    /** `--set NAME=VALUE`, repeatable: an app setting for an experiment. */
    set: { kind: 'strings' },
    /** Node.js binary of the host and the app (default: the one running the bench). */
    node: { kind: 'string', default: '' },
  });
  const extraSettings = Object.fromEntries(
    options.set.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`--set takes NAME=VALUE (got ${pair})`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  if (options.chart) {
    const chart = await runChart({ clientConcurrency: options['client-concurrency'] });
    console.log(`wrote ${path.relative(process.cwd(), chart.file)}`);
    console.log(
      JSON.stringify({
        benchmark: 'pipeline-chart',
        referrals: CHART_GRID.referrals,
        file: path.relative(repoRoot(), chart.file),
        floorSeconds: chart.floorSeconds,
        points: chart.points,
      }),
    );
    return;
  }
  const appMajor = Number(
    (options.node ? execFileSync(options.node, ['--version'], { encoding: 'utf8' }) : process.version)
      .replace(/^v/, '')
      .split('.')[0],
  );
  // npm scripts put node_modules/.bin (the `node` devDependency, Node 22) first on PATH: the host child
  // runs on process.execPath, so `npm run bench:pipeline` measures the runtime infra/ deploys.
  if (appMajor !== 22)
    console.warn(
      `warning: the app runs on Node ${appMajor}; infra/ deploys Node 22 (run it through npm, or pass --node)`,
    );
  const figures = await runPipeline({
    referrals: options.referrals,
    latencyMs: options['latency-ms'],
    concurrency: options.concurrency,
    clientConcurrency: options['client-concurrency'],
    timeoutMs: options['timeout-seconds'] * 1000,
    appSettings: extraSettings,
    warmupReferrals: options.warmup,
    queuePolling: parseQueuePolling(options['queue-polling']),
    ...(options.node ? { nodeBinary: options.node } : {}),
    ...(options['cpu-prof-dir'] ? { cpuProfileDir: options['cpu-prof-dir'] } : {}),
    ...(options['azurite-cpu-prof-dir'] ? { azuriteCpuProfileDir: options['azurite-cpu-prof-dir'] } : {}),
    ...(options['table-log'] ? { tableLogPath: path.resolve(options['table-log']) } : {}),
  });
  console.log(
    `${figures.referrals} referrals in ${figures.wallSeconds} s (bound ${figures.boundSeconds} s, efficiency ${figures.efficiency}); ` +
      `${figures.partnerCenterCalls}/${figures.expectedPartnerCenterCalls} Partner Center calls; ${figures.cpuMsPerReferral} ms CPU per referral; peak RSS ${figures.peakRssMiB} MiB`,
  );
  console.log(JSON.stringify(figures));
}

if (require.main === module) runBenchmark(main);
