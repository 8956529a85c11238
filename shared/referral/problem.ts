/**
 * RFC 9457 problem details: the one error body shape the product answers with.
 *
 * `errors[].pointer` is an RFC 6901 JSON pointer into the request body (`/details/dealValue`).
 * Messages never echo customer contact values: they describe what is wrong, not what was sent.
 */

/** One field-level problem. */
export interface ProblemFieldError {
  /** RFC 6901 JSON pointer into the request body, `''` for the whole body (absent for a header). */
  pointer?: string;
  /** The request header at fault (RFC 9457 style extension), e.g. `Idempotency-Key`. */
  header?: string;
  /** Stable machine-readable code (`required`, `invalid_enum`, `unknown_field`, `too_long`, ...). */
  code: string;
  message: string;
}

/** An RFC 9457 problem details body (served as `application/problem+json`). */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: ProblemFieldError[];
  [extension: string]: unknown;
}

/** Media type of problem bodies. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Base of the `type` URIs (documented in docs/errors.md). */
export const PROBLEM_TYPE_BASE = 'https://github.com/cosell-referral-bridge/docs/errors#';

/** Builds a problem body; `type` is a short slug appended to {@link PROBLEM_TYPE_BASE}. */
export function problem(
  status: number,
  slug: string,
  title: string,
  detail?: string,
  extensions: Record<string, unknown> = {},
): ProblemDetails {
  return {
    type: `${PROBLEM_TYPE_BASE}${slug}`,
    title,
    status,
    ...(detail === undefined ? {} : { detail }),
    ...extensions,
  };
}

/** Escapes one path segment for a JSON pointer (`~` → `~0`, `/` → `~1`). */
export function escapePointerSegment(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Turns a path (`['details', 'dealValue']`) into a JSON pointer (`/details/dealValue`). */
export function toJsonPointer(path: ReadonlyArray<PropertyKey>): string {
  return path.map((segment) => `/${escapePointerSegment(String(segment))}`).join('');
}
