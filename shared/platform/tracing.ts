/**
 * Continuing a trace across a queue hop: a queue message carries the W3C `traceparent` of the request that
 * caused it, and the work it starts joins that trace.
 *
 * ```
 * HTTP POST ─► submitReferral (trace T, span A) ─► record.traceparent = 00-T-A-01
 *                                       └─► referral-link message { trackingId, traceparent: 00-T-A-01 }
 * linkQueue invocation (the host starts trace U) ─► withTraceParent('00-T-A-01', ...) ─► span in trace T,
 *                                                   parent A, linked to the invocation span of trace U
 * ```
 * `@opentelemetry/api` is not even loaded while no tracer provider is registered (telemetry.ts starts one
 * when telemetry is configured).
 */
import type { Context, Link, Span, SpanContext } from '@opentelemetry/api';
import type * as OpenTelemetryApi from '@opentelemetry/api';
import { ensureError } from './errors';
import { lazyModule } from './lazy';
import { isRegistered } from './telemetry';

/** A W3C `traceparent`: version-traceId-spanId-flags. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** `@opentelemetry/api`, loaded once a tracer provider is registered (never in the sandbox). */
const openTelemetryApi = lazyModule<typeof OpenTelemetryApi>(require, '@opentelemetry/api');

/**
 * Runs `fn` in a span named `name` whose parent is the trace in `traceparent` (the W3C header value a
 * queue message carries), so work done after a queue hop joins the trace of the request that caused
 * it. The span also links to the span active when it starts (the Functions invocation, whose trace the
 * host began anew for the queue message). A missing or malformed `traceparent` makes a child of the
 * active span. The span records a thrown error and the error is rethrown.
 *
 * A no-op (just `fn()`, without loading `@opentelemetry/api`) while no tracer provider is registered.
 */
export async function withTraceParent<T>(
  traceparent: string | undefined,
  name: string,
  fn: () => Promise<T> | T,
  options: { attributes?: Record<string, string | number | boolean> } = {},
): Promise<T> {
  if (!isRegistered('trace')) return fn();
  const api = openTelemetryApi();
  const active = api.context.active();
  const activeSpanContext = api.trace.getSpanContext(active);
  const parent = parentContext(api, traceparent, active);
  const links: Link[] =
    activeSpanContext &&
    api.isSpanContextValid(activeSpanContext) &&
    activeSpanContext.traceId !== api.trace.getSpanContext(parent)?.traceId
      ? [{ context: activeSpanContext }]
      : [];
  const tracer = api.trace.getTracer('cosell-referral-bridge');
  return tracer.startActiveSpan(
    name,
    // `ai.operation.name` names the span in Application Insights' requests table (a consumer span
    // without HTTP attributes has no name there otherwise).
    { kind: api.SpanKind.CONSUMER, links, attributes: { 'ai.operation.name': name, ...options.attributes } },
    parent,
    async (span: Span) => {
      try {
        return await fn();
      } catch (thrown) {
        const error = ensureError(thrown);
        span.recordException(error);
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: `${error.name}: ${error.message}`.slice(0, 500) });
        throw thrown;
      } finally {
        span.end();
      }
    },
  );
}

/** The `traceparent` of the active span, to put in a queue message (undefined when nothing is traced). */
export function activeTraceParent(): string | undefined {
  if (!isRegistered('trace')) return undefined;
  const api = openTelemetryApi();
  const spanContext = api.trace.getSpanContext(api.context.active());
  if (!spanContext || !api.isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

function parentContext(api: typeof OpenTelemetryApi, traceparent: string | undefined, active: Context): Context {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (!match || match[1] === 'ff' || /^0+$/.test(match[2]) || /^0+$/.test(match[3])) return active;
  // The registered propagator (W3C trace context in every SDK set-up here) reads the header; the
  // fallback covers a provider registered without a propagator.
  const extracted = api.propagation.extract(api.ROOT_CONTEXT, { traceparent: match[0] });
  if (api.trace.getSpanContext(extracted)) return extracted;
  const spanContext: SpanContext = {
    traceId: match[2],
    spanId: match[3],
    traceFlags: parseInt(match[4], 16) & 1,
    isRemote: true,
  };
  return api.trace.setSpanContext(api.ROOT_CONTEXT, spanContext);
}
