/**
 * The `definitions` of the connector: the referral request and referral (from the zod contract in
 * shared/referral), the tracking view, the validation result, the change and co-sell bodies and the
 * problem, each converted to Swagger 2.0 by {@link toSwaggerSchema}.
 */
import { z } from 'zod';
import { coSellSchema, DealType, referralRequestSchema, referralSchema } from '../../shared/referral';
import { changeFieldsSchema } from '../../shared/referral/changeSchema';
import { coSellUpgradeSchema, problemSchema, trackingViewSchema } from './schemas';
import { type Schema, SchemaRole, toSwaggerSchema } from './swaggerSchema';
import { CHANGE_SUMMARIES, REFERRAL_SUMMARIES } from './wording';

function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Schema {
  return z.toJSONSchema(schema, { target: 'draft-4', io, unrepresentable: 'any' });
}

/** A `$ref` to one of the definitions (`#/definitions/<name>`). */
export const definitionRef = (name: string): Schema => ({ $ref: `#/definitions/${name}` });

/** The definitions of apiDefinition.swagger.json, in the order they are written. */
export function connectorDefinitions(): Record<string, Schema> {
  const definitions: Record<string, Schema> = {};
  definitions.ReferralRequest = {
    ...toSwaggerSchema(jsonSchemaOf(referralRequestSchema, 'input'), {
      role: SchemaRole.Request,
      summaries: REFERRAL_SUMMARIES,
      definitions,
    }),
    description:
      "A referral request: the Partner Center Referral resource (camelCase) plus the bridge's own dealType, coSell and callbackUrl. Keys and enum values are also accepted in other letter cases.",
  };
  definitions.Referral = {
    ...toSwaggerSchema(jsonSchemaOf(referralSchema, 'output'), {
      role: SchemaRole.Response,
      summaries: REFERRAL_SUMMARIES,
      definitions,
    }),
    description: 'The referral exactly as the bridge sends it to Partner Center.',
  };
  definitions.TrackingView = {
    ...toSwaggerSchema(jsonSchemaOf(trackingViewSchema, 'output'), { role: SchemaRole.Response, definitions }),
    description: 'The state of a referral request in the bridge: ids and states, never contact data.',
  };
  definitions.ValidationResult = toSwaggerSchema(
    {
      type: 'object',
      description: 'The referral as it would be sent to Partner Center.',
      properties: {
        valid: { type: 'boolean', description: 'Always true in a 200 answer.' },
        dealType: { type: 'string', enum: Object.values(DealType), description: 'The deal type, given or derived.' },
        referral: definitionRef('Referral'),
        coSell: { ...jsonSchemaOf(coSellSchema, 'output'), description: 'The co-sell block of a CoSell deal.' },
      },
      required: ['valid', 'dealType', 'referral'],
    },
    { role: SchemaRole.Response, summaries: REFERRAL_SUMMARIES, definitions },
  );
  definitions.ReferralChanges = {
    ...toSwaggerSchema(jsonSchemaOf(changeFieldsSchema, 'input'), {
      role: SchemaRole.Request,
      summaries: CHANGE_SUMMARIES,
      definitions,
    }),
    description:
      'A JSON merge patch of the fields to change; leave out what stays. team lists members to add (identified by email). Customer, consent and partner fields are read-only after creation.',
  };
  definitions.CoSellUpgrade = {
    ...toSwaggerSchema(jsonSchemaOf(coSellUpgradeSchema, 'input'), {
      role: SchemaRole.Request,
      summaries: REFERRAL_SUMMARIES,
      definitions,
    }),
    description:
      'What the Microsoft referral needs (the coSell block of a CoSell create), and the sharing of the deal.',
  };
  definitions.Problem = {
    ...toSwaggerSchema(jsonSchemaOf(problemSchema, 'output'), { role: SchemaRole.Response, definitions }),
    description: 'An RFC 9457 problem (application/problem+json).',
  };
  return definitions;
}
