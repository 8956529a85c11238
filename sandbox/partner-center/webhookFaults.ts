/**
 * The simulator's own fault entries, beside the shared ones of http-util (`latency`, `rateLimit`,
 * `serverErrors`, `commitThenDrop`): `events` (what happens to webhook deliveries) and `clientErrors`
 * (Partner Center refusing a call with its documented error body). `POST /_sandbox/faults` takes all of
 * them in one object; this module splits and validates the two it owns.
 */
import { z } from 'zod';
import { SandboxHttpError, parseFaultConfig, type FaultConfig } from '../http-util';
import { isObject } from './referralRules';

const probabilitySchema = z.number().min(0).max(1);

/** Faults of webhook deliveries; each share is decided per delivery by the seeded PRNG. */
export const eventFaultsSchema = z
  .object({
    /** Share of deliveries lost for good (never attempted, counted as `lost`). */
    drop: probabilitySchema.optional(),
    /** Share of deliveries sent twice (a second, independent delivery of the same bytes). */
    duplicate: probabilitySchema.optional(),
    /** Wait before the first attempt of a delivery. */
    delayMs: z.number().int().min(0).max(600_000).optional(),
    /** Share of deliveries that wait `delayMs`. @default 1 (every delivery) */
    delayProbability: probabilitySchema.optional(),
    /**
     * Deliveries are held back and sent in reverse order: a batch goes out when it holds
     * `reorderBatchSize` deliveries or `reorderWindowMs` after its first one.
     */
    reorder: z.boolean().optional(),
    /** @default 2 */
    reorderBatchSize: z.number().int().min(2).max(1000).optional(),
    /** @default 1000 */
    reorderWindowMs: z.number().int().min(1).max(600_000).optional(),
    /** true (or a share): sign with another key than the certificate's, so verification must fail. */
    forge: z.union([z.boolean(), probabilitySchema]).optional(),
    /** Event names the faults apply to (default: every event, `test-created` included). */
    eventNames: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

/** Faults of webhook deliveries (see {@link eventFaultsSchema}). */
export type EventFaults = z.infer<typeof eventFaultsSchema>;

/** Statuses `clientErrors` may answer, with the Partner API error code each one carries. */
export const CLIENT_ERROR_CODES = {
  400: 'invalidRequest',
  401: 'unauthenticated',
  403: 'accessDenied',
  404: 'itemNotFound',
  409: 'invalidRequest',
  412: 'preconditionFailed',
  413: 'invalidRequest',
  415: 'invalidRequest',
  422: 'invalidRequest',
} as const;

/** A share of calls refused with a 4xx and the Partner API error body (nothing is stored). */
export const clientErrorsSchema = z
  .object({
    probability: probabilitySchema,
    /** Statuses to pick from, uniformly. @default [400] */
    statuses: z
      .array(
        z.union([
          z.literal(400),
          z.literal(401),
          z.literal(403),
          z.literal(404),
          z.literal(409),
          z.literal(412),
          z.literal(413),
          z.literal(415),
          z.literal(422),
        ]),
      )
      .min(1)
      .optional(),
    /** Operations refused (`create`, `get`, `list`, `patch`, `put`). @default every operation */
    operations: z.array(z.string().min(1)).min(1).optional(),
    /** `error.message` of the answer. @default a message naming the status */
    message: z.string().min(1).max(1024).optional(),
    /** `error.target` of the answer (e.g. `customerProfile.address.country`). @default none */
    target: z.string().min(1).max(256).optional(),
  })
  .strict();

/** Injected client errors (see {@link clientErrorsSchema}). */
export type ClientErrorFaults = z.infer<typeof clientErrorsSchema>;

/** Everything `POST /_sandbox/faults` (and the `faults` option) of the simulator accepts. */
export type PartnerCenterFaultConfig = FaultConfig & {
  events?: z.input<typeof eventFaultsSchema>;
  clientErrors?: z.input<typeof clientErrorsSchema>;
};

/** A validated configuration split into the shared part and the simulator's own entries. */
export interface ParsedPartnerCenterFaults {
  shared: FaultConfig;
  events?: EventFaults;
  clientErrors?: ClientErrorFaults;
}

/**
 * Validates a whole fault configuration; throws a 400 {@link SandboxHttpError} naming the problems.
 * Nothing is applied by this function, so an invalid entry leaves the running configuration alone.
 */
export function parsePartnerCenterFaults(input: unknown): ParsedPartnerCenterFaults {
  const value = input ?? {};
  if (!isObject(value)) throw new SandboxHttpError(400, 'Invalid fault configuration: (root): expected an object');
  const { events, clientErrors, ...shared } = value;
  const parsedEvents = parseEntry(eventFaultsSchema, events, 'events');
  const parsedClientErrors = parseEntry(clientErrorsSchema, clientErrors, 'clientErrors');
  return { shared: parseFaultConfig(shared), events: parsedEvents, clientErrors: parsedClientErrors };
}

function parseEntry<T>(schema: z.ZodType<T>, value: unknown, name: string): T | undefined {
  if (value === undefined) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${[name, ...i.path].join('.')}: ${i.message}`).join('; ');
  throw new SandboxHttpError(400, `Invalid fault configuration: ${problems}`);
}
