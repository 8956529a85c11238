/**
 * The connector's operations (`paths` of apiDefinition.swagger.json): submit, validate, status, update
 * and co-sell upgrade of a referral, with their parameters and answers. The bodies and answers point
 * at the definitions of definitions.ts.
 */
import { definitionRef } from './definitions';
import type { Schema } from './swaggerSchema';

const ASYNC_DESCRIPTION =
  'When Partner Center is slow, throttling or failing (or the bridge links co-sell deals from its queue, LINK_MODE=queue), it answers 202 Accepted ' +
  "with a Location header (the status URL) and Retry-After and finishes from its queues. With the action's asynchronous pattern on (the default), " +
  'the flow engine polls Location until it answers 200 and hands you that final tracking view: check its state (Completed, Linked or Rejected).';

/** The operations by path, in the order they are written. */
export function connectorPaths(): Record<string, unknown> {
  const trackingResponse = (description: string, headers?: Record<string, Schema>): Schema => ({
    description,
    schema: definitionRef('TrackingView'),
    ...(headers ? { headers } : {}),
  });
  const locationHeaders = {
    Location: { type: 'string', description: 'The absolute status URL of the request.' },
    'Retry-After': { type: 'integer', description: 'Seconds to wait before polling Location.' },
  };
  const problemResponse = (description: string): Schema => ({ description, schema: definitionRef('Problem') });
  const trackingIdParameter = {
    name: 'trackingId',
    in: 'path',
    required: true,
    type: 'string',
    pattern: '^r[0-9a-f]{31}$',
    description: 'The trackingId of a Submit a referral answer.',
    'x-ms-summary': 'Tracking ID',
    'x-ms-url-encoding': 'single',
  };
  const keyParameter = (description: string) => ({
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    type: 'string',
    maxLength: 255,
    description,
    'x-ms-summary': 'Idempotency Key',
    'x-ms-visibility': 'important',
  });
  const bodyParameter = {
    name: 'body',
    in: 'body',
    required: true,
    description: 'The referral request.',
    'x-ms-summary': 'Referral',
    schema: definitionRef('ReferralRequest'),
  };

  return {
  '/referrals': {
    post: {
      operationId: 'SubmitReferral',
      summary: 'Submit a referral',
      description:
        'Validates the referral and creates it in Partner Center (and, for a CoSell deal, the linked Microsoft referral). ' +
        'Answers 201 with the tracking view once the work is done: Private and PartnerLed deals Completed, CoSell deals Linked (partner and Microsoft referral). ' +
        `${ASYNC_DESCRIPTION} Sending the same request again (same Idempotency-Key, or same externalReferenceId) answers 200 with the same tracking view and creates nothing.`,
      'x-ms-visibility': 'important',
      parameters: [
        {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          type: 'string',
          maxLength: 255,
          description:
            'A key unique to this referral, such as the CRM opportunity id. The same key with the same body returns the existing result; with another body, 422.',
          'x-ms-summary': 'Idempotency Key',
          'x-ms-visibility': 'important',
        },
        bodyParameter,
      ],
      responses: {
        '200': trackingResponse(
          'The same request was received before (header Idempotent-Replayed: true): its tracking view.',
          {
            'Idempotent-Replayed': { type: 'string', description: 'true for a replayed request.' },
          },
        ),
        '201': trackingResponse(
          'Done: the partner referral was created (Private, PartnerLed: Completed), and for CoSell the Microsoft referral linked (Linked).',
          {
            Location: locationHeaders.Location,
          },
        ),
        '202': trackingResponse(
          'Accepted; work continues from a queue (Partner Center slow or failing, or LINK_MODE=queue). Poll Location.',
          locationHeaders,
        ),
        '400': problemResponse('The referral is not valid: errors[] point at each field.'),
        '422': problemResponse(
          'Partner Center refused the referral, or the idempotency key was used for another request.',
        ),
        '503': problemResponse(
          'A dependency is down and nothing was recorded: retry with the same Idempotency-Key.',
        ),
      },
    },
  },
  '/referrals/validate': {
    post: {
      operationId: 'ValidateReferral',
      summary: 'Validate a referral',
      description:
        'Checks a referral without sending it anywhere and answers with the referral exactly as it would be sent to Partner Center (keys normalised, deal-type flags filled in), or a problem listing every invalid field.',
      'x-ms-visibility': 'advanced',
      parameters: [bodyParameter],
      responses: {
        '200': { description: 'The referral is valid.', schema: definitionRef('ValidationResult') },
        '400': problemResponse('The referral is not valid: errors[] point at each field.'),
      },
    },
  },
  '/referrals/{trackingId}': {
    get: {
      operationId: 'GetReferralStatus',
      summary: 'Get the status of a referral',
      description:
        'The tracking view of a referral request: its state and the ids of the referrals created. Answers 202 with Location and Retry-After while work continues (the flow engine polls until it is final) and 200 once final.',
      'x-ms-visibility': 'advanced',
      parameters: [trackingIdParameter],
      responses: {
        '200': trackingResponse('The request is final (Completed, Linked or Rejected).'),
        '202': trackingResponse('Work continues: poll Location.', locationHeaders),
        '404': problemResponse('No referral request has this tracking id.'),
      },
    },
    patch: {
      operationId: 'UpdateReferral',
      summary: 'Update a referral',
      description:
        'Changes fields of a referral in Partner Center (name, status and substatus, status reason, qualification, deal value, currency, closing date, notes; team members to add). ' +
        'Answers 200 with the tracking view (its referral and history show the change). A field someone else changed in Partner Center since the bridge last saw it is never overwritten: 409 with both values. ' +
        'Sending the same change again with the same Idempotency-Key changes nothing twice.',
      'x-ms-visibility': 'important',
      consumes: ['application/json'],
      parameters: [
        trackingIdParameter,
        keyParameter(
          'A key unique to this change, such as the CRM change id. The same key with the same body returns the first answer; with another body, 422.',
        ),
        {
          name: 'body',
          in: 'body',
          required: true,
          description: 'The fields to change.',
          'x-ms-summary': 'Changes',
          schema: definitionRef('ReferralChanges'),
        },
      ],
      responses: {
        '200': trackingResponse('Applied: the tracking view shows the referral as Partner Center now holds it.'),
        '202': trackingResponse(
          'Accepted; the change continues from a queue (Partner Center slow or failing). Poll Location.',
          locationHeaders,
        ),
        '400': problemResponse(
          'The change is not valid (a read-only field, a forbidden status move, ...): errors[] point at each field.',
        ),
        '404': problemResponse('No referral request has this tracking id.'),
        '409': problemResponse(
          'The referral is in a terminal state (type ending #terminal-state), someone else changed a field of this change (#conflict, with both values), or it does not exist in Partner Center yet (#not-created).',
        ),
        '422': problemResponse(
          'Partner Center refused the change, or the idempotency key was used for another change.',
        ),
      },
    },
  },
  '/referrals/{trackingId}/co-sell': {
    post: {
      operationId: 'RequestCoSell',
      summary: 'Ask Microsoft to co-sell',
      description:
        'Upgrades a Private or PartnerLed deal to co-sell: shares it with Microsoft (when shareWithMicrosoft is true) and creates the linked Microsoft referral with your notes and the help you ask for. ' +
        ASYNC_DESCRIPTION,
      'x-ms-visibility': 'important',
      parameters: [
        trackingIdParameter,
        keyParameter('A key unique to this request. The same key with the same body returns the first answer.'),
        {
          name: 'body',
          in: 'body',
          required: true,
          description: 'What Microsoft should know and help with.',
          'x-ms-summary': 'Co-Sell',
          schema: definitionRef('CoSellUpgrade'),
        },
      ],
      responses: {
        '200': trackingResponse('The deal was upgraded before (a replay): its tracking view.'),
        '201': trackingResponse('Done: the Microsoft referral is linked (Linked).'),
        '202': trackingResponse('Accepted; the upgrade continues from a queue. Poll Location.', locationHeaders),
        '400': problemResponse('The co-sell block is not valid: errors[] point at each field.'),
        '409': problemResponse(
          'The deal cannot be upgraded (a terminal state, or it is not shared with Microsoft).',
        ),
      },
    },
  },
  };
}
