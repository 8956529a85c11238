/**
 * The console's action endpoints at the edge, through the real handlers (the `@azure/functions` package in its
 * test mode, the app's settings as the sample gives them): off by default, and never callable cross-site or with
 * a form's content type. None of these answers reaches storage.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import type * as ConsoleActions from '../../../functions/consoleActions';
import { resetAppServices } from '../../../shared/app/composition';

const SAMPLE = (
  JSON.parse(readFileSync(path.resolve(__dirname, '../../../local.settings.sample.json'), 'utf8')) as {
    Values: Record<string, string>;
  }
).Values;
const saved = { ...process.env };
const TRACKING_ID = `r${'a'.repeat(31)}`;
const ORIGIN = 'http://127.0.0.1:7071';

let handlers: typeof ConsoleActions;
beforeAll(async () => {
  // The package says once per registration that it is in test mode (no Functions host here).
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  handlers = await import('../../../functions/consoleActions');
  warn.mockRestore();
});

/** The sample's settings plus `extra`; CONSOLE_ACTIONS_ENABLED is unset unless `extra` sets it (its default). */
function useSettings(extra: Record<string, string>): void {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  delete process.env.CONSOLE_ACTIONS_ENABLED;
  Object.assign(process.env, SAMPLE, { NODE_EXTRA_CA_CERTS: '' }, extra);
  resetAppServices();
}

afterAll(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
  resetAppServices();
});

const resend = (headers: Record<string, string>, body = '{}') =>
  handlers.consoleResendAction(
    new HttpRequest({
      method: 'POST',
      url: `${ORIGIN}/api/console/actions/resend/${TRACKING_ID}`,
      params: { trackingId: TRACKING_ID },
      headers,
      body: { string: body },
    }),
    new InvocationContext(),
  );
const poison = (headers: Record<string, string>) =>
  handlers.consolePoisonAction(
    new HttpRequest({
      method: 'POST',
      url: `${ORIGIN}/api/console/actions/poison`,
      headers,
      body: { string: JSON.stringify({ queue: 'referral-link', messageId: 'm-1', action: 'discard' }) },
    }),
    new InvocationContext(),
  );
const problemOf = (response: HttpResponseInit) => ({
  status: response.status,
  contentType: (response.headers as Record<string, string>)['Content-Type'],
  body: JSON.parse(response.body as string) as Record<string, unknown>,
});
const json = { 'content-type': 'application/json', origin: ORIGIN, 'sec-fetch-site': 'same-origin' };

describe('console actions with the default settings', () => {
  beforeAll(() => useSettings({}));

  it('resend and poison actions are 403 problem+json naming the setting', async () => {
    for (const response of [await resend(json), await poison(json)]) {
      expect(problemOf(response)).toMatchObject({
        status: 403,
        contentType: 'application/problem+json',
        body: {
          type: expect.stringMatching(/#console-actions-disabled$/),
          detail: expect.stringContaining('CONSOLE_ACTIONS_ENABLED'),
        },
      });
    }
  });
});

describe('console actions when switched on', () => {
  beforeAll(() => useSettings({ CONSOLE_ACTIONS_ENABLED: 'true' }));

  it('refuse a request from another site (Origin / Sec-Fetch-Site) with 403, for both actions', async () => {
    const crossSite = {
      'content-type': 'application/json',
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
    };
    for (const response of [await resend(crossSite), await poison(crossSite)]) {
      expect(problemOf(response)).toMatchObject({
        status: 403,
        body: { type: expect.stringMatching(/#cross-site-request$/) },
      });
    }
  });

  it('refuse what a cross-site form can send (form or text content types) with 415', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
      const response = await resend({ 'content-type': type }, 'body=1');
      expect(problemOf(response)).toMatchObject({ status: 415 });
    }
  });

  it('a tracking id of the wrong shape is 404 before anything is read', async () => {
    const response = await handlers.consoleResendAction(
      new HttpRequest({
        method: 'POST',
        url: `${ORIGIN}/api/console/actions/resend/nope`,
        params: { trackingId: 'nope' },
        headers: json,
        body: { string: '{}' },
      }),
      new InvocationContext(),
    );
    expect(problemOf(response).status).toBe(404);
  });
});
