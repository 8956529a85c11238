/**
 * The bridge's own metrics, through `@opentelemetry/api` (meter `cosell-referral-bridge`).
 *
 * Without an SDK every call is a no-op that does not even load `@opentelemetry/api`. With one (started
 * by shared/platform/telemetry.ts, or a test's in-memory provider) the instruments are created on
 * first use and again whenever the global meter provider changes. In Application Insights they land in
 * `customMetrics`, with the attributes in `customDimensions` (docs/observability.md).
 */
import type { Counter, Gauge, Histogram, Meter, ObservableGauge } from '@opentelemetry/api';
import { isRegistered } from './telemetry';
import { lazyModule } from './lazy';
import type * as OpenTelemetryApiModule from '@opentelemetry/api';

const openTelemetryApi = lazyModule<typeof OpenTelemetryApiModule>(require, '@opentelemetry/api');

/** The meter every instrument here belongs to. */
export const METER_NAME = 'cosell-referral-bridge';

/** Instrument names, as they appear in `customMetrics.name`. */
export const MetricName = {
  transitions: 'referrals.transitions',
  partnerCenterCalls: 'partner_center.calls',
  partnerCenterDuration: 'partner_center.duration_ms',
  tokenRedemptions: 'tokens.redemptions',
  poisonMessages: 'queue.poison_messages',
  eventDeliveries: 'events.deliveries',
  eventsRegistrationDrift: 'events.registration_drift',
  eventsLastEventAge: 'events.last_event_age_seconds',
  partnerCenterConcurrencyLimit: 'partner_center.concurrency_limit',
  partnerCenterRateLimit: 'partner_center.rate_limit_per_second',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** Outcome of one refresh-token redemption at the Entra token endpoint. */
export const RedemptionOutcome = { Success: 'success', Failure: 'failure' } as const;
export type RedemptionOutcome = (typeof RedemptionOutcome)[keyof typeof RedemptionOutcome];

/** The Partner Center operations the client makes (the `operation` attribute). */
export const PartnerCenterOperation = {
  CreateReferral: 'createReferral',
  GetReferral: 'getReferral',
  ListReferrals: 'listReferrals',
} as const;
export type PartnerCenterOperation = (typeof PartnerCenterOperation)[keyof typeof PartnerCenterOperation];

interface Instruments {
  provider: unknown;
  transitions: Counter;
  partnerCenterCalls: Counter;
  partnerCenterDuration: Histogram;
  tokenRedemptions: Counter;
  poisonMessages: Counter;
  eventDeliveries: Counter;
  eventsRegistrationDrift: Gauge;
  eventsLastEventAge: Gauge;
  partnerCenterConcurrencyLimit: ObservableGauge;
  partnerCenterRateLimit: ObservableGauge;
}

let instruments: Instruments | undefined;

/** The adaptive Partner Center limits of this instance, as {@link observePartnerCenterLimits} reads them. */
export interface PartnerCenterLimits {
  /** Calls allowed in flight now. */
  concurrencyLimit: number;
  /** Paced call starts per second; null while unpaced. */
  ratePerSecond: number | null;
}

let partnerCenterLimits: (() => PartnerCenterLimits) | undefined;

/**
 * Reports `read()` as the gauges `partner_center.concurrency_limit` and `partner_center.rate_limit_per_second`
 * (the latter only while calls are paced), read at each metric export. One source per process: the last wins.
 */
export function observePartnerCenterLimits(read: () => PartnerCenterLimits): void {
  partnerCenterLimits = read;
}

/** Counts a tracking record entering `state` (`referrals.transitions` {state, dealType}). */
export function recordTransition(state: string, dealType: string): void {
  current()?.transitions.add(1, { state, dealType });
}

/**
 * Counts one Partner Center HTTP attempt and its duration (`partner_center.calls` {operation, status}
 * and `partner_center.duration_ms` {operation, status}). `status` is the HTTP status (`"201"`,
 * `"429"`), or `"timeout"` / `"network"` when no answer came.
 */
export function recordPartnerCenterCall(operation: string, status: string | number, durationMs: number): void {
  const found = current();
  if (!found) return;
  const attributes = { operation, status: String(status) };
  found.partnerCenterCalls.add(1, attributes);
  if (Number.isFinite(durationMs) && durationMs >= 0) found.partnerCenterDuration.record(durationMs, attributes);
}

/** Counts one refresh-token redemption (`tokens.redemptions` {outcome}). */
export function recordRedemption(outcome: RedemptionOutcome = RedemptionOutcome.Success): void {
  current()?.tokenRedemptions.add(1, { outcome });
}

/** Counts a message that exhausted its tries on `queue` and goes to `<queue>-poison` (`queue.poison_messages` {queue}). */
export function recordPoison(queue: string): void {
  current()?.poisonMessages.add(1, { queue });
}

/** Counts one Partner Center event delivery by the edge's outcome (`events.deliveries` {outcome}). */
export function recordEventDelivery(outcome: string): void {
  current()?.eventDeliveries.add(1, { outcome });
}

/**
 * Records one Webhook API registration check (`events.registration_drift` {state}: 1 when another URL,
 * no registration or missing events, else 0; state `unchecked` when the check failed).
 */
export function recordRegistrationCheck(state: string, drift: boolean): void {
  current()?.eventsRegistrationDrift.record(drift ? 1 : 0, { state });
}

/** Records the age of the last authentic event delivery, at each health call (`events.last_event_age_seconds`). */
export function recordLastEventAge(ageSeconds: number): void {
  if (Number.isFinite(ageSeconds) && ageSeconds >= 0) current()?.eventsLastEventAge.record(ageSeconds);
}

/** The operation name of a Partner Center call from its method and path (for {@link recordPartnerCenterCall}). */
export function partnerCenterOperation(method: string, path: string): PartnerCenterOperation {
  if (method.toUpperCase() === 'POST') return PartnerCenterOperation.CreateReferral;
  const pathOnly = path.split('?')[0].replace(/\/+$/, '');
  return /\/referrals\/[^/]+$/.test(pathOnly)
    ? PartnerCenterOperation.GetReferral
    : PartnerCenterOperation.ListReferrals;
}

/** The instruments of the current global meter provider, or undefined when none is registered. */
function current(): Instruments | undefined {
  if (!isRegistered('metrics')) return undefined;
  const api = openTelemetryApi();
  const provider = api.metrics.getMeterProvider();
  if (instruments?.provider !== provider) instruments = create(provider, api.metrics.getMeter(METER_NAME));
  return instruments;
}

function create(provider: unknown, meter: Meter): Instruments {
  return {
    provider,
    transitions: meter.createCounter(MetricName.transitions, {
      description: 'Tracking records entering a state',
      unit: '{transition}',
    }),
    partnerCenterCalls: meter.createCounter(MetricName.partnerCenterCalls, {
      description: 'Partner Center HTTP attempts by operation and status',
      unit: '{call}',
    }),
    partnerCenterDuration: meter.createHistogram(MetricName.partnerCenterDuration, {
      description: 'Duration of one Partner Center HTTP attempt',
      unit: 'ms',
    }),
    tokenRedemptions: meter.createCounter(MetricName.tokenRedemptions, {
      description: 'Refresh-token redemptions at the Entra token endpoint',
      unit: '{redemption}',
    }),
    poisonMessages: meter.createCounter(MetricName.poisonMessages, {
      description: 'Queue messages that exhausted their tries (moved to <queue>-poison)',
      unit: '{message}',
    }),
    eventDeliveries: meter.createCounter(MetricName.eventDeliveries, {
      description: 'Partner Center event deliveries by outcome (enqueued, ignored, refused, invalid, failed)',
      unit: '{delivery}',
    }),
    eventsRegistrationDrift: meter.createGauge(MetricName.eventsRegistrationDrift, {
      description: 'Webhook registration check: 1 when events are not registered to this app',
    }),
    eventsLastEventAge: meter.createGauge(MetricName.eventsLastEventAge, {
      description: 'Age of the last authentic Partner Center event delivery',
      unit: 's',
    }),
    ...limitGauges(meter),
  };
}

function limitGauges(meter: Meter): Pick<Instruments, 'partnerCenterConcurrencyLimit' | 'partnerCenterRateLimit'> {
  const partnerCenterConcurrencyLimit = meter.createObservableGauge(MetricName.partnerCenterConcurrencyLimit, {
    description: 'Partner Center calls this instance allows in flight (adaptive, at most PARTNER_CENTER_CONCURRENCY)',
    unit: '{call}',
  });
  const partnerCenterRateLimit = meter.createObservableGauge(MetricName.partnerCenterRateLimit, {
    description: 'Pace of Partner Center call starts learned from throttling (absent while unpaced)',
    unit: '{call}/s',
  });
  meter.addBatchObservableCallback(
    (result) => {
      const limits = partnerCenterLimits?.();
      if (!limits) return;
      result.observe(partnerCenterConcurrencyLimit, limits.concurrencyLimit);
      if (limits.ratePerSecond !== null) result.observe(partnerCenterRateLimit, limits.ratePerSecond);
    },
    [partnerCenterConcurrencyLimit, partnerCenterRateLimit],
  );
  return { partnerCenterConcurrencyLimit, partnerCenterRateLimit };
}
