/**
 * The Partner Center referrals simulator: `/v1.0/engagements/referrals` over plain HTTP on 127.0.0.1,
 * behaving as the documented service (../shared/reference/partner-center-referrals.md §1, 3, 4 and
 * create-a-referral.txt). Decisions where the documentation is silent are marked in docs/sandbox.md.
 *
 * - `POST` create (201 by default), `GET /{id}`, `GET` list (`$filter`, `$orderby`, `$top`, `$skip`,
 *   `$count`, `$select`, `@odata.nextLink` with `$skiptoken`), `PATCH /{id}` (JSON Patch add/replace),
 *   `PUT /{id}` (If-Match required).
 * - App+User bearer tokens of the Entra stand-in for `https://api.partner.microsoft.com`.
 * - `MS-RequestId` makes creates idempotent; `MS-CorrelationId` is echoed.
 * - Faults (latency, 429, 500/503, commit-then-drop) and the loopback control surface `/_sandbox/*`.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  FaultInjector,
  SandboxHttpError,
  closeServer,
  delay,
  increment,
  isLoopback,
  listenOnLoopback,
  parseJson,
  readBody,
  sendJson,
  serveFaultControl,
  type FaultConfig,
  type FaultKind,
  type FaultPlan,
} from '../http-util';
import { AccessTokenVerifier, type EntraVerification } from '../entra/tokenVerifier';
import { PartnerApiError, PartnerApiErrorCode, invalidRequest } from './errors';
import { applyJsonPatch } from './jsonPatch';
import { parseODataFilter, type ReferralPredicate } from './odataFilter';
import {
  SERVER_OWNED_FIELDS,
  isGuid,
  isObject,
  transitionProblem,
  validateReferral,
  type JsonObject,
} from './referralRules';
import { ReferralStore, type SimulatedReferral, type StoredReferral } from './referralStore';

/** The audience Partner Center referrals tokens carry. */
export const PARTNER_CENTER_AUDIENCE = 'https://api.partner.microsoft.com';

/** Path of the referrals collection. */
export const REFERRALS_PATH = '/v1.0/engagements/referrals';

/** Operations, as fault targets and in the stats. */
export const PartnerCenterOperation = {
  create: 'create',
  get: 'get',
  list: 'list',
  patch: 'patch',
  put: 'put',
} as const;
export type PartnerCenterOperation = (typeof PartnerCenterOperation)[keyof typeof PartnerCenterOperation];

/** Options for {@link startPartnerCenter}. */
export interface StartPartnerCenterOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** How to verify tokens (`RunningEntra.verification`); required unless `auth` is false. */
  entra?: EntraVerification;
  /** false: accept calls without a token, as `partnerOrganization` (demos, `--no-auth`). @default true */
  auth?: boolean;
  faults?: FaultConfig;
  /** Seed of the fault-injection PRNG. @default 1 */
  seed?: number;
  /** The calling partner's organization. @default id = the token's `tid`, name 'Sandbox partner' */
  partnerOrganization?: { id: string; name: string };
  /** Status of a successful create. @default 201 */
  createdStatus?: 200 | 201;
  /** Largest page of a list. @default 100 */
  maxPageSize?: number;
  /** Refuse App+User tokens without `mfa` in `amr` (401, as enforced since 2026-04-01). @default true */
  requireMfa?: boolean;
  /** Accepted token audience. @default {@link PARTNER_CENTER_AUDIENCE} */
  audience?: string;
  nowMs?: () => number;
}

/** Counters served by `GET /_sandbox/stats`. */
export interface PartnerCenterStats {
  /** Calls by operation, then by HTTP status (`dropped` for commit-then-drop). */
  calls: Record<string, Record<string, number>>;
  /** Injected faults by kind. */
  faults: Record<FaultKind, number>;
  /** Creates answered from a recorded `MS-RequestId` (nothing created). */
  idempotentReplays: number;
  /** Referrals stored. */
  referrals: number;
}

/** A running simulator. */
export interface RunningPartnerCenter {
  /** Origin, `http://127.0.0.1:<port>` (the app's PARTNER_CENTER_BASE_URL). */
  url: string;
  /** `<url>/v1.0/engagements/referrals` */
  referralsUrl: string;
  /** Everything stored, every organization, in creation order. */
  referrals(): SimulatedReferral[];
  stats(): PartnerCenterStats;
  setFaults(faults: FaultConfig): void;
  clearFaults(): void;
  /** Forgets referrals, recorded creates, counters and faults. */
  reset(): void;
  close(): Promise<void>;
}

interface Caller {
  organizationId: string;
  organizationName: string;
}

interface Outcome {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Top-level fields answered as null when the body did not set them: the documented response returns
 * `externalReferenceId: null` and `expirationDateTime: null` for a request without them [inferred: the
 * service serializes every Referral property, nulls included].
 */
const UNSET_FIELDS = {
  name: null,
  externalReferenceId: null,
  expirationDateTime: null,
  statusReason: null,
  qualification: null,
  target: null,
  team: null,
  inviteContext: null,
} as const;

const ORDERABLE = new Set(['createdDateTime', 'updatedDateTime']);
const LIST_PARAMETERS = new Set(['$filter', '$orderby', '$top', '$skip', '$skiptoken', '$count', '$select']);

/** Starts the simulator; see the module comment. */
export async function startPartnerCenter(options: StartPartnerCenterOptions): Promise<RunningPartnerCenter> {
  const authEnabled = options.auth !== false;
  if (authEnabled && !options.entra)
    throw new Error('startPartnerCenter needs `entra` (the Entra stand-in verification) unless auth is false');
  const nowMs = options.nowMs ?? Date.now;
  const createdStatus = options.createdStatus ?? 201;
  const maxPageSize = options.maxPageSize ?? 100;
  const requireMfa = options.requireMfa ?? true;
  const verifier = options.entra
    ? new AccessTokenVerifier(options.entra, { audiences: [options.audience ?? PARTNER_CENTER_AUDIENCE], nowMs })
    : undefined;
  const store = new ReferralStore();
  const faults = new FaultInjector({
    seed: options.seed,
    faults: options.faults,
    defaultDropOperations: ['create'],
    nowMs,
  });
  let calls: Record<string, Record<string, number>> = {};
  let idempotentReplays = 0;

  const server = http.createServer();
  const port = await listenOnLoopback(server, options.port);
  const url = `http://127.0.0.1:${port}`;
  const referralsUrl = `${url}${REFERRALS_PATH}`;

  const links = (id: string, engagementId: string) => ({
    relatedReferrals: { uri: `${referralsUrl}?$filter=engagementId eq '${engagementId}'`, method: 'GET' },
    self: { uri: `${referralsUrl}/${id}`, method: 'GET' },
  });
  const newETag = () => `"${randomUUID()}"`;
  const nowIso = () => new Date(nowMs()).toISOString();

  // -------------------------------------------------------------------------------------------
  // Authentication
  // -------------------------------------------------------------------------------------------

  const authenticate = (req: IncomingMessage): Caller => {
    if (!authEnabled || !verifier) {
      return options.partnerOrganization
        ? { organizationId: options.partnerOrganization.id, organizationName: options.partnerOrganization.name }
        : { organizationId: 'sandbox-partner', organizationName: 'Sandbox partner' };
    }
    const result = verifier.verify(req.headers.authorization);
    if (!result.ok) {
      const reason = {
        missing: 'The request has no bearer token.',
        malformed: 'The bearer token is malformed.',
        unknownKey: 'The bearer token was not signed by a trusted key.',
        badSignature: 'The bearer token signature is invalid.',
        expired: 'The bearer token has expired.',
        notYetValid: 'The bearer token is not valid yet.',
        wrongAudience: `The bearer token was not issued for ${options.audience ?? PARTNER_CENTER_AUDIENCE}.`,
      }[result.failure];
      throw new PartnerApiError(401, PartnerApiErrorCode.unauthenticated, reason, 'Authorization');
    }
    const claims = result.claims;
    if (claims.idtyp === 'app' || typeof claims.scp !== 'string') {
      throw new PartnerApiError(
        403,
        PartnerApiErrorCode.accessDenied,
        'App-only tokens are not supported: the referrals API currently supports only App+User (user access) tokens.',
        'Authorization',
      );
    }
    const amr = Array.isArray(claims.amr) ? claims.amr : [];
    if (requireMfa && !amr.includes('mfa')) {
      throw new PartnerApiError(
        401,
        PartnerApiErrorCode.unauthenticated,
        'Multi-factor authentication is required for App+User calls (the token has no mfa claim). Error 900421.',
        'Authorization',
      );
    }
    const tid = typeof claims.tid === 'string' ? claims.tid : 'unknown-tenant';
    return options.partnerOrganization
      ? { organizationId: options.partnerOrganization.id, organizationName: options.partnerOrganization.name }
      : { organizationId: tid, organizationName: 'Sandbox partner' };
  };

  // -------------------------------------------------------------------------------------------
  // Operations
  // -------------------------------------------------------------------------------------------

  const representation = (referral: SimulatedReferral, status: number): Outcome => ({
    status,
    body: referral,
    headers: { ETag: referral.eTag },
  });

  const userFields = (referral: JsonObject): JsonObject => {
    const out: JsonObject = { ...referral };
    for (const field of SERVER_OWNED_FIELDS) delete out[field];
    delete out.engagementId;
    return out;
  };

  const create = (caller: Caller, body: unknown, requestId: string | undefined): Outcome => {
    const validated = validateReferral(body, { defaults: true });
    if ('error' in validated) throw validated.error;
    const input = validated.referral;
    let engagementId: string;
    if (typeof input.engagementId === 'string') {
      if (!store.hasEngagement(input.engagementId, caller.organizationId)) {
        throw invalidRequest(
          `The engagement ${input.engagementId} does not exist (or has no referral of your organization).`,
          'engagementId',
        );
      }
      engagementId = input.engagementId.toLowerCase();
    } else {
      engagementId = randomUUID();
    }
    const microsoftSide = typeof input.organizationId === 'string' && input.organizationId.toLowerCase() === 'msft';
    const id = randomUUID();
    const now = nowIso();
    const referral = {
      id,
      engagementId,
      organizationId: microsoftSide ? 'msft' : caller.organizationId,
      organizationName: microsoftSide
        ? typeof input.organizationName === 'string' && input.organizationName !== ''
          ? input.organizationName
          : 'Microsoft'
        : caller.organizationName,
      ...UNSET_FIELDS,
      ...userFields(input),
      status: String(input.status),
      substatus: String(input.substatus),
      createdDateTime: now,
      updatedDateTime: now,
      acceptedDateTime: now,
      ...(input.status === 'Closed' ? { closedDateTime: now } : {}),
      direction: 'Outgoing',
      eTag: newETag(),
      links: links(id, engagementId),
    } as SimulatedReferral;
    store.add(referral, caller.organizationId);
    const outcome = representation(referral, createdStatus);
    if (requestId)
      store.recordCreate(caller.organizationId, requestId, {
        status: createdStatus,
        body: JSON.stringify(referral),
        eTag: referral.eTag,
      });
    return outcome;
  };

  const find = (caller: Caller, id: string): StoredReferral => {
    const stored = store.get(id, caller.organizationId);
    if (!stored)
      throw new PartnerApiError(404, PartnerApiErrorCode.itemNotFound, `The referral ${id} was not found.`, 'id');
    return stored;
  };

  const checkIfMatch = (stored: StoredReferral, ifMatch: string | undefined): void => {
    if (ifMatch === undefined) return;
    const wanted = ifMatch.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/^"|"$/g, ''));
    const current = stored.referral.eTag.replace(/^"|"$/g, '');
    if (!wanted.includes('*') && !wanted.includes(current)) {
      throw new PartnerApiError(
        412,
        PartnerApiErrorCode.preconditionFailed,
        'The referral was modified since it was read: the If-Match eTag does not match the current eTag. Get the referral again and retry.',
        'If-Match',
      );
    }
  };

  const refuseTerminal = (stored: StoredReferral): void => {
    const { status, substatus } = stored.referral;
    if (status === 'Closed') {
      throw invalidRequest(
        `The referral is closed (${substatus}): a referral in a terminal state cannot be modified.`,
        'status',
      );
    }
  };

  /** Validates `candidate` as the new state of `stored` and stores it with a new eTag. */
  const commitUpdate = (stored: StoredReferral, candidate: unknown): SimulatedReferral => {
    const validated = validateReferral(candidate, { defaults: false });
    if ('error' in validated) throw validated.error;
    const next = validated.referral;
    const previous = stored.referral;
    const problem = transitionProblem(previous, { status: String(next.status), substatus: String(next.substatus) });
    if (problem) throw invalidRequest(problem, 'status');
    const now = nowIso();
    const referral = {
      id: previous.id,
      engagementId: previous.engagementId,
      organizationId: previous.organizationId,
      organizationName: previous.organizationName,
      ...userFields(next),
      status: String(next.status),
      substatus: String(next.substatus),
      createdDateTime: previous.createdDateTime,
      updatedDateTime: now,
      acceptedDateTime: previous.acceptedDateTime,
      ...(next.status === 'Closed' ? { closedDateTime: now } : {}),
      direction: previous.direction,
      eTag: newETag(),
      links: previous.links,
    } as SimulatedReferral;
    store.replace(stored, referral);
    return referral;
  };

  const patch = (caller: Caller, id: string, body: unknown, req: IncomingMessage): Outcome => {
    const stored = find(caller, id);
    checkIfMatch(stored, header(req, 'if-match'));
    refuseTerminal(stored);
    const referral = commitUpdate(stored, applyJsonPatch(stored.referral, body));
    const prefer = header(req, 'prefer') ?? '';
    if (/return\s*=\s*representation/i.test(prefer)) return representation(referral, 200);
    return { status: 204, headers: { ETag: referral.eTag } };
  };

  const put = (caller: Caller, id: string, body: unknown, req: IncomingMessage): Outcome => {
    const stored = find(caller, id);
    const ifMatch = header(req, 'if-match');
    if (ifMatch === undefined)
      throw invalidRequest(
        'The If-Match header is required for a full update (PUT): send the eTag of the referral you read.',
        'If-Match',
      );
    if (isObject(body)) {
      const keys = Object.keys(body).map((k) => k.toLowerCase());
      if (keys.includes('links')) throw invalidRequest('Remove links from the body of a full update.', 'links');
      const bodyId = Object.entries(body).find(([k]) => k.toLowerCase() === 'id')?.[1];
      if (bodyId !== undefined && String(bodyId).toLowerCase() !== stored.referral.id)
        throw invalidRequest('The id in the body does not match the URL.', 'id');
      const bodyEngagement = Object.entries(body).find(([k]) => k.toLowerCase() === 'engagementid')?.[1];
      if (
        bodyEngagement !== undefined &&
        bodyEngagement !== null &&
        String(bodyEngagement).toLowerCase() !== stored.referral.engagementId
      ) {
        throw invalidRequest('The engagementId of a referral cannot change.', 'engagementId');
      }
    }
    checkIfMatch(stored, ifMatch);
    refuseTerminal(stored);
    return representation(commitUpdate(stored, body), 200);
  };

  const list = (caller: Caller, query: URLSearchParams): Outcome => {
    for (const key of query.keys()) {
      if (key.startsWith('$') && !LIST_PARAMETERS.has(key))
        throw invalidRequest(`The query option ${key} is not supported.`, key);
    }
    const filterText = query.get('$filter');
    const predicate: ReferralPredicate | undefined = filterText ? parseODataFilter(filterText) : undefined;
    const order = parseOrderBy(query.get('$orderby'));
    const select = parseSelect(query.get('$select'));
    let offset: number;
    let remaining: number | undefined;
    const skipToken = query.get('$skiptoken');
    if (skipToken !== null) {
      const decoded = decodeSkipToken(skipToken);
      offset = decoded.offset;
      remaining = decoded.remaining;
    } else {
      offset = nonNegativeInteger(query.get('$skip'), '$skip') ?? 0;
      remaining = nonNegativeInteger(query.get('$top'), '$top');
    }
    const count = query.get('$count');
    if (count !== null && count !== 'true' && count !== 'false')
      throw invalidRequest('$count must be true or false.', '$count');

    let matches = store.visibleTo(caller.organizationId);
    if (predicate) matches = matches.filter((s) => predicate(s.referral));
    if (order.length > 0) {
      matches = [...matches].sort((a, b) => {
        for (const { field, descending } of order) {
          const x = String(a.referral[field] ?? '');
          const y = String(b.referral[field] ?? '');
          if (x !== y) return (x < y ? -1 : 1) * (descending ? -1 : 1);
        }
        return (a.seq - b.seq) * (order[0].descending ? -1 : 1);
      });
    }
    const size = Math.min(maxPageSize, remaining ?? maxPageSize);
    const page = matches.slice(offset, offset + size);
    const nextOffset = offset + page.length;
    const left = remaining === undefined ? undefined : remaining - page.length;
    const more = nextOffset < matches.length && (left === undefined || left > 0) && page.length > 0;
    const body: JsonObject = {
      '@odata.context': `${url}/v1.0/$metadata#engagements/referrals`,
      ...(count === 'true' ? { '@odata.count': matches.length } : {}),
      value: page.map((s) => (select ? pick(s.referral, select) : s.referral)),
    };
    if (more) {
      const kept = ['$filter', '$orderby', '$count', '$select'].flatMap((key) => {
        const value = query.get(key);
        return value === null ? [] : [`${key}=${encodeURIComponent(value)}`];
      });
      body['@odata.nextLink'] =
        `${referralsUrl}?${[...kept, `$skiptoken=${encodeSkipToken(nextOffset, left)}`].join('&')}`;
    }
    return { status: 200, body };
  };

  // -------------------------------------------------------------------------------------------
  // HTTP
  // -------------------------------------------------------------------------------------------

  const countCall = (operation: string, status: number | 'dropped') =>
    increment((calls[operation] ??= {}), String(status));

  const injected = (reject: NonNullable<FaultPlan['reject']>): Outcome => {
    if (reject.kind === 'rateLimit') {
      const seconds = reject.retryAfterSeconds ?? 1;
      return {
        status: 429,
        body: { statusCode: 429, message: `Rate limit is exceeded. Try again in ${seconds} seconds.` },
        headers: { 'Retry-After': String(seconds) },
      };
    }
    const error =
      reject.status === 503
        ? new PartnerApiError(
            503,
            PartnerApiErrorCode.serviceNotAvailable,
            'The service is temporarily unavailable. Retry later.',
          )
        : new PartnerApiError(
            500,
            PartnerApiErrorCode.generalException,
            'An unexpected error occurred. Callers may retry this.',
          );
    return {
      status: error.status,
      body: error.toBody(),
      headers: reject.retryAfterSeconds ? { 'Retry-After': String(reject.retryAfterSeconds) } : {},
    };
  };

  const control = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (!isLoopback(req.socket.remoteAddress)) {
      return sendJson(
        res,
        403,
        new PartnerApiError(403, PartnerApiErrorCode.accessDenied, 'Loopback callers only.').toBody(),
      );
    }
    const method = req.method ?? 'GET';
    if (await serveFaultControl(req, res, faults)) return;
    if (path === '/_sandbox/stats' && method === 'GET') return sendJson(res, 200, stats());
    if (path === '/_sandbox/referrals' && method === 'GET')
      return sendJson(res, 200, { value: store.all(), count: store.size });
    if (path === '/_sandbox/reset' && method === 'POST') {
      reset();
      return sendJson(res, 204, undefined);
    }
    sendJson(
      res,
      404,
      new PartnerApiError(404, PartnerApiErrorCode.itemNotFound, `No control route ${method} ${path}`).toBody(),
    );
  };

  const route = (
    method: string,
    path: string,
  ): { operation: PartnerCenterOperation; id?: string } | 'methodNotAllowed' | undefined => {
    if (path === REFERRALS_PATH || path === `${REFERRALS_PATH}/`) {
      if (method === 'POST') return { operation: 'create' };
      if (method === 'GET') return { operation: 'list' };
      return 'methodNotAllowed';
    }
    if (path.startsWith(`${REFERRALS_PATH}/`)) {
      const id = decodeURIComponent(path.slice(REFERRALS_PATH.length + 1));
      if (id.includes('/')) return undefined;
      if (method === 'GET') return { operation: 'get', id };
      if (method === 'PATCH') return { operation: 'patch', id };
      if (method === 'PUT') return { operation: 'put', id };
      return 'methodNotAllowed';
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const [path, search = ''] = (req.url ?? '/').split('?', 2);
    const method = req.method ?? 'GET';
    const correlationId = header(req, 'ms-correlationid') ?? randomUUID();
    const requestId = header(req, 'ms-requestid');
    const baseHeaders: Record<string, string> = {
      'MS-CorrelationId': correlationId,
      ...(requestId ? { 'MS-RequestId': requestId } : {}),
    };
    let operation = 'unknown';
    const reply = (outcome: Outcome) => {
      countCall(operation, outcome.status);
      sendJson(res, outcome.status, outcome.body, { ...baseHeaders, ...outcome.headers });
    };
    try {
      if (path.startsWith('/_sandbox/')) return await control(req, res, path);
      const matched = route(method, path);
      if (matched === undefined)
        throw new PartnerApiError(404, PartnerApiErrorCode.itemNotFound, `No resource at ${path}.`);
      if (matched === 'methodNotAllowed')
        throw new PartnerApiError(405, PartnerApiErrorCode.invalidRequest, `${method} is not allowed on ${path}.`);
      operation = matched.operation;
      const raw = method === 'GET' ? Buffer.alloc(0) : await readBody(req);
      const plan = faults.plan(operation);
      if (plan.delayMs > 0) await delay(plan.delayMs);
      if (plan.reject) return reply(injected(plan.reject));

      if (plan.dropAfterCommit) {
        try {
          execute(matched.operation, matched.id, raw, search, requestId, req);
        } catch {
          // The answer is lost either way.
        }
        countCall(operation, 'dropped');
        req.socket.destroy();
        return;
      }
      reply(execute(matched.operation, matched.id, raw, search, requestId, req));
    } catch (error) {
      if (error instanceof PartnerApiError) return reply({ status: error.status, body: error.toBody() });
      if (error instanceof SandboxHttpError)
        return reply({ status: error.status, body: invalidRequest(error.message, 'body').toBody() });
      reply({
        status: 500,
        body: new PartnerApiError(
          500,
          PartnerApiErrorCode.generalException,
          'The simulator failed unexpectedly.',
        ).toBody(),
      });
    }
  };

  /** Authenticates and runs one API operation (synchronously: no request interleaves with a create). */
  const execute = (
    operation: PartnerCenterOperation,
    id: string | undefined,
    raw: Buffer,
    search: string,
    requestId: string | undefined,
    req: IncomingMessage,
  ): Outcome => {
    const caller = authenticate(req);
    if (requestId !== undefined && !isGuid(requestId))
      throw invalidRequest('MS-RequestId must be a GUID.', 'MS-RequestId');
    switch (operation) {
      case 'create': {
        const recorded = requestId ? store.recordedCreate(caller.organizationId, requestId) : undefined;
        if (recorded) {
          idempotentReplays++;
          return { status: recorded.status, body: recorded.body, headers: { ETag: recorded.eTag } };
        }
        return create(caller, parseJson(raw), requestId);
      }
      case 'get':
        return representation(find(caller, id ?? '').referral, 200);
      case 'list':
        return list(caller, new URLSearchParams(search));
      case 'patch':
        return patch(caller, id ?? '', parseJson(raw), req);
      case 'put':
        return put(caller, id ?? '', parseJson(raw), req);
    }
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => void handle(req, res));

  const stats = (): PartnerCenterStats => ({
    calls: Object.fromEntries(Object.entries(calls).map(([op, byStatus]) => [op, { ...byStatus }])),
    faults: faults.counts(),
    idempotentReplays,
    referrals: store.size,
  });

  const reset = (): void => {
    store.clear();
    calls = {};
    idempotentReplays = 0;
    faults.clear();
    faults.resetCounts();
  };

  return {
    url,
    referralsUrl,
    referrals: () => store.all(),
    stats,
    setFaults: (f) => void faults.set(f),
    clearFaults: () => faults.clear(),
    reset,
    close: () => closeServer(server),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function nonNegativeInteger(value: string | null, name: string): number | undefined {
  if (value === null) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw invalidRequest(`${name} must be a non-negative integer.`, name);
  return n;
}

function parseOrderBy(value: string | null): Array<{ field: string; descending: boolean }> {
  if (value === null || value.trim() === '') return [];
  return value.split(',').map((part) => {
    const [field, direction, extra] = part.trim().split(/\s+/);
    if (
      !ORDERABLE.has(field) ||
      extra !== undefined ||
      (direction !== undefined && direction !== 'asc' && direction !== 'desc')
    ) {
      throw invalidRequest(
        `Invalid $orderby '${part.trim()}': use createdDateTime or updatedDateTime, then asc or desc.`,
        '$orderby',
      );
    }
    return { field, descending: direction === 'desc' };
  });
}

function parseSelect(value: string | null): string[] | undefined {
  if (value === null || value.trim() === '') return undefined;
  const fields = value.split(',').map((f) => f.trim());
  if (fields.some((f) => !/^[A-Za-z][A-Za-z0-9]*$/.test(f)))
    throw invalidRequest('$select takes a comma-separated list of top-level property names.', '$select');
  return fields;
}

function pick(referral: SimulatedReferral, fields: readonly string[]): JsonObject {
  const out: JsonObject = { id: referral.id };
  for (const field of fields) if (field in referral) out[field] = referral[field];
  return out;
}

function encodeSkipToken(offset: number, remaining: number | undefined): string {
  return Buffer.from(JSON.stringify(remaining === undefined ? { o: offset } : { o: offset, r: remaining })).toString(
    'base64url',
  );
}

function decodeSkipToken(token: string): { offset: number; remaining?: number } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; r?: unknown };
    if (
      Number.isSafeInteger(parsed.o) &&
      (parsed.o as number) >= 0 &&
      (parsed.r === undefined || (Number.isSafeInteger(parsed.r) && (parsed.r as number) >= 0))
    ) {
      return { offset: parsed.o as number, remaining: parsed.r as number | undefined };
    }
  } catch {
    /* fall through */
  }
  throw invalidRequest('The $skiptoken is not valid: follow @odata.nextLink as given.', '$skiptoken');
}
