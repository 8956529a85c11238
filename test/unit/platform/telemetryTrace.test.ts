import { context, propagation, trace, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { isRegistered } from '../../../shared/platform/telemetry';
import { activeTraceParent, withTraceParent } from '../../../shared/platform/tracing';

// The SDK packages come with @azure/monitor-opentelemetry (not direct dependencies); they stand in
// for the real distro so spans can be read back in memory.

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

describe('withTraceParent without an OpenTelemetry SDK', () => {
  it('just runs the function', async () => {
    expect(isRegistered('trace')).toBe(false);
    await expect(withTraceParent(TRACEPARENT, 'referral-link', async () => 42)).resolves.toBe(42);
    expect(activeTraceParent()).toBeUndefined();
  });

  it('passes a thrown error through unchanged', async () => {
    const error = new Error('boom');
    await expect(withTraceParent(TRACEPARENT, 'referral-link', () => Promise.reject(error))).rejects.toBe(error);
  });
});

describe('withTraceParent with an OpenTelemetry SDK', () => {
  const exporter = new InMemorySpanExporter();
  let tracer: Tracer;

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    tracer = trace.getTracer('test');
  });
  afterAll(() => {
    trace.disable();
    propagation.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  const finished = () => exporter.getFinishedSpans();

  it('continues the trace of the traceparent a queue message carries', async () => {
    let inside: string | undefined;
    const result = await withTraceParent(TRACEPARENT, 'referral-link', async () => {
      inside = activeTraceParent();
      return 'linked';
    });
    expect(result).toBe('linked');
    const [span] = finished();
    expect(span.name).toBe('referral-link');
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
    expect(span.attributes['ai.operation.name']).toBe('referral-link');
    expect(inside).toBe(`00-${TRACE_ID}-${span.spanContext().spanId}-01`);
  });

  it('links the span to the invocation span the host started for the queue message', async () => {
    await tracer.startActiveSpan('invocation', async (invocation) => {
      await withTraceParent(TRACEPARENT, 'referral-link', async () => undefined, { attributes: { trackingId: 'r1' } });
      invocation.end();
    });
    const span = finished().find((s) => s.name === 'referral-link')!;
    const invocation = finished().find((s) => s.name === 'invocation')!;
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.links.map((l) => l.context.spanId)).toEqual([invocation.spanContext().spanId]);
    expect(span.attributes.trackingId).toBe('r1');
  });

  it.each([
    { case: 'no traceparent', traceparent: undefined },
    { case: 'a malformed traceparent', traceparent: 'not-a-traceparent' },
    { case: 'an all-zero trace id', traceparent: `00-${'0'.repeat(32)}-${PARENT_SPAN_ID}-01` },
    { case: 'the forbidden version ff', traceparent: `ff-${TRACE_ID}-${PARENT_SPAN_ID}-01` },
  ])('makes a child of the active span for $case', async ({ traceparent }) => {
    await tracer.startActiveSpan('invocation', async (invocation) => {
      await withTraceParent(traceparent, 'referral-link', async () => undefined);
      invocation.end();
    });
    const span = finished().find((s) => s.name === 'referral-link')!;
    const invocation = finished().find((s) => s.name === 'invocation')!;
    expect(span.spanContext().traceId).toBe(invocation.spanContext().traceId);
    expect(span.parentSpanContext?.spanId).toBe(invocation.spanContext().spanId);
    expect(span.links).toEqual([]);
  });

  it('records a thrown error on the span and rethrows it', async () => {
    const error = new TypeError('Partner Center answered 503');
    await expect(withTraceParent(TRACEPARENT, 'referral-submit', () => Promise.reject(error))).rejects.toBe(error);
    const [span] = finished();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.status.message).toBe('TypeError: Partner Center answered 503');
    expect(span.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('reads the traceparent even when no propagator is registered', async () => {
    propagation.disable();
    try {
      await withTraceParent(TRACEPARENT, 'referral-link', () => undefined);
    } finally {
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
    const [span] = finished();
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
  });
});
