import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getSettings } from './edge/services';
import { guard, jsonResponse, problemResponse, readJsonBody } from './edge/http';
import { lazy } from '../shared/platform/lazy';
import type * as ReferralModule from '../shared/referral';

/** The contract (zod) loads on the first call, not at cold start. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a literal id, kept by the bundle (scripts/build-functions.ts)
const referralContract = lazy(() => require('../shared/referral') as typeof ReferralModule);

/** POST /api/referrals/validate: a dry run. 200 with the normalised referral, or 400 problem+json. */
export async function validateReferral(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const body = await readJsonBody(request);
    if (!body.ok) return body.response;
    const settings = getSettings();
    const result = referralContract().validateReferralRequest(body.value, {
      allowUnknownFields: settings.REFERRAL_ALLOW_UNKNOWN_FIELDS,
      allowInsecureCallback: settings.CALLBACK_ALLOW_PRIVATE_TARGETS,
      allowPrivateCallbackTargets: settings.CALLBACK_ALLOW_PRIVATE_TARGETS,
    });
    if (!result.ok) return problemResponse(result.problem);
    return jsonResponse(200, {
      valid: true,
      dealType: result.value.dealType,
      referral: result.value.referral,
      ...(result.value.coSell ? { coSell: result.value.coSell } : {}),
    });
  });
}

app.http('validateReferral', {
  methods: ['POST'],
  route: 'referrals/validate',
  authLevel: 'function',
  handler: validateReferral,
});
