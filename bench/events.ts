/**
 * Benchmark: from a change in Partner Center to its CloudEvent on `referral-events`.
 *
 * `npm run bench:events -- --changes 500 [--deals 50] [--rate 100] [--faults drop=0.3,duplicate=0.3,reorder]`
 *
 * 1. Starts the sandbox with the app's events URL registered (bench/lib/sandboxRun.ts).
 * 2. Creates `--deals` deals through the app (half CoSell, half Private) and waits until each is final;
 *    the CloudEvents of these creates are drained and left out.
 * 3. Sets the simulator's `events` faults (`--faults`: `drop=0.3`, `duplicate=0.3`, `reorder`,
 *    `delayMs=500`, `forge=0.1`), then makes `--changes` changes at `--rate` a second, round-robin over
 *    the deals, one at a time per deal: the first change of a CoSell deal is Microsoft's decision
 *    (`POST /_sandbox/referrals/{microsoftReferralId}/microsoft-decision`, related-referral-updated), the
 *    others a person's edit in the Partner Center UI (`POST /_sandbox/referrals/{id}/edit` of
 *    `/details/dealValue`, referral-updated). Each change's time is taken just before the call.
 * 4. Meanwhile reads `referral-events` (@azure/storage-queue, receive + delete), expecting CloudEvents
 *    1.0: `specversion`, `id` (stable per change), `type`, `subject` = trackingId, `time`, `data` = the
 *    tracking view.
 *
 * Matching (the publisher's shape, shared/sync/cloudEvents.ts): `data` is the tracking view. A
 * `referral.microsoft.*` CloudEvent covers the deal's Microsoft decision (`data.microsoft.decidedAt` is the
 * Microsoft referral's `updatedDateTime`); any other type covers every edit of its `subject` whose
 * simulator `updatedDateTime` is at or before `data.partnerReferral.updatedDateTime` (a later snapshot
 * supersedes earlier changes: the sync step applies the newest state, so intermediate changes may rightly
 * get no CloudEvent of their own). Edits change `/details/dealValue` (a `referral.deal.changed`: notes are
 * not a change the bridge publishes). Lag = arrival of the first covering CloudEvent − change time.
 * `lost` = changes never covered within `--wait-seconds` after the last change; `duplicates` =
 * CloudEvents whose `id` was already seen.
 *
 * Also printed: the edge stage, change → the app's 200 to the signed delivery (the event is then on
 * `referral-sync`), from the simulator's delivery log. Figures go out as one JSON line; when no
 * CloudEvent arrived at all the bench says so and exits 1 (the consumer and publisher may not be there).
 */
import { QueueClient } from '@azure/storage-queue';
import { parseOptions, runBenchmark } from './lib/args';
import { HttpClient, mapWithConcurrency, sleep } from './lib/httpClient';
import { uniqueDeal, type DealType } from './lib/repo';
import { startBenchSandbox } from './lib/sandboxRun';
import { percentile, round } from './lib/stats';

/** The queue the CloudEvents publisher writes to. */
export const CLOUD_EVENTS_QUEUE = 'referral-events';

/** One change made in the simulator. */
interface Change {
  index: number;
  trackingId: string;
  referralId: string;
  kind: 'edit' | 'microsoft-decision';
  calledAtMs: number;
  /** The simulator's updatedDateTime of the changed referral, in ms (NaN when the answer had none). */
  updatedAtMs: number;
  status: number;
  coveredAtMs?: number;
}

/** One CloudEvent read from the queue. */
interface ReceivedCloudEvent {
  arrivedAtMs: number;
  id: string;
  subject: string;
  type: string;
  /** The version of the snapshot it carries, in ms (NaN when none): see {@link cloudEventVersionMs}. */
  versionMs: number;
}

/** A created deal and the referral ids its changes touch. */
interface Deal {
  trackingId: string;
  dealType: DealType;
  partnerReferralId: string;
  microsoftReferralId?: string;
  changes: number;
}

/** `drop=0.3,duplicate=0.3,reorder` → the simulator's `events` fault entry. */
export function parseEventFaults(text: string): Record<string, number | boolean> {
  const faults: Record<string, number | boolean> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, value] = part.split('=');
    if (!['drop', 'duplicate', 'reorder', 'delayMs', 'forge', 'delayProbability'].includes(name))
      throw new Error(`--faults: unknown fault '${name}' (drop, duplicate, reorder, delayMs, forge, delayProbability)`);
    if (value === undefined) faults[name] = true;
    else if (value === 'true' || value === 'false') faults[name] = value === 'true';
    else if (Number.isFinite(Number(value))) faults[name] = Number(value);
    else throw new Error(`--faults: '${part}' needs a number`);
  }
  return faults;
}

/** The kind of change a CloudEvent of `type` covers. */
export function changeKindOf(type: string): Change['kind'] {
  return type.startsWith('referral.microsoft.') ? 'microsoft-decision' : 'edit';
}

/**
 * The version a CloudEvent's `data` (the tracking view) carries, in ms: `microsoft.decidedAt` for
 * Microsoft's decisions, else `partnerReferral.updatedDateTime`; NaN when absent.
 */
export function cloudEventVersionMs(type: string, data: unknown): number {
  const view = (data && typeof data === 'object' ? data : {}) as {
    microsoft?: { decidedAt?: unknown };
    partnerReferral?: { updatedDateTime?: unknown };
  };
  const version =
    changeKindOf(type) === 'microsoft-decision' ? view.microsoft?.decidedAt : view.partnerReferral?.updatedDateTime;
  return typeof version === 'string' ? Date.parse(version) : Number.NaN;
}

/** A queue message's text as a CloudEvent 1.0 (plain JSON or base64 JSON), or undefined. */
export function parseCloudEvent(
  text: string,
): { id: string; subject: string; type: string; data: unknown } | undefined {
  const attempt = (raw: string): Record<string, unknown> | undefined => {
    try {
      const parsed = JSON.parse(raw) as unknown;
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const event = attempt(text) ?? attempt(Buffer.from(text, 'base64').toString('utf8'));
  if (
    !event ||
    event.specversion !== '1.0' ||
    typeof event.id !== 'string' ||
    typeof event.subject !== 'string' ||
    typeof event.type !== 'string'
  )
    return undefined;
  return { id: event.id, subject: event.subject, type: event.type, data: event.data };
}

/** Covers the changes of `event`'s subject (see the file comment); answers how many it covered. */
export function cover(event: ReceivedCloudEvent, changesBySubject: Map<string, Change[]>): number {
  const kind = changeKindOf(event.type);
  const changes = (changesBySubject.get(event.subject) ?? []).filter((c) => c.kind === kind);
  let covered = 0;
  if (Number.isFinite(event.versionMs)) {
    for (const change of changes)
      if (change.coveredAtMs === undefined && change.updatedAtMs <= event.versionMs) {
        change.coveredAtMs = event.arrivedAtMs;
        covered++;
      }
    return covered;
  }
  const oldest = changes.find((c) => c.coveredAtMs === undefined && c.calledAtMs <= event.arrivedAtMs);
  if (oldest) oldest.coveredAtMs = event.arrivedAtMs;
  return oldest ? 1 : 0;
}

async function main(): Promise<void> {
  const options = parseOptions({
    changes: { kind: 'number', default: 500, min: 1 },
    deals: { kind: 'number', default: 0, min: 0 },
    rate: { kind: 'number', default: 100, min: 0 },
    faults: { kind: 'string', default: '' },
    'wait-seconds': { kind: 'number', default: 30, min: 1 },
    seed: { kind: 'number', default: 1 },
    verbose: { kind: 'boolean' },
  });
  const faults = parseEventFaults(options.faults);
  const dealCount = options.deals > 0 ? options.deals : Math.min(50, Math.max(1, Math.ceil(options.changes / 10)));
  const bench = await startBenchSandbox({ registerEvents: true, seed: options.seed, verbose: options.verbose });
  const http = new HttpClient({ maxSockets: 32 });
  const { sandbox } = bench;
  const pcUrl = sandbox.partnerCenter.url;
  const queue = new QueueClient(sandbox.azurite.connectionString, CLOUD_EVENTS_QUEUE);
  const received: ReceivedCloudEvent[] = [];
  let malformed = 0;
  let reading = true;
  const reader = (async () => {
    await queue.createIfNotExists();
    while (reading) {
      const batch = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 }).catch(() => undefined);
      const items = batch?.receivedMessageItems ?? [];
      const arrivedAtMs = Date.now();
      for (const item of items) {
        const event = parseCloudEvent(item.messageText);
        if (event)
          received.push({
            arrivedAtMs,
            id: event.id,
            subject: event.subject,
            type: event.type,
            versionMs: cloudEventVersionMs(event.type, event.data),
          });
        else malformed++;
        await queue.deleteMessage(item.messageId, item.popReceipt).catch(() => undefined);
      }
      if (items.length === 0) await sleep(20);
    }
  })();

  try {
    // Deals, through the app, until final.
    const mix: DealType[] = Array.from({ length: dealCount }, (_, i) => (i % 2 === 0 ? 'CoSell' : 'Private'));
    const tag = `events-${Date.now()}`;
    const deals = await mapWithConcurrency(mix, 8, async (dealType, i): Promise<Deal> => {
      const created = await http.request(`${bench.functionsUrl()}/referrals`, {
        body: uniqueDeal(dealType, `${tag}-${i}`),
      });
      if (created.status !== 201 && created.status !== 202)
        throw new Error(`Creating deal ${i} answered ${created.status}: ${created.text.slice(0, 200)}`);
      let view = created.json as Record<string, any>;
      for (let tries = 0; !view.final && tries < 600; tries++) {
        await sleep(100);
        view = (await http.request(`${bench.functionsUrl()}/referrals/${String(view.trackingId)}`)).json;
      }
      if (!view.final || !view.partnerReferral?.id) throw new Error(`Deal ${i} did not finish (${String(view.state)})`);
      return {
        trackingId: String(view.trackingId),
        dealType,
        partnerReferralId: String(view.partnerReferral.id),
        ...(view.microsoftReferral?.id ? { microsoftReferralId: String(view.microsoftReferral.id) } : {}),
        changes: 0,
      };
    });
    // The creates' own events: let them settle and drain their CloudEvents (quiet for 1.5 s, at most 15 s).
    await sandbox.partnerCenter.eventsSettled();
    const drainUntil = Date.now() + 15_000;
    let lastCount = -1;
    let quietSince = Date.now();
    while (Date.now() < drainUntil && Date.now() - quietSince < 1_500) {
      if (received.length !== lastCount) {
        lastCount = received.length;
        quietSince = Date.now();
      }
      await sleep(100);
    }
    const setupCloudEvents = received.length;
    received.length = 0;
    const deliveriesBefore = sandbox.partnerCenter.deliveries().length;
    if (Object.keys(faults).length > 0) sandbox.partnerCenter.setFaults({ seed: options.seed, events: faults });

    // The changes: round-robin over the deals, one at a time per deal, at --rate a second.
    const changes: Change[] = [];
    const busy = new Map<string, Promise<void>>();
    const startedAtMs = Date.now();
    for (let index = 0; index < options.changes; index++) {
      if (options.rate > 0) {
        const dueMs = startedAtMs + (index * 1000) / options.rate;
        if (dueMs > Date.now()) await sleep(dueMs - Date.now());
      }
      const deal = deals[index % deals.length];
      const decision = deal.dealType === 'CoSell' && deal.microsoftReferralId !== undefined && deal.changes === 0;
      deal.changes++;
      const previous = busy.get(deal.trackingId) ?? Promise.resolve();
      const next = previous.then(async () => {
        const referralId = decision ? deal.microsoftReferralId! : deal.partnerReferralId;
        const calledAtMs = Date.now();
        const answer = decision
          ? await http.request(`${pcUrl}/_sandbox/referrals/${referralId}/microsoft-decision`, {
              body: { decision: 'Accepted' },
            })
          : await http.request(`${pcUrl}/_sandbox/referrals/${referralId}/edit`, {
              body: [{ op: 'add', path: '/details/dealValue', value: 10_000 + index }],
            });
        changes.push({
          index,
          trackingId: deal.trackingId,
          referralId,
          kind: decision ? 'microsoft-decision' : 'edit',
          calledAtMs,
          updatedAtMs: Date.parse(String(answer.json?.updatedDateTime ?? '')),
          status: answer.status,
        });
      });
      busy.set(deal.trackingId, next);
    }
    await Promise.all(busy.values());
    const lastChangeAtMs = Date.now();
    const made = changes.filter((c) => c.status === 200).sort((a, b) => a.calledAtMs - b.calledAtMs);
    const bySubject = new Map<string, Change[]>();
    for (const change of made) bySubject.set(change.trackingId, [...(bySubject.get(change.trackingId) ?? []), change]);

    // CloudEvents until every change is covered or --wait-seconds after the last change.
    const seenIds = new Set<string>();
    let duplicates = 0;
    let processed = 0;
    let unmatched = 0;
    const settle = () => {
      for (; processed < received.length; processed++) {
        const event = received[processed];
        if (seenIds.has(event.id)) {
          duplicates++;
          continue;
        }
        seenIds.add(event.id);
        if (cover(event, bySubject) === 0) unmatched++;
      }
    };
    const waitUntil = lastChangeAtMs + options['wait-seconds'] * 1000;
    while (Date.now() < waitUntil) {
      settle();
      if (made.every((c) => c.coveredAtMs !== undefined)) break;
      await sleep(50);
    }
    await sleep(1_000); // late duplicates
    settle();
    reading = false;
    await reader;

    const lags = made.filter((c) => c.coveredAtMs !== undefined).map((c) => c.coveredAtMs! - c.calledAtMs);
    const referralIds = new Set(made.map((c) => c.referralId));
    const deliveries = sandbox.partnerCenter
      .deliveries()
      .slice(deliveriesBefore)
      .filter((d) => referralIds.has(d.event.ResourceUri.split('/').pop() ?? ''));
    const edgeLags: number[] = [];
    for (const change of made) {
      const first = deliveries
        .filter((d) => d.event.ResourceUri.endsWith(`/${change.referralId}`))
        .filter((d) => Date.parse(d.event.ResourceChangeUtcDate) === change.updatedAtMs)
        .flatMap((d) => d.attempts.filter((a) => a.responseCode === 200).map((a) => Date.parse(a.dateTimeUtc)))
        .sort((a, b) => a - b)[0];
      if (first !== undefined) edgeLags.push(first - change.calledAtMs);
    }
    const counts = sandbox.partnerCenter.stats().events;
    const figures = {
      benchmark: 'events',
      changes: made.length,
      changesRefused: changes.length - made.length,
      deals: deals.length,
      ratePerSecond: options.rate,
      faults,
      cloudEvents: received.length,
      p50LagMs: lags.length > 0 ? round(percentile(lags, 50), 0) : null,
      p95LagMs: lags.length > 0 ? round(percentile(lags, 95), 0) : null,
      maxLagMs: lags.length > 0 ? round(Math.max(...lags), 0) : null,
      lost: made.length - lags.length,
      duplicates,
      unmatchedCloudEvents: unmatched,
      malformedMessages: malformed,
      setupCloudEvents,
      edge: {
        deliveries: deliveries.length,
        verified200: deliveries.filter((d) => d.status === 'delivered').length,
        lostByFault: deliveries.filter((d) => d.status === 'lost').length,
        duplicatedByFault: deliveries.filter((d) => d.duplicate).length,
        changesAnswered200: edgeLags.length,
        p50LagMs: edgeLags.length > 0 ? round(percentile(edgeLags, 50), 0) : null,
        p95LagMs: edgeLags.length > 0 ? round(percentile(edgeLags, 95), 0) : null,
      },
      simulatorEvents: { delivered: counts.delivered, lost: counts.lost, dropped: counts.dropped },
    };
    console.log(JSON.stringify(figures));
    if (received.length === 0) {
      console.error(
        `No CloudEvent arrived on '${CLOUD_EVENTS_QUEUE}' within ${options['wait-seconds']} s after the last change ` +
          `(${edgeLags.length} of ${made.length} changes reached the app's edge and were queued on referral-sync). ` +
          'The referral-sync consumer and the CloudEvents publisher (shared/sync) must be in the build for this bench to measure.',
      );
      throw new Error('no CloudEvent arrived');
    }
  } finally {
    reading = false;
    await reader.catch(() => undefined);
    http.close();
    await bench.stop();
  }
}

if (require.main === module) runBenchmark(main);
