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
 * - Faults (latency, 429, 500/503, commit-then-drop, client errors) and the loopback control surface
 *   `/_sandbox/*`: Microsoft's decision, inbound referrals, a person's edit in the UI, event inspection.
 * - Webhooks (../shared/reference/partner-center-lifecycle.md): the registration API under
 *   `/webhooks/v1/registration` (token audience `https://api.partnercenter.microsoft.com`), events for
 *   every change, signed with a certificate of the sandbox CA served as DER from a small TLS listener
 *   (the app's verifier fetches it over https only), delivered with retries (./webhooks.ts).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  FaultInjector,
  SandboxHttpError,
  closeServer,
  delay,
  createPrng,
  increment,
  isLoopback,
  listenOnLoopback,
  parseJson,
  readBody,
  sendJson,
  serveFaultControl,
  type FaultKind,
  type FaultPlan,
} from '../http-util';
import { AccessTokenVerifier, type EntraVerification } from '../entra/tokenVerifier';
import { createSandboxTls, issueSigningCertificate, type SandboxTls } from '../tls';
import { PartnerApiError, PartnerApiErrorCode, WebhookApiError, invalidRequest } from './errors';
import { applyJsonPatch } from './jsonPatch';
import { parseODataFilter, type ReferralPredicate } from './odataFilter';
import {
  SERVER_OWNED_FIELDS,
  isGuid,
  isObject,
  readOnlyProblem,
  transitionProblem,
  validateReferral,
  type JsonObject,
} from './referralRules';
import { ReferralStore, type SimulatedReferral, type StoredReferral } from './referralStore';
import {
  CLIENT_ERROR_CODES,
  parsePartnerCenterFaults,
  type ClientErrorFaults,
  type ParsedPartnerCenterFaults,
  type PartnerCenterFaultConfig,
} from './webhookFaults';
import {
  DeliveryStatus,
  SUPPORTED_WEBHOOK_EVENTS,
  WebhookDispatcher,
  WebhookEventName,
  type Delivery,
  type DeliveryCounts,
  type WebhookEventBody,
  type WebhookRegistration,
} from './webhooks';

export type { PartnerCenterFaultConfig } from './webhookFaults';

/** The audience Partner Center referrals tokens carry. */
export const PARTNER_CENTER_AUDIENCE = 'https://api.partner.microsoft.com';

/** Path of the referrals collection. */
export const REFERRALS_PATH = '/v1.0/engagements/referrals';

/** The audience of Webhook API tokens (another resource than the referrals API). */
export const WEBHOOK_AUDIENCE = 'https://api.partnercenter.microsoft.com';

/** Path of the Webhook registration API (on the simulator's origin). */
export const WEBHOOK_REGISTRATION_PATH = '/webhooks/v1/registration';

/** Host of the events' `ResourceUri` (documented examples: another host and path than the API). */
export const EVENT_RESOURCE_BASE_URL = 'https://api.partnercenter.microsoft.com';

/** Path of the signing certificate on the simulator's TLS listener (named like Partner Center's). */
export const SIGNING_CERTIFICATE_PATH = '/cert/pcnotifications-dispatch.microsoft.com.cer';

/** Subject of the signing certificate (issued by the sandbox CA, whose organization is the same). */
export const SIGNING_CERTIFICATE_SUBJECT = {
  commonName: 'pcnotifications-dispatch.microsoft.com',
  organization: 'Microsoft Corporation',
} as const;

/** Microsoft's answers on the Microsoft referral of an engagement (`/_sandbox/referrals/{id}/microsoft-decision`). */
export const MicrosoftDecision = { Accepted: 'Accepted', Declined: 'Declined', Expired: 'Expired' } as const;
export type MicrosoftDecision = (typeof MicrosoftDecision)[keyof typeof MicrosoftDecision];

/** Webhook options of {@link startPartnerCenter}. */
export interface PartnerCenterWebhookOptions {
  /** Origin of the events' `ResourceUri`. @default {@link EVENT_RESOURCE_BASE_URL} */
  eventResourceBaseUrl?: string;
  /**
   * Which referral the `related-referral-*` events name [inferred, undocumented]: `related` (default) the
   * Microsoft referral that changed, `own` the partner's referral of the same engagement.
   */
  relatedEventResource?: 'related' | 'own';
  /** Port of the TLS listener serving the signing certificate. @default 0 (a free port) */
  certificatePort?: number;
  /** @default 10 (documented) */
  maxAttempts?: number;
  /** Wait before the second attempt, doubled per attempt (unpublished). @default 100 */
  retryBaseDelayMs?: number;
  /** @default 2000 */
  retryMaxDelayMs?: number;
  /** @default 10000 */
  attemptTimeoutMs?: number;
  /** With `SignatureTokenToMsSignatureHeader`, `x-ms-signature` carries `Signature <b64>` (true) or the bare base64. @default true [inferred] */
  msSignatureValuePrefix?: boolean;
  /** Validation events accepted per organization and minute. @default 2 (documented) */
  validationEventsPerMinute?: number;
  /** Accepted Webhook API token audience. @default {@link WEBHOOK_AUDIENCE} */
  audience?: string;
}

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
  /** Faults at start: the shared ones plus `events` and `clientErrors` (./webhookFaults.ts). */
  faults?: PartnerCenterFaultConfig;
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
  /**
   * The sandbox CA (and its key): the signing certificate of webhook deliveries is issued by it, and
   * https receivers are trusted with it. @default a CA generated for this simulator alone
   */
  tls?: SandboxTls;
  webhooks?: PartnerCenterWebhookOptions;
  /**
   * Status of a refused change to a referral in a terminal state (Won, Lost, Declined, Expired); the
   * documentation gives none [inferred]. @default 400
   */
  terminalRefusalStatus?: 400 | 409;
  nowMs?: () => number;
}

/** Counters served by `GET /_sandbox/stats`. */
export interface PartnerCenterStats {
  /** Calls by operation, then by HTTP status (`dropped` for commit-then-drop). */
  calls: Record<string, Record<string, number>>;
  /** Injected faults by kind (`clientError`: the `clientErrors` entry). */
  faults: Record<FaultKind | 'clientError', number>;
  /** Webhook events and deliveries. */
  events: DeliveryCounts;
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
  /** `https://127.0.0.1:<port>/cert/pcnotifications-dispatch.microsoft.com.cer`: the DER signing certificate. */
  certificateUrl: string;
  /** The signing certificate (PEM), issued by the sandbox CA. */
  signingCertificatePem: string;
  /** The CA the signing certificate (and the certificate listener's TLS) chains to. */
  caPem: string;
  /** Everything stored, every organization, in creation order. */
  referrals(): SimulatedReferral[];
  stats(): PartnerCenterStats;
  /** Replaces the faults (validated: throws on an invalid configuration). */
  setFaults(faults: PartnerCenterFaultConfig): void;
  clearFaults(): void;
  /**
   * Registers (overwrites) the webhook of `organizationId` (default: `partnerOrganization`, else
   * `sandbox-partner`) without a token: what the sandbox launcher calls for the app's events URL.
   * `events` default: every supported event.
   */
  registerWebhook(registration: {
    webhookUrl: string;
    events?: readonly WebhookEventName[];
    signatureInMsHeader?: boolean;
    organizationId?: string;
  }): WebhookRegistration;
  /** Deliveries so far, oldest first. */
  deliveries(): Delivery[];
  /** Resolves when no webhook delivery is pending. */
  eventsSettled(): Promise<void>;
  /** Forgets referrals, recorded creates, deliveries, counters and faults (`registrations: true`: those too). */
  reset(options?: { registrations?: boolean }): void;
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
  const webhookOptions = options.webhooks ?? {};
  const webhookAudience = webhookOptions.audience ?? WEBHOOK_AUDIENCE;
  const webhookVerifier = options.entra
    ? new AccessTokenVerifier(options.entra, { audiences: [webhookAudience], nowMs })
    : undefined;
  const eventResourceBase = (webhookOptions.eventResourceBaseUrl ?? EVENT_RESOURCE_BASE_URL).replace(/\/+$/, '');
  const terminalRefusalStatus = options.terminalRefusalStatus ?? 400;
  const validationEventsPerMinute = webhookOptions.validationEventsPerMinute ?? 2;
  const initialFaults = parsePartnerCenterFaults(options.faults ?? {});
  const store = new ReferralStore();
  const faults = new FaultInjector({
    seed: options.seed,
    faults: initialFaults.shared,
    defaultDropOperations: ['create'],
    nowMs,
  });
  let clientErrors: ClientErrorFaults | undefined = initialFaults.clientErrors;
  let clientErrorRandom = createPrng(options.seed ?? 1);
  let clientErrorCount = 0;
  let calls: Record<string, Record<string, number>> = {};
  let idempotentReplays = 0;
  const validationRequests = new Map<string, number[]>();

  // The signing certificate, served as DER over https (the app's verifier fetches certificates over https only).
  const tls = options.tls ?? (await createSandboxTls());
  const signing = await issueSigningCertificate(tls, SIGNING_CERTIFICATE_SUBJECT);
  const certificateServer = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === SIGNING_CERTIFICATE_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'Content-Type': 'application/pkix-cert', 'Content-Length': signing.certDer.length });
      res.end(req.method === 'HEAD' ? undefined : signing.certDer);
      return;
    }
    sendJson(res, 404, { error: { code: 'itemNotFound', message: `No certificate at ${path}` } });
  });
  const certificatePort = await listenOnLoopback(certificateServer, webhookOptions.certificatePort);
  const certificateUrl = `https://127.0.0.1:${certificatePort}${SIGNING_CERTIFICATE_PATH}`;
  const dispatcher = new WebhookDispatcher({
    signingKeyPem: signing.keyPem,
    certificateUrl,
    caPem: tls.caPem,
    maxAttempts: webhookOptions.maxAttempts,
    retryBaseDelayMs: webhookOptions.retryBaseDelayMs,
    retryMaxDelayMs: webhookOptions.retryMaxDelayMs,
    attemptTimeoutMs: webhookOptions.attemptTimeoutMs,
    msSignatureValuePrefix: webhookOptions.msSignatureValuePrefix,
    seed: options.seed,
    nowMs,
  });
  dispatcher.setFaults(initialFaults.events);

  const server = http.createServer();
  let port: number;
  try {
    port = await listenOnLoopback(server, options.port);
  } catch (error) {
    await closeServer(certificateServer);
    throw error;
  }
  const url = `http://127.0.0.1:${port}`;
  const referralsUrl = `${url}${REFERRALS_PATH}`;
  const defaultOrganization = options.partnerOrganization ?? { id: 'sandbox-partner', name: 'Sandbox partner' };

  const links = (id: string, engagementId: string) => ({
    relatedReferrals: { uri: `${referralsUrl}?$filter=engagementId eq '${engagementId}'`, method: 'GET' },
    self: { uri: `${referralsUrl}/${id}`, method: 'GET' },
  });
  const newETag = () => `"${randomUUID()}"`;
  const nowIso = () => new Date(nowMs()).toISOString();
  /** A change's `updatedDateTime`: now, and always later than the previous one (receivers order by it). */
  const updatedAfter = (previous: string) => new Date(Math.max(nowMs(), Date.parse(previous) + 1)).toISOString();

  // -------------------------------------------------------------------------------------------
  // Events
  // -------------------------------------------------------------------------------------------

  /**
   * The event a real Partner Center sends for a change to `stored`, to the organization that sees it:
   * `referral-*` for the partner's own (and inbound) referrals, `related-referral-*` for the Microsoft
   * referral of an engagement.
   */
  const publishChange = (stored: StoredReferral, change: 'created' | 'updated'): Delivery[] => {
    const referral = stored.referral;
    const related = referral.organizationId === 'msft';
    const eventName = related
      ? change === 'created'
        ? WebhookEventName.relatedReferralCreated
        : WebhookEventName.relatedReferralUpdated
      : change === 'created'
        ? WebhookEventName.referralCreated
        : WebhookEventName.referralUpdated;
    let resourceId = referral.id;
    if (related && webhookOptions.relatedEventResource === 'own') {
      const own = store
        .inEngagement(referral.engagementId)
        .find((s) => s.referral.organizationId !== 'msft' && s.ownerOrganizationId === stored.ownerOrganizationId);
      if (own) resourceId = own.referral.id;
    }
    const body: WebhookEventBody = {
      EventName: eventName,
      ResourceUri: `${eventResourceBase}/engagements/v1/referrals/${resourceId}`,
      ResourceName: 'referral',
      AuditUri: null,
      ResourceChangeUtcDate: referral.updatedDateTime,
    };
    return dispatcher.publish(stored.ownerOrganizationId, body);
  };

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
    publishChange(store.add(referral, caller.organizationId), 'created');
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
      throw new PartnerApiError(
        terminalRefusalStatus,
        PartnerApiErrorCode.invalidRequest,
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
    const readOnly = readOnlyProblem(previous, next);
    if (readOnly) throw invalidRequest(readOnly.message, readOnly.target);
    const now = updatedAfter(previous.updatedDateTime);
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
    publishChange(stored, 'updated');
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
      if (bodyId !== undefined && asText(bodyId).toLowerCase() !== stored.referral.id)
        throw invalidRequest('The id in the body does not match the URL.', 'id');
      const bodyEngagement = Object.entries(body).find(([k]) => k.toLowerCase() === 'engagementid')?.[1];
      if (
        bodyEngagement !== undefined &&
        bodyEngagement !== null &&
        asText(bodyEngagement).toLowerCase() !== stored.referral.engagementId
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
          const x = asText(a.referral[field] ?? '');
          const y = asText(b.referral[field] ?? '');
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
    if (path === '/_sandbox/faults') {
      if (method === 'POST') {
        applyFaults(parsePartnerCenterFaults(parseJson(await readBody(req)) ?? {}));
        return sendJson(res, 200, faultConfig());
      }
      if (method === 'GET') return sendJson(res, 200, faultConfig());
      if (method === 'DELETE') {
        clearAllFaults();
        return sendJson(res, 204, undefined);
      }
    }
    if (await serveFaultControl(req, res, faults)) return;
    if (path === '/_sandbox/stats' && method === 'GET') return sendJson(res, 200, stats());
    if (path === '/_sandbox/referrals' && method === 'GET')
      return sendJson(res, 200, { value: store.all(), count: store.size });
    if (path === '/_sandbox/events' && method === 'GET') {
      const registrations = Object.fromEntries(
        dispatcher.registeredOrganizations().map((org) => [org, dispatcher.registration(org)]),
      );
      return sendJson(res, 200, { counts: dispatcher.counts(), deliveries: dispatcher.deliveries(), registrations });
    }
    if (path === '/_sandbox/reset' && method === 'POST') {
      const body = parseJson(await readBody(req));
      reset({ registrations: isObject(body) && body.registrations === true });
      return sendJson(res, 204, undefined);
    }
    if (path === '/_sandbox/inbound-referrals' && method === 'POST') {
      const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      return sendJson(res, 201, inbound(parseJson(await readBody(req)), query.get('organizationId') ?? undefined));
    }
    const referralAction = /^\/_sandbox\/referrals\/([^/]+)\/(microsoft-decision|edit)$/.exec(path);
    if (referralAction && method === 'POST') {
      const id = decodeURIComponent(referralAction[1]);
      const body = parseJson(await readBody(req));
      const referral = referralAction[2] === 'edit' ? edit(id, body) : microsoftDecision(id, body);
      return sendJson(res, 200, referral, { ETag: referral.eTag });
    }
    sendJson(
      res,
      404,
      new PartnerApiError(404, PartnerApiErrorCode.itemNotFound, `No control route ${method} ${path}`).toBody(),
    );
  };

  // -------------------------------------------------------------------------------------------
  // Changes made by others than the caller: Microsoft, a sender of an inbound referral, a person in the UI
  // -------------------------------------------------------------------------------------------

  const findAny = (id: string): StoredReferral => {
    const stored = store.find(id);
    if (!stored)
      throw new PartnerApiError(404, PartnerApiErrorCode.itemNotFound, `The referral ${id} was not found.`, 'id');
    return stored;
  };

  /** A person edits the referral in the Partner Center UI: same rules as PATCH, no If-Match. */
  const edit = (id: string, operations: unknown): SimulatedReferral => {
    const stored = findAny(id);
    refuseTerminal(stored);
    return commitUpdate(stored, applyJsonPatch(stored.referral, operations));
  };

  /**
   * Microsoft answers on the Microsoft referral of the engagement of `id` (either referral of it):
   * Accepted → Active/Accepted with `trackingInfo.microsoftMsxId`; Declined → Closed/Declined; Expired →
   * Closed/Expired; `statusReason` = `reason` (null when none: no reason is shown for expired deals or
   * deals under USD 25,000).
   */
  const microsoftDecision = (id: string, body: unknown): SimulatedReferral => {
    if (!isObject(body)) throw invalidRequest('The body must be { "decision": "Accepted" | "Declined" | "Expired" }.');
    const decision = Object.values(MicrosoftDecision).find((d) => d === body.decision);
    if (!decision) throw invalidRequest('decision must be one of Accepted, Declined, Expired.', 'decision');
    if (body.reason !== undefined && body.reason !== null && typeof body.reason !== 'string')
      throw invalidRequest('reason must be a string.', 'reason');
    if (body.msxId !== undefined && typeof body.msxId !== 'string')
      throw invalidRequest('msxId must be a string.', 'msxId');
    const named = findAny(id);
    const stored =
      named.referral.organizationId === 'msft'
        ? named
        : store.inEngagement(named.referral.engagementId).find((s) => s.referral.organizationId === 'msft');
    if (!stored) {
      throw new PartnerApiError(
        409,
        PartnerApiErrorCode.invalidRequest,
        `The engagement ${named.referral.engagementId} has no Microsoft referral: create the co-sell step first.`,
        'engagementId',
      );
    }
    const previous = stored.referral;
    if (previous.status === 'Closed') {
      throw new PartnerApiError(
        409,
        PartnerApiErrorCode.invalidRequest,
        `The Microsoft referral is closed (${previous.substatus}): Microsoft can no longer answer on it.`,
        'status',
      );
    }
    const [status, substatus] = decision === 'Accepted' ? ['Active', 'Accepted'] : ['Closed', decision];
    const msxId =
      typeof body.msxId === 'string'
        ? body.msxId
        : decision === 'Accepted'
          ? `7-${randomBytes(6).toString('hex').toUpperCase().slice(0, 10)}`
          : undefined;
    const trackingInfo = isObject(previous.trackingInfo) ? { ...previous.trackingInfo } : {};
    if (msxId !== undefined) trackingInfo.microsoftMsxId = msxId;
    const now = updatedAfter(previous.updatedDateTime);
    const referral = {
      ...previous,
      status,
      substatus,
      statusReason: typeof body.reason === 'string' ? body.reason : null,
      trackingInfo,
      updatedDateTime: now,
      ...(status === 'Closed' ? { closedDateTime: now } : {}),
      eTag: newETag(),
    } as SimulatedReferral;
    store.replace(stored, referral);
    publishChange(stored, 'updated');
    return referral;
  };

  /**
   * A referral addressed to the partner by Microsoft (default sender) or another organization
   * (`inviteContext.invitedBy`): direction Incoming, owned by `organizationId` (default: the partner
   * organization, else the last registered one), `referral-created`.
   */
  const inbound = (body: unknown, organizationId: string | undefined): SimulatedReferral => {
    const validated = validateReferral(body, { defaults: true });
    if ('error' in validated) throw validated.error;
    const input = validated.referral;
    const owner =
      organizationId ??
      options.partnerOrganization?.id ??
      dispatcher.registeredOrganizations().at(-1) ??
      defaultOrganization.id;
    const ownerName =
      owner === options.partnerOrganization?.id || owner === defaultOrganization.id
        ? defaultOrganization.name
        : 'Sandbox partner';
    const invite = isObject(input.inviteContext) ? input.inviteContext : {};
    const id = randomUUID();
    const engagementId = typeof input.engagementId === 'string' ? input.engagementId.toLowerCase() : randomUUID();
    const now = nowIso();
    const referral = {
      id,
      engagementId,
      organizationId: owner,
      organizationName: ownerName,
      ...UNSET_FIELDS,
      ...userFields(input),
      inviteContext: {
        ...invite,
        invitedBy: isObject(invite.invitedBy)
          ? invite.invitedBy
          : { organizationId: 'msft', organizationName: 'Microsoft' },
      },
      status: String(input.status),
      substatus: String(input.substatus),
      createdDateTime: now,
      updatedDateTime: now,
      ...(input.status === 'Closed' ? { closedDateTime: now } : {}),
      direction: 'Incoming',
      eTag: newETag(),
      links: links(id, engagementId),
    } as SimulatedReferral;
    publishChange(store.add(referral, owner), 'created');
    return referral;
  };

  // -------------------------------------------------------------------------------------------
  // Webhook registration API
  // -------------------------------------------------------------------------------------------

  /** The caller's organization for the Webhook API: App-only and App+User tokens are both accepted. */
  const webhookCaller = (req: IncomingMessage): string => {
    if (!authEnabled || !webhookVerifier) return defaultOrganization.id;
    const result = webhookVerifier.verify(req.headers.authorization);
    if (!result.ok) {
      throw new WebhookApiError(
        401,
        result.failure === 'wrongAudience'
          ? `The bearer token was not issued for ${webhookAudience}.`
          : 'The bearer token is missing or invalid.',
      );
    }
    if (options.partnerOrganization) return options.partnerOrganization.id;
    return typeof result.claims.tid === 'string' ? result.claims.tid : 'unknown-tenant';
  };

  const parseRegistration = (body: unknown) => {
    if (!isObject(body)) throw new WebhookApiError(400, 'The body must be { "WebhookUrl", "WebhookEvents": [...] }.');
    const field = (name: string) => Object.entries(body).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    const webhookUrl = field('WebhookUrl');
    const events = field('WebhookEvents');
    const inHeader = field('SignatureTokenToMsSignatureHeader');
    if (typeof webhookUrl !== 'string') throw new WebhookApiError(400, 'WebhookUrl is required.');
    let parsed: URL;
    try {
      parsed = new URL(webhookUrl);
    } catch {
      throw new WebhookApiError(400, 'WebhookUrl must be an absolute URL.');
    }
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
    if (!loopback)
      throw new WebhookApiError(400, 'The sandbox delivers to loopback URLs only (127.0.0.1, localhost, [::1]).');
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
      throw new WebhookApiError(400, 'WebhookUrl must be http(s).');
    if (!Array.isArray(events) || events.length === 0)
      throw new WebhookApiError(400, 'WebhookEvents must be a non-empty array of event names.');
    const unknown = events.filter((e) => !SUPPORTED_WEBHOOK_EVENTS.includes(e as WebhookEventName));
    if (unknown.length > 0)
      throw new WebhookApiError(
        400,
        `Unsupported event(s): ${unknown.map(String).join(', ')}. Supported: ${SUPPORTED_WEBHOOK_EVENTS.join(', ')}.`,
      );
    if (inHeader !== undefined && inHeader !== null && typeof inHeader !== 'boolean')
      throw new WebhookApiError(400, 'SignatureTokenToMsSignatureHeader must be a boolean.');
    return { webhookUrl, events: events as WebhookEventName[], signatureInMsHeader: inHeader === true };
  };

  const validationRecord = (organizationId: string, correlationId: string) => {
    const deliveries = dispatcher.deliveries().filter((d) => d.correlationId === correlationId);
    if (deliveries.length === 0 || deliveries[0].organizationId !== organizationId) return undefined;
    const [delivery] = deliveries;
    const status =
      delivery.status === DeliveryStatus.delivered
        ? 'completed'
        : delivery.status === DeliveryStatus.pending
          ? 'pending'
          : 'failed';
    return {
      correlationId,
      partnerId: organizationId,
      status,
      callbackUrl: delivery.url,
      results: delivery.attempts.map((a) => ({
        responseCode: a.responseCode ?? 0,
        responseMessage: a.responseCode !== undefined ? (http.STATUS_CODES[a.responseCode] ?? '') : '',
        systemError: a.error ?? null,
        dateTimeUtc: a.dateTimeUtc,
      })),
    };
  };

  const webhookApi = async (req: IncomingMessage, path: string): Promise<Outcome> => {
    const method = req.method ?? 'GET';
    const organizationId = webhookCaller(req);
    const sub = path.slice(WEBHOOK_REGISTRATION_PATH.length).replace(/\/+$/, '');
    if (sub === '') {
      if (method === 'GET') {
        const registration = dispatcher.registration(organizationId);
        if (!registration) throw new WebhookApiError(404, 'No webhook is registered for this partner.');
        return { status: 200, body: registration };
      }
      if (method === 'POST' || method === 'PUT') {
        const registration = parseRegistration(parseJson(await readBody(req)));
        return { status: 200, body: dispatcher.register(organizationId, registration) };
      }
      throw new WebhookApiError(405, `${method} is not allowed on ${path}.`);
    }
    if (sub === '/events') {
      if (method !== 'GET') throw new WebhookApiError(405, `${method} is not allowed on ${path}.`);
      return { status: 200, body: [...SUPPORTED_WEBHOOK_EVENTS] };
    }
    if (sub === '/validationEvents') {
      if (method !== 'POST') throw new WebhookApiError(405, `${method} is not allowed on ${path}.`);
      await readBody(req);
      const registration = dispatcher.registration(organizationId);
      if (!registration?.WebhookEvents.includes(WebhookEventName.testCreated))
        throw new WebhookApiError(400, 'Register the test-created event before asking for a validation event.');
      const now = nowMs();
      const recent = (validationRequests.get(organizationId) ?? []).filter((t) => now - t < 60_000);
      if (recent.length >= validationEventsPerMinute) {
        const retryAfterSeconds = Math.max(1, Math.ceil((recent[0] + 60_000 - now) / 1000));
        return {
          status: 429,
          body: new WebhookApiError(429, `At most ${validationEventsPerMinute} validation events per minute.`).toBody(),
          headers: { 'Retry-After': String(retryAfterSeconds) },
        };
      }
      validationRequests.set(organizationId, [...recent, now]);
      const correlationId = randomUUID();
      dispatcher.publish(
        organizationId,
        {
          EventName: WebhookEventName.testCreated,
          ResourceUri: `${eventResourceBase}${WEBHOOK_REGISTRATION_PATH}/validationEvents/${correlationId}`,
          ResourceName: 'test',
          AuditUri: null,
          ResourceChangeUtcDate: nowIso(),
        },
        correlationId,
      );
      return { status: 200, body: { correlationId } };
    }
    const validation = /^\/validationEvents\/([^/]+)$/.exec(sub);
    if (validation) {
      if (method !== 'GET') throw new WebhookApiError(405, `${method} is not allowed on ${path}.`);
      const record = validationRecord(organizationId, decodeURIComponent(validation[1]).toLowerCase());
      if (!record) throw new WebhookApiError(404, `No validation event ${validation[1]}.`);
      return { status: 200, body: record };
    }
    throw new WebhookApiError(404, `No resource at ${path}.`);
  };

  // -------------------------------------------------------------------------------------------
  // Faults of the simulator's own (clientErrors, events) beside the shared ones
  // -------------------------------------------------------------------------------------------

  const applyFaults = (parsed: ParsedPartnerCenterFaults): void => {
    faults.set(parsed.shared);
    if (parsed.shared.seed !== undefined) {
      clientErrorRandom = createPrng(parsed.shared.seed);
      dispatcher.reseed(parsed.shared.seed);
    }
    clientErrors = parsed.clientErrors;
    dispatcher.setFaults(parsed.events);
  };

  const clearAllFaults = (): void => {
    faults.clear();
    clientErrors = undefined;
    dispatcher.setFaults(undefined);
  };

  const faultConfig = (): PartnerCenterFaultConfig => {
    const events = dispatcher.faults();
    return {
      ...faults.config(),
      ...(Object.keys(events).length > 0 ? { events } : {}),
      ...(clientErrors ? { clientErrors: structuredClone(clientErrors) } : {}),
    };
  };

  /** The injected refusal of a call to `operation`, if the `clientErrors` fault picks it. */
  const injectedClientError = (operation: string): PartnerApiError | undefined => {
    const config = clientErrors;
    if (!config || (config.operations && !config.operations.includes(operation))) return undefined;
    if (clientErrorRandom() >= config.probability) return undefined;
    const statuses = config.statuses ?? [400];
    const status = statuses[Math.floor(clientErrorRandom() * statuses.length)] ?? 400;
    clientErrorCount++;
    return new PartnerApiError(
      status,
      CLIENT_ERROR_CODES[status],
      config.message ??
        `The request was refused (${status} ${http.STATUS_CODES[status] ?? ''}, injected by the simulator).`,
      config.target,
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
      if (path === WEBHOOK_REGISTRATION_PATH || path.startsWith(`${WEBHOOK_REGISTRATION_PATH}/`)) {
        operation = 'webhooks';
        try {
          return reply(await webhookApi(req, path));
        } catch (error) {
          if (error instanceof WebhookApiError) return reply({ status: error.status, body: error.toBody() });
          if (error instanceof SandboxHttpError)
            return reply({ status: error.status, body: new WebhookApiError(error.status, error.message).toBody() });
          throw error;
        }
      }
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
      const refused = injectedClientError(operation);
      if (refused) return reply({ status: refused.status, body: refused.toBody() });

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
    faults: { ...faults.counts(), clientError: clientErrorCount },
    events: dispatcher.counts(),
    idempotentReplays,
    referrals: store.size,
  });

  const reset = (resetOptions: { registrations?: boolean } = {}): void => {
    store.clear();
    calls = {};
    idempotentReplays = 0;
    faults.clear();
    faults.resetCounts();
    clientErrors = undefined;
    clientErrorCount = 0;
    clientErrorRandom = createPrng(options.seed ?? 1);
    validationRequests.clear();
    dispatcher.reset(resetOptions);
  };

  return {
    url,
    referralsUrl,
    certificateUrl,
    signingCertificatePem: signing.certPem,
    caPem: tls.caPem,
    referrals: () => store.all(),
    stats,
    setFaults: (f) => applyFaults(parsePartnerCenterFaults(f)),
    clearFaults: clearAllFaults,
    registerWebhook: (registration) =>
      dispatcher.register(registration.organizationId ?? defaultOrganization.id, {
        webhookUrl: registration.webhookUrl,
        events: registration.events ?? SUPPORTED_WEBHOOK_EVENTS,
        signatureInMsHeader: registration.signatureInMsHeader,
      }),
    deliveries: () => dispatcher.deliveries(),
    eventsSettled: () => dispatcher.settled(),
    reset,
    close: async () => {
      dispatcher.close();
      await Promise.all([closeServer(server), closeServer(certificateServer)]);
    },
  };
}

/** A JSON value as text: strings as they are, anything else as JSON. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
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
