import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import {
  MetricName,
  partnerCenterOperation,
  recordPartnerCenterCall,
  recordPoison,
  recordRedemption,
  recordTransition,
} from '../../../shared/platform/metrics';
import { isRegistered } from '../../../shared/platform/telemetry';

// @opentelemetry/sdk-metrics comes with @azure/monitor-opentelemetry (not a direct dependency).

/** A reader the test collects from on demand. */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

async function collect(reader: TestReader): Promise<Map<string, DataPoint<unknown>[]>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, DataPoint<unknown>[]>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) out.set(metric.descriptor.name, metric.dataPoints);
  }
  return out;
}

function valueFor(points: DataPoint<unknown>[] | undefined, attributes: Record<string, string>): unknown {
  return points?.find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))?.value;
}

describe('metrics without an OpenTelemetry SDK', () => {
  it('are safe no-ops', () => {
    expect(isRegistered('metrics')).toBe(false);
    expect(() => {
      recordTransition('Received', 'CoSell');
      recordPartnerCenterCall('createReferral', 201, 12);
      recordRedemption();
      recordPoison('referral-intake');
    }).not.toThrow();
  });
});

describe('metrics with an in-memory meter provider', () => {
  let reader: TestReader;

  beforeEach(() => {
    metrics.disable();
    reader = new TestReader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  });
  afterAll(() => metrics.disable());

  it('counts state transitions by state and deal type', async () => {
    recordTransition('Received', 'CoSell');
    recordTransition('Received', 'CoSell');
    recordTransition('Linked', 'CoSell');
    recordTransition('Completed', 'Private');
    const points = (await collect(reader)).get(MetricName.transitions);
    expect(valueFor(points, { state: 'Received', dealType: 'CoSell' })).toBe(2);
    expect(valueFor(points, { state: 'Linked', dealType: 'CoSell' })).toBe(1);
    expect(valueFor(points, { state: 'Completed', dealType: 'Private' })).toBe(1);
  });

  it('counts Partner Center calls by operation and status and records their durations', async () => {
    recordPartnerCenterCall('createReferral', 201, 120);
    recordPartnerCenterCall('createReferral', '429', 30);
    recordPartnerCenterCall('createReferral', 201, 80);
    recordPartnerCenterCall('listReferrals', 'timeout', 30_000);
    const collected = await collect(reader);
    const calls = collected.get(MetricName.partnerCenterCalls);
    expect(valueFor(calls, { operation: 'createReferral', status: '201' })).toBe(2);
    expect(valueFor(calls, { operation: 'createReferral', status: '429' })).toBe(1);
    expect(valueFor(calls, { operation: 'listReferrals', status: 'timeout' })).toBe(1);
    const durations = valueFor(collected.get(MetricName.partnerCenterDuration), {
      operation: 'createReferral',
      status: '201',
    }) as Histogram;
    expect(durations.count).toBe(2);
    expect(durations.sum).toBe(200);
    expect(durations.min).toBe(80);
    expect(durations.max).toBe(120);
  });

  it('counts a call whose duration is not a number without recording the duration', async () => {
    recordPartnerCenterCall('getReferral', 200, Number.NaN);
    recordPartnerCenterCall('getReferral', 200, -5);
    const collected = await collect(reader);
    expect(valueFor(collected.get(MetricName.partnerCenterCalls), { operation: 'getReferral' })).toBe(2);
    expect(collected.get(MetricName.partnerCenterDuration) ?? []).toEqual([]);
  });

  it('counts token redemptions by outcome, success by default', async () => {
    recordRedemption();
    recordRedemption('success');
    recordRedemption('failure');
    const points = (await collect(reader)).get(MetricName.tokenRedemptions);
    expect(valueFor(points, { outcome: 'success' })).toBe(2);
    expect(valueFor(points, { outcome: 'failure' })).toBe(1);
  });

  it('counts poison messages by queue', async () => {
    recordPoison('referral-intake');
    recordPoison('referral-link');
    recordPoison('referral-link');
    const points = (await collect(reader)).get(MetricName.poisonMessages);
    expect(valueFor(points, { queue: 'referral-intake' })).toBe(1);
    expect(valueFor(points, { queue: 'referral-link' })).toBe(2);
  });

  it('follows a meter provider registered after the first measurement', async () => {
    recordPoison('referral-submit');
    metrics.disable();
    const next = new TestReader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [next] }));
    recordPoison('referral-submit');
    expect(valueFor((await collect(next)).get(MetricName.poisonMessages), { queue: 'referral-submit' })).toBe(1);
  });
});

describe('partnerCenterOperation', () => {
  it.each([
    { method: 'POST', path: '/v1.0/engagements/referrals', operation: 'createReferral' },
    {
      method: 'GET',
      path: '/v1.0/engagements/referrals/5f0c1e4e-0000-4000-8000-000000000001',
      operation: 'getReferral',
    },
    { method: 'GET', path: "/v1.0/engagements/referrals?$filter=engagementId eq 'e1'", operation: 'listReferrals' },
    { method: 'GET', path: '/v1.0/engagements/referrals', operation: 'listReferrals' },
    { method: 'GET', path: '/v1.0/engagements/referrals?$skiptoken=abc/def', operation: 'listReferrals' },
  ])('names $method $path $operation', ({ method, path, operation }) => {
    expect(partnerCenterOperation(method, path)).toBe(operation);
  });
});
