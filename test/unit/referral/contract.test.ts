import { z } from 'zod';
import { BridgeError } from '../../../shared/platform/errors';
import { ReferralContractError, referralRequestSchema, referralSchema } from '../../../shared/referral';
import { createEnumLookup } from '../../../shared/referral/enumLookup';
import { fieldShapeOf } from '../../../shared/referral/fieldShape';

describe('ReferralContractError', () => {
  it('is a non-retryable BridgeError naming what is broken', () => {
    const error = new ReferralContractError('bad catalogue', {
      subject: 'services-co-sell-catalogue',
      cause: new Error('x'),
    });
    expect(error).toBeInstanceOf(BridgeError);
    expect(error.name).toBe('ReferralContractError');
    expect(error.retryable).toBe(false);
    expect(error.subject).toBe('services-co-sell-catalogue');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('is thrown when two enum values collide once case and separators are ignored', () => {
    expect(() => createEnumLookup(['Partner Led', 'PartnerLed'], 'DealType')).toThrow(ReferralContractError);
  });

  it('is thrown when the key-normalising pass meets a zod type it does not understand', () => {
    expect(() => fieldShapeOf(z.strictObject({ when: z.date() }))).toThrow(ReferralContractError);
    expect(() => fieldShapeOf(z.strictObject({ tags: z.array(z.string()) }))).toThrow('max length');
  });
});

describe('the exported schemas', () => {
  it('generate JSON Schema for the connector (request as input, referral as output)', () => {
    const request = z.toJSONSchema(referralRequestSchema, { io: 'input' }) as {
      properties: Record<string, unknown>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(request.required).toEqual(['customerProfile', 'consent', 'details']);
    expect(request.additionalProperties).toBe(false);
    expect(Object.keys(request.properties)).toEqual(
      expect.arrayContaining(['dealType', 'coSell', 'callbackUrl', 'partnerRole', 'solutionArea', 'solutionPlay']),
    );
    const referral = z.toJSONSchema(referralSchema) as { required: string[] };
    expect(referral.required).toEqual(['type', 'customerProfile', 'consent', 'details']);
  });

  it('describe the normalised form (a caller body goes through validateReferralRequest)', () => {
    expect(
      referralSchema.safeParse({
        type: 'shared',
        customerProfile: { name: 'F', address: { country: 'US' } },
        consent: {},
        details: {},
      }).success,
    ).toBe(false);
    expect(
      referralSchema.safeParse({
        type: 'Shared',
        customerProfile: { name: 'F', address: { country: 'US' } },
        consent: {},
        details: {},
      }).success,
    ).toBe(true);
  });
});
