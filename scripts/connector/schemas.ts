/**
 * The zod schemas of what the connector's operations answer and accept beyond the referral contract in
 * shared/referral: the tracking view (shared/workflow/trackingView.ts, by hand, with titles and
 * descriptions for the flow designer; a compile-time check keeps the two together), the RFC 9457 problem
 * and the co-sell upgrade body.
 */
import { z } from 'zod';
import { coSellSchema } from '../../shared/referral';
import { TrackingState } from '../../shared/tracking/states';
import { Direction, HistorySource, MicrosoftDecision, TrackingStep } from '../../shared/tracking/trackingRecord';
import type { TrackingView } from '../../shared/workflow/trackingView';

const trackingErrorSchema = z.object({
  step: z
    .enum(TrackingStep)
    .meta({ 'x-ms-summary': 'Failed Step' })
    .describe('Which step failed: validation, partner (the partner referral) or microsoft (the Microsoft referral).'),
  status: z.number().int().optional().describe('The HTTP status Partner Center answered, when there was one.'),
  code: z.string().describe("A stable error code (Partner Center's, or the bridge's)."),
  message: z.string().describe('What went wrong (never customer data).'),
  errors: z
    .array(
      z.object({
        pointer: z
          .string()
          .optional()
          .describe('JSON pointer into the request (for example /details/dealValue); absent for a header.'),
        header: z.string().optional().describe('The request header at fault (for example Idempotency-Key).'),
        code: z.string().describe('A stable machine-readable code (required, invalid_enum, too_long, ...).'),
        message: z.string().describe('What is wrong with the field.'),
      }),
    )
    .optional()
    .describe('Field errors of a validation failure.'),
});

/** The tracking view every referral operation answers with. Checked against {@link TrackingView} below. */
export const trackingViewSchema = z.object({
  trackingId: z.string().describe('The id of the referral request in the bridge (also the last segment of Location).'),
  state: z
    .enum(TrackingState)
    .meta({ 'x-ms-summary': 'Tracking State' })
    .describe(
      'Where the request is: Received, CreatingPartner, LinkQueued, CreatingMicrosoft, Completed, Linked, Rejected or AwaitingReauthorization; Inbound for a referral the bridge did not create.',
    ),
  final: z.boolean().describe('True when the state will not change any more (Completed, Linked, Rejected, Inbound).'),
  dealType: z.string().describe('Private, PartnerLed or CoSell.'),
  direction: z
    .enum(Direction)
    .optional()
    .describe('outbound: the bridge created the referral; inbound: someone else did (a lead, a deal made in the UI).'),
  partnerReferral: z
    .object({
      id: z.string().describe('The id of your referral in Partner Center.'),
      engagementId: z
        .string()
        .optional()
        .describe('The engagement shared by your referral and the Microsoft referral.'),
      status: z.string().optional().describe('Partner Center status: New, Active or Closed.'),
      substatus: z.string().optional().describe('Partner Center substatus (Pending, Accepted, Won, Lost, ...).'),
      statusReason: z.string().optional().describe("Partner Center's reason for the status, when it gives one."),
      updatedDateTime: z.string().optional().describe('When Partner Center last changed the referral (UTC, ISO 8601).'),
      name: z.string().optional().describe('The deal name.'),
      dealValue: z.number().optional().describe('The deal value.'),
      currency: z.string().optional().describe('The deal currency (ISO 4217).'),
      closingDateTime: z.string().optional().describe('The expected closing date (UTC, ISO 8601).'),
    })
    .optional()
    .describe('Your referral, once Partner Center created it, with what Partner Center last said about it.'),
  microsoftReferral: z
    .object({ id: z.string().describe('The id of the Microsoft referral in the same engagement.') })
    .optional()
    .describe('The linked Microsoft referral of a CoSell deal.'),
  microsoft: z
    .object({
      decision: z
        .enum(MicrosoftDecision)
        .meta({ 'x-ms-summary': 'Microsoft Decision' })
        .describe("Microsoft's answer: Pending, Accepted, Declined or Expired."),
      msxId: z
        .string()
        .optional()
        .describe('The Microsoft CRM identifier (trackingInfo.microsoftMsxId) once accepted.'),
      reason: z.string().optional().describe("Microsoft's reason (none for expired deals or deals under USD 25,000)."),
      decidedAt: z.string().optional().describe('When the decision was seen made (UTC, ISO 8601).'),
      respondBy: z.string().optional().describe('14 days after the Microsoft referral was created (UTC, ISO 8601).'),
    })
    .optional()
    .describe("Microsoft's answer to a CoSell request."),
  history: z
    .array(
      z.object({
        at: z.string().describe('When (UTC, ISO 8601).'),
        source: z.enum(HistorySource).describe('Where the change came from: event, reconcile or us.'),
        kind: z.string().describe('What changed: status, deal, microsoft, inbound, ...'),
        from: z.string().optional().describe('The value before.'),
        to: z.string().optional().describe('The value after.'),
        note: z.string().optional().describe('A short note (field names, codes).'),
      }),
    )
    .optional()
    .describe('What changed, newest first (bounded).'),
  lastError: trackingErrorSchema.optional().describe('The last failure recorded (a Rejected request says why here).'),
  parkedFrom: z
    .enum(TrackingState)
    .optional()
    .describe('The state an AwaitingReauthorization request resumes to once a new refresh token is stored.'),
  callback: z
    .object({
      state: z.enum(['pending', 'delivered', 'failed']).describe('Delivery of the callback.'),
      failure: z.string().optional().describe('Why the last delivery failed (a stable code).'),
    })
    .optional()
    .describe("The callback's delivery, when the request has a callbackUrl."),
  createdAt: z.string().describe('When the bridge received the request (UTC, ISO 8601).'),
  updatedAt: z.string().describe('When the request last changed (UTC, ISO 8601).'),
  links: z
    .object({
      self: z.string().meta({ 'x-ms-summary': 'Status URL' }).describe('The absolute status URL (GET it to poll).'),
    })
    .describe('Links.'),
});

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Fails to compile when shared/workflow/trackingView.ts and the schema above part ways. */
const trackingViewSchemaMatchesTrackingView: Equals<z.infer<typeof trackingViewSchema>, TrackingView> = true;
void trackingViewSchemaMatchesTrackingView;

/** The RFC 9457 problem (application/problem+json) every failing operation answers with. */
export const problemSchema = z.object({
  type: z.string().meta({ 'x-ms-summary': 'Problem Type' }).describe('A URI naming the kind of problem.'),
  title: z.string().meta({ 'x-ms-summary': 'Problem Title' }).describe('A short summary of the problem.'),
  status: z.number().int().meta({ 'x-ms-summary': 'HTTP Status' }).describe('The HTTP status.'),
  detail: z.string().optional().meta({ 'x-ms-summary': 'Problem Detail' }).describe('What happened and what to do.'),
  instance: z.string().optional().meta({ 'x-ms-summary': 'Problem Instance' }),
  errors: trackingErrorSchema.shape.errors.describe(
    'Field errors: JSON pointers into your request, with a code and a message.',
  ),
  trackingId: z.string().optional().describe('The tracking id, when the request was recorded.'),
  partnerCenterError: z
    .object({ status: z.number().int().optional(), code: z.string().optional() })
    .optional()
    .describe("Partner Center's status and error code when it refused the referral."),
  tracking: trackingViewSchema.optional().describe('The tracking view of a request Partner Center refused.'),
});

/**
 * The body of `POST /api/referrals/{trackingId}/co-sell`, from its documented contract (built by the co-sell
 * upgrade work): the create's `coSell` block and an optional `shareWithMicrosoft: true`.
 */
export const coSellUpgradeSchema = z.strictObject({
  coSell: coSellSchema,
  shareWithMicrosoft: z
    .literal(true)
    .optional()
    .describe('true shares a Private deal with Microsoft sellers first (this cannot be undone).'),
});
