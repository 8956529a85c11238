import type { ProblemFieldError, ReferralRequest, ValidateOptions, ValidationResult } from '../../../shared/referral';
import { validateReferralRequest } from '../../../shared/referral';
import { example } from '../../helpers/examples';

/** A fresh copy of examples/request-example.json (the documented "Request example"). */
export const requestExample = (): Record<string, any> => example('request-example.json');

/** The smallest valid request: the four fields required on create. */
export function minimalRequest(): Record<string, any> {
  return {
    type: 'Shared',
    customerProfile: { name: 'Fabrikam Ltd', address: { country: 'US' } },
    consent: {},
    details: {},
  };
}

/** The validated request, failing the test with the problem body when validation failed. */
export function expectValid(input: unknown, options?: ValidateOptions): ReferralRequest {
  const result = validateReferralRequest(input, options);
  if (!result.ok) throw new Error(`expected a valid request, got ${JSON.stringify(result.problem, null, 2)}`);
  return result.value;
}

/** The field errors of a failed validation, failing the test when validation passed. */
export function expectInvalid(input: unknown, options?: ValidateOptions): ProblemFieldError[] {
  const result: ValidationResult = validateReferralRequest(input, options);
  if (result.ok) throw new Error(`expected a problem, got a valid request: ${JSON.stringify(result.value)}`);
  expect(result.problem.status).toBe(400);
  return result.problem.errors ?? [];
}

/** `[pointer, code]` pairs of the errors, for compact assertions. */
export function pointersAndCodes(errors: readonly ProblemFieldError[]): Array<[string, string]> {
  return errors.map((error) => [error.pointer ?? `header:${error.header ?? '?'}`, error.code]);
}
