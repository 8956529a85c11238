/**
 * HTTP edge helpers shared by the HTTP functions: body limits, content types, problem responses.
 * Functions types stay here, at the edge; shared/ never sees them.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { PROBLEM_CONTENT_TYPE, problem, type ProblemDetails } from '../../shared/referral/problem';
import { ensureError } from '../../shared/platform/errors';
import { lazy } from '../../shared/platform/lazy';
import type * as TrackingViewModule from '../../shared/workflow/trackingView';

/** Largest request body accepted. */
export const MAX_BODY_BYTES = 256 * 1024;

/** A JSON response. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers } };
}

/** An RFC 9457 problem response. */
export function problemResponse(details: ProblemDetails, headers: Record<string, string> = {}): HttpResponseInit {
  return {
    status: details.status,
    body: JSON.stringify(details),
    headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...headers },
  };
}

/**
 * Reads a JSON body: 415 for another content type, 413 over {@link MAX_BODY_BYTES}, 400 when it is not JSON.
 * Never throws.
 */
export async function readJsonBody(
  request: HttpRequest,
): Promise<{ ok: true; value: unknown } | { ok: false; response: HttpResponseInit }> {
  const contentType = (request.headers.get('content-type') ?? '').toLowerCase();
  const mediaType = contentType.split(';')[0].trim();
  if (!(mediaType === 'application/json' || mediaType.endsWith('+json'))) {
    return {
      ok: false,
      response: problemResponse(
        problem(
          415,
          'unsupported-media-type',
          'Send JSON',
          'The request body must be JSON with Content-Type: application/json.',
        ),
      ),
    };
  }
  const declared = Number(request.headers.get('content-length') ?? '0');
  const tooLarge = problemResponse(
    problem(
      413,
      'payload-too-large',
      'The request body is too large',
      `A referral request must be at most ${MAX_BODY_BYTES} bytes.`,
    ),
  );
  if (declared > MAX_BODY_BYTES) return { ok: false, response: tooLarge };
  let bytes: ArrayBuffer;
  try {
    bytes = await request.arrayBuffer();
  } catch {
    return { ok: false, response: problemResponse(problem(400, 'invalid-json', 'The body could not be read')) };
  }
  if (bytes.byteLength > MAX_BODY_BYTES) return { ok: false, response: tooLarge };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, response: problemResponse(problem(400, 'invalid-json', 'The body is not valid UTF-8')) };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return {
      ok: false,
      response: problemResponse(
        problem(400, 'invalid-json', 'The body is not JSON', 'The request body could not be parsed as JSON.'),
      ),
    };
  }
}

/** The `{trackingId}` route parameter when it has the shape of a tracking id (`r` + 31 hex digits). */
export function trackingIdParam(request: HttpRequest): string | undefined {
  const trackingId = request.params.trackingId ?? '';
  return /^r[0-9a-f]{31}$/.test(trackingId) ? trackingId : undefined;
}

/** 404 problem+json for a tracking id no record has. */
export function trackingRecordNotFound(): HttpResponseInit {
  return problemResponse(problem(404, 'not-found', 'No such referral request', 'No tracking record has this id.'));
}

/** Seconds a poller of a 202 should wait before asking again. */
export const RETRY_AFTER_SECONDS = '5';

/** The tracking view module, loaded on the first call that answers with a view, not at cold start. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a literal id, kept by the bundle (scripts/build-functions.ts)
export const trackingView = lazy(() => require('../../shared/workflow/trackingView') as typeof TrackingViewModule);

/** The absolute status URL of a record: `{base}/api/referrals/{trackingId}` (see {@link baseUrlOf}). */
export function statusUrlOf(request: HttpRequest, configured: string | undefined, trackingId: string): string {
  return `${baseUrlOf(request, configured)}/api/referrals/${trackingId}`;
}

/** The public base URL (PUBLIC_BASE_URL, else the request's own origin). */
export function baseUrlOf(request: HttpRequest, configured?: string): string {
  if (configured) return configured.replace(/\/+$/, '');
  const url = new URL(request.url);
  return `${url.protocol}//${url.host}`;
}

/**
 * Runs an HTTP handler body and turns any unexpected failure into a 503 problem (configuration) or
 * a 500-free "try again" answer: callers never see a stack trace.
 */
export async function guard(
  context: InvocationContext,
  run: () => Promise<HttpResponseInit>,
): Promise<HttpResponseInit> {
  try {
    return await run();
  } catch (thrown) {
    const error = ensureError(thrown);
    context.error(`${error.name}: ${error.message}`);
    const isConfig = error.name === 'ConfigError';
    return problemResponse(
      problem(
        503,
        isConfig ? 'configuration' : 'temporarily-unavailable',
        isConfig ? 'The service is not configured' : 'The service could not complete the request',
        isConfig ? error.message : 'A dependency failed. Nothing was lost: retry with the same Idempotency-Key.',
      ),
      { 'Retry-After': '5' },
    );
  }
}
