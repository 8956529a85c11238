/**
 * The operations console in headless Chromium against the whole sandbox: deals of every kind, the list
 * and its filters and pages, a deal's page, the charts' data, the queue cards with a poison message and
 * its replay, the re-consent banner (the Entra stand-in refuses the refresh token), keyboard use, and no
 * JavaScript error. A second co-sell deal is accepted by Microsoft through the simulator: its page shows
 * the answer, the MSX id, Partner Center's status and the history, the list its answer, the chart counts it.
 * Two deals Partner Center refused are resent from their pages once fixed (one keyed by its externalReferenceId,
 * one by an Idempotency-Key): bad bodies are shown at the field and change nothing.
 * Screenshots for docs/console.md go to docs/figures/console-*.png with CONSOLE_SCREENSHOTS=1
 * (`npm run docs:screenshots`), else to a temporary directory: a plain test run changes no tracked file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodeFetch from 'node-fetch';
import { QueueServiceClient } from '@azure/storage-queue';
import type { Page } from 'puppeteer-core';
import type { RunningSandbox } from '../../../sandbox/sandbox';
import { call, eventually, startTestSandbox, waitForFinal } from '../../helpers/sandboxHarness';
import { example, uniqueDeal } from '../../helpers/examples';
import { trackingIdForInvalidMessage } from '../../../shared/workflow/idempotency';
import { launchBrowser, type TestBrowser } from './browser';

const WRITE_FIGURES = process.env.CONSOLE_SCREENSHOTS === '1';
const FIGURES = WRITE_FIGURES
  ? path.resolve(__dirname, '../../../docs/figures')
  : mkdtempSync(path.join(tmpdir(), 'console-figures-'));
const WIDE = { width: 1280, height: 800 };
const NARROW = { width: 420, height: 800 };
const FUNCTION_KEY = 'console-e2e-key';

let sandbox: RunningSandbox;
let chromium: TestBrowser;
const ids: Record<'private' | 'partnerLed' | 'coSell' | 'accepted' | 'refused', string> = {
  private: '',
  partnerLed: '',
  coSell: '',
  accepted: '',
  refused: '',
};
const MSX_ID = '7-TEST';
/** Deals Partner Center refused on create (nothing made there): resent from the console once fixed. */
const fixable = { trackingId: '', body: {} as Record<string, any> };
const fixableKeyed = { trackingId: '', body: {} as Record<string, any> };
const FIXABLE_KEY = 'crm-console-fixable-key-1';
/** Values of the deals' customer contacts: never on a console page. */
const CONTACT_VALUES = ['Northwind Traders GmbH', 'jamie.example@example.com', '+49 30 555 0123', '100 Example Street'];
const queues = () => QueueServiceClient.fromConnectionString(sandbox.azurite.connectionString);
const consoleUrl = (hash = '') => `${sandbox.endpoints.functions}/console?code=${FUNCTION_KEY}${hash}`;

async function open(page: Page, hash = ''): Promise<void> {
  // A load, never a same-document hash change: the list of the previous hash would still be on the page.
  await page.goto('about:blank');
  await page.goto(consoleUrl(hash), { waitUntil: 'networkidle0' });
  await page.waitForSelector('[data-testid="deals"][aria-busy="false"], [data-testid="deal"]');
}

/** Waits until the list shows the page of filters that include `text` (its `data-loaded-for`). */
async function listLoadedFor(page: Page, text: string): Promise<void> {
  const table = 'document.querySelector(\'[data-testid="deals"]\')';
  await page.waitForFunction(
    `${table}.getAttribute('aria-busy') === 'false' && (${table}.getAttribute('data-loaded-for') || '').includes(${JSON.stringify(text)})`,
  );
}

const rowIds = (page: Page): Promise<string[]> =>
  page.$$eval('[data-testid="deals"] tbody tr', (rows) =>
    rows.map((row) => row.getAttribute('data-tracking-id') ?? ''),
  );

beforeAll(async () => {
  sandbox = await startTestSandbox({
    appSettings: { TOKEN_REAUTH_RECHECK_SECONDS: '1', CONSOLE_ACTIONS_ENABLED: 'true' },
  });
  chromium = await launchBrowser();
  const create = async (file: string, tag: string) => {
    const response = await call(sandbox, 'POST', '/referrals', uniqueDeal(example(file), tag));
    expect([200, 201, 202]).toContain(response.status);
    return (await waitForFinal(sandbox, response.body.trackingId)).trackingId as string;
  };
  ids.private = await create('private-deal.json', 'console-private');
  ids.partnerLed = await create('partner-led-deal.json', 'console-partner-led');
  ids.coSell = await create('cosell-deal.json', 'console-cosell');
  ids.accepted = await create('cosell-deal.json', 'console-accepted');
  // Microsoft accepts the second co-sell deal; the app learns it from a signed event or the 15 s reconcile.
  const accepted = (await call(sandbox, 'GET', `/referrals/${ids.accepted}`)).body;
  const decision = await nodeFetch(
    `${sandbox.partnerCenter.url}/_sandbox/referrals/${accepted.partnerReferral.id}/microsoft-decision`,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ decision: 'Accepted', msxId: MSX_ID }),
    },
  );
  expect(decision.status).toBe(200);
  await eventually(
    async () => {
      const view = (await call(sandbox, 'GET', `/referrals/${ids.accepted}`)).body;
      return view.microsoft?.decision === 'Accepted' ? view : undefined;
    },
    60_000,
    500,
  );
  const refuse = async (into: typeof fixable, tag: string, headers: Record<string, string> = {}) => {
    sandbox.partnerCenter.setFaults({ clientErrors: { probability: 1, statuses: [400], operations: ['create'] } });
    into.body = uniqueDeal(example('partner-led-deal.json'), tag);
    const response = await call(sandbox, 'POST', '/referrals', into.body, headers);
    sandbox.partnerCenter.clearFaults();
    expect(response.status).toBe(422);
    into.trackingId = response.body.trackingId;
  };
  await refuse(fixable, 'console-fixable');
  await refuse(fixableKeyed, 'console-fixable-keyed', { 'Idempotency-Key': FIXABLE_KEY });
  const invalid = '{"name": "console refused deal", "dealType": "CoSel"}';
  const intake = queues().getQueueClient('referral-intake');
  await intake.createIfNotExists();
  await intake.sendMessage(invalid);
  ids.refused = (await waitForFinal(sandbox, trackingIdForInvalidMessage(invalid))).trackingId;
  // A poisoned step message (its record is final: replaying it is a no-op for the app).
  const poison = queues().getQueueClient('referral-link-poison');
  await poison.createIfNotExists();
  await poison.sendMessage(JSON.stringify({ trackingId: ids.coSell }));
}, 180_000);

afterAll(async () => {
  await chromium?.close();
  await sandbox?.stop();
  if (!WRITE_FIGURES) rmSync(FIGURES, { recursive: true, force: true });
});

/** Puts `text` into a form field as a paste does (one input event), replacing what was there. */
async function paste(page: Page, selector: string, text: string): Promise<void> {
  await page.$eval(selector, (e) => {
    (e as unknown as { value: string }).value = '';
  });
  await page.focus(selector);
  await page.keyboard.sendCharacter(text);
}

/** Submits the resend form from its text area with the keyboard (Tab past the problems' buttons to Resend, Enter). */
async function submitResend(page: Page): Promise<void> {
  await page.focus('#resend-body');
  let type = '';
  for (let presses = 0; presses < 20 && type !== 'submit'; presses++) {
    await page.keyboard.press('Tab');
    type = String(await page.evaluate('document.activeElement.getAttribute("type")'));
  }
  expect(type).toBe('submit');
  await page.keyboard.press('Enter');
}

const pageText = (page: Page): Promise<string> => page.evaluate('document.body.innerText') as Promise<string>;
const corrected = (body: Record<string, any>) => ({ ...body, name: `${String(body.name)} (corrected)` });
const createdNamed = (name: string) =>
  sandbox.partnerCenter.referrals().filter((r) => r.name === name && r.organizationId !== 'msft');

describe('GET /api/referrals', () => {
  it('lists every deal newest first and pages with a cursor', async () => {
    const all = await call(sandbox, 'GET', '/referrals');
    expect(all.status).toBe(200);
    const listed = all.body.items.map((item: any) => item.trackingId);
    expect(listed).toEqual(expect.arrayContaining(Object.values(ids)));
    const first = await call(sandbox, 'GET', '/referrals?limit=2');
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call(sandbox, 'GET', `/referrals?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((i: any) => i.trackingId)).toEqual(listed.slice(2, 4));
  });

  it('answers 400 problem+json naming a bad filter or cursor', async () => {
    for (const [query, parameter] of [
      ['state=Nope', 'state'],
      ['limit=0', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
      ['decision=maybe', 'decision'],
      ['colour=red', 'colour'],
    ]) {
      const response = await call(sandbox, 'GET', `/referrals?${query}`);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(response.body.parameter).toBe(parameter);
    }
  });
});

describe('the console', () => {
  let page: Page;
  beforeAll(async () => {
    page = await chromium.newPage(WIDE);
  });

  it('serves the page and its files with a strict CSP and the function key on every call', async () => {
    const response = await page.goto(consoleUrl(), { waitUntil: 'networkidle0' });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
    const scripts = await page.$$eval('script', (s) => s.map((e) => e.getAttribute('src')));
    expect(scripts).toEqual([expect.stringMatching(/^console\/assets\/app-[0-9a-f]{12}\.js\?code=console-e2e-key$/)]);
    const inline = await page.$$eval('script:not([src]), style', (s) => s.length);
    expect(inline).toBe(0);
  });

  it('shows the pipeline with every deal, and filters it', async () => {
    await open(page);
    expect(await rowIds(page)).toEqual(expect.arrayContaining(Object.values(ids)));
    await page.select('select[name="state"]', 'Rejected');
    await page.click('[data-testid="filters"] button[type="submit"]');
    await page.waitForFunction('location.hash.includes("state=Rejected")');
    await listLoadedFor(page, '"state":"Rejected"');
    const rejected = await page.$$eval('[data-testid="deals"] tbody tr', (rows) =>
      rows.map((r) => r.getAttribute('data-state')),
    );
    expect(rejected.length).toBeGreaterThan(0);
    expect(new Set(rejected)).toEqual(new Set(['Rejected']));
    expect(await rowIds(page)).toContain(ids.refused);
    await open(page, '#/?dealType=CoSell');
    expect(await rowIds(page)).toEqual([ids.accepted, ids.coSell]);
    await open(page, '#/?decision=Accepted');
    expect(await rowIds(page)).toEqual([ids.accepted]);
    expect(await page.$eval('[data-testid="deals"] tbody tr [data-testid="decision"]', (e) => e.textContent)).toBe(
      `Accepted ${MSX_ID}`,
    );
    await open(page, '#/?direction=inbound');
    expect(await rowIds(page)).toEqual([]);
  });

  it("charts the day's referrals by outcome and Microsoft's answers", async () => {
    await open(page);
    await page.waitForSelector('[data-chart="per-day"]');
    const perDay = JSON.parse(
      (await page.$eval('[data-chart="per-day"]', (e) => e.getAttribute('data-chart-data'))) ?? 'null',
    );
    const today = perDay[perDay.length - 1];
    expect(today.outcomes).toMatchObject({ completed: 2, linked: 2, rejected: 3 });
    const answers = JSON.parse(
      (await page.$eval('[data-chart="answers"]', (e) => e.getAttribute('data-chart-data'))) ?? 'null',
    );
    expect(answers).toEqual({ accepted: 1, declined: 0, expired: 0, waiting: 1 });
    const responseTimes = JSON.parse(
      (await page.$eval('[data-chart="response-time"]', (e) => e.getAttribute('data-chart-data'))) ?? 'null',
    );
    expect(responseTimes.count).toBe(1);
    expect(await page.$$eval('[data-chart] canvas', (c) => c.length)).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: path.join(FIGURES, 'console-pipeline.png') });
  });

  it('opens a co-sell deal from the list with the keyboard and shows its ids, links and days left', async () => {
    await open(page, '#/?dealType=CoSell');
    let focused = '';
    for (let presses = 0; presses < 60 && !focused.includes(`#/deal/${ids.coSell}`); presses++) {
      await page.keyboard.press('Tab');
      focused = String(
        await page.evaluate('document.activeElement && document.activeElement.getAttribute("href") || ""'),
      );
    }
    expect(focused).toBe(`#/deal/${ids.coSell}`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="deal"]');
    const view = (await call(sandbox, 'GET', `/referrals/${ids.coSell}`)).body;
    expect(await page.$eval('[data-testid="deal"]', (e) => e.getAttribute('data-state'))).toBe('Linked');
    const links = await page.$$eval('[data-testid="deal"] dd a', (a) => a.map((e) => e.getAttribute('href')));
    expect(links).toEqual([
      `https://partner.microsoft.com/dashboard/referrals/v2/${view.partnerReferral.id}`,
      `https://partner.microsoft.com/dashboard/referrals/v2/${view.microsoftReferral.id}`,
    ]);
    expect(await page.$eval('[data-testid="days-left"]', (e) => e.textContent)).toBe('14 of 14 days left');
    // Counted to Microsoft's deadline once the app has read the Microsoft referral, else from the link.
    const basis = (await call(sandbox, 'GET', `/referrals/${ids.coSell}`)).body.microsoft?.respondBy
      ? 'respondBy'
      : 'inferred';
    expect(await page.$eval('[data-testid="days-left"]', (e) => e.getAttribute('data-basis'))).toBe(basis);
    expect(await page.$eval('[data-testid="direction"]', (e) => e.textContent)).toBe('outbound');
    expect(await page.evaluate('document.activeElement.tagName')).toBe('H2');
  });

  it("shows Microsoft's answer with the MSX id, Partner Center's status and the deal's history", async () => {
    await open(page, `#/deal/${ids.accepted}`);
    const view = (await call(sandbox, 'GET', `/referrals/${ids.accepted}`)).body;
    expect(await page.$eval('[data-testid="decision"]', (e) => e.getAttribute('data-decision'))).toBe('Accepted');
    expect(await page.$('[data-testid="days-left"]')).toBeNull();
    expect(await page.$eval('[data-testid="msx-id"]', (e) => e.textContent)).toBe(MSX_ID);
    expect(await page.$eval('[data-testid="partner-status"]', (e) => e.textContent)).toContain(
      view.partnerReferral.status,
    );
    const history = await page.$$eval('[data-testid="history"] li', (items) =>
      items.map((item) => ({ kind: item.getAttribute('data-kind'), source: item.getAttribute('data-source') })),
    );
    expect(history).toEqual(view.history.map((entry: any) => ({ kind: entry.kind, source: entry.source })));
    expect(history).toContainEqual({ kind: 'microsoft', source: expect.stringMatching(/^(event|reconcile)$/) });
    await page.screenshot({ path: path.join(FIGURES, 'console-deal.png'), fullPage: true });
  });

  it("shows why a deal was refused with the contract's fixes", async () => {
    await open(page, `#/deal/${ids.refused}`);
    const refusal = await page.$eval('[data-testid="refusal"]', (e) => e.textContent ?? '');
    expect(refusal).toContain('Why it was refused');
    const view = (await call(sandbox, 'GET', `/referrals/${ids.refused}`)).body;
    for (const error of view.lastError.errors.slice(0, 3)) expect(refusal).toContain(error.message);
    await page.screenshot({ path: path.join(FIGURES, 'console-refused.png') });
    // An intake message that was not a valid request is keyed by its text: no resend form, the reason why.
    expect(await page.$('[data-testid="resend-form"]')).toBeNull();
    expect(await page.$eval('[data-testid="resend-blocked"]', (e) => e.getAttribute('data-reason'))).toBe(
      'invalid-queue-message',
    );
  });

  it('the resend endpoint: eligibility, 409 for a deal not refused, 403 cross-site, 400 with pointers and nothing written', async () => {
    const eligibility = (await call(sandbox, 'GET', `/console/resend/${fixable.trackingId}`)).body;
    expect(eligibility).toMatchObject({ resendable: true, keyRequired: false, actionsEnabled: true });
    const keyed = (await call(sandbox, 'GET', `/console/resend/${fixableKeyed.trackingId}`)).body;
    expect(keyed).toMatchObject({ resendable: true, keyRequired: true, keySource: 'header' });
    expect(JSON.stringify(keyed)).not.toContain(FIXABLE_KEY);

    const notRefused = await call(sandbox, 'POST', `/console/actions/resend/${ids.private}`, fixable.body);
    expect(notRefused.status).toBe(409);
    expect(notRefused.headers.get('content-type')).toContain('application/problem+json');
    expect(notRefused.body).toMatchObject({ type: expect.stringMatching(/#not-resendable$/), reason: 'not-refused' });

    const before = (await call(sandbox, 'GET', `/referrals/${fixable.trackingId}`)).body;
    const crossSite = await call(
      sandbox,
      'POST',
      `/console/actions/resend/${fixable.trackingId}`,
      corrected(fixable.body),
      {
        Origin: 'https://evil.example',
        'Sec-Fetch-Site': 'cross-site',
      },
    );
    expect(crossSite.status).toBe(403);
    const bad = await call(sandbox, 'POST', `/console/actions/resend/${fixable.trackingId}`, {
      ...fixable.body,
      dealType: 'CoSel',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: any) => e.pointer)).toContain('/dealType');
    for (const value of CONTACT_VALUES) expect(JSON.stringify(bad.body)).not.toContain(value);
    expect((await call(sandbox, 'GET', `/referrals/${fixable.trackingId}`)).body).toEqual(before);
  });

  it('resends a refused deal once fixed: problems shown at the field with nothing sent, then the deal moves on', async () => {
    await open(page, `#/deal/${fixable.trackingId}`);
    await page.waitForSelector('[data-testid="resend-form"]');
    expect(await page.$('#resend-key')).toBeNull(); // keyed by its externalReferenceId: no key to give
    // The form is reached with the keyboard from the deal's heading (focused on arrival).
    let focused = '';
    for (let presses = 0; presses < 40 && focused !== 'resend-body'; presses++) {
      await page.keyboard.press('Tab');
      focused = String(await page.evaluate('document.activeElement && document.activeElement.id'));
    }
    expect(focused).toBe('resend-body');
    const before = (await call(sandbox, 'GET', `/referrals/${fixable.trackingId}`)).body;

    // Not JSON: refused in the page (no request), the text not quoted back.
    await paste(page, '#resend-body', '{"name": "Jamie Example", ');
    await submitResend(page);
    await page.waitForSelector('#resend-body-errors li[data-code="invalid_json"]');
    expect(await page.$eval('#resend-body-errors', (e) => e.textContent)).not.toContain('Jamie');

    // The contract refuses it: 400, each problem at its pointer, the text area marked, nothing written.
    chromium.expectHttpError(/\/console\/actions\/resend\//, 400);
    await paste(page, '#resend-body', JSON.stringify({ ...corrected(fixable.body), dealType: 'CoSel' }, null, 2));
    await submitResend(page);
    await page.waitForSelector('[data-testid="resend-problem"][data-status="400"]');
    const pointers = await page.$$eval('#resend-body-errors li', (items) =>
      items.map((i) => i.getAttribute('data-pointer')),
    );
    expect(pointers).toContain('/dealType');
    expect(await page.$eval('#resend-body', (e) => e.getAttribute('aria-invalid'))).toBe('true');
    expect(await page.evaluate('document.activeElement.getAttribute("data-testid")')).toBe('resend-problem');
    // "Show in the body" selects the field the problem points at in the pasted text.
    await page.click('#resend-body-errors li[data-pointer="/dealType"] button');
    const selected = await page.$eval('#resend-body', (e) => {
      const area = e as unknown as { value: string; selectionStart: number; selectionEnd: number };
      return area.value.slice(area.selectionStart, area.selectionEnd);
    });
    expect(selected).toBe('"dealType": "CoSel"');
    expect((await call(sandbox, 'GET', `/referrals/${fixable.trackingId}`)).body).toEqual(before);
    for (const value of CONTACT_VALUES) expect(await pageText(page)).not.toContain(value);
    await page.screenshot({ path: path.join(FIGURES, 'console-resend.png'), fullPage: true });

    // Corrected: sent under the deal's key, created once, the page shows the new state and the refusal in history.
    await paste(page, '#resend-body', JSON.stringify(corrected(fixable.body), null, 2));
    await submitResend(page);
    await page.waitForSelector('[data-testid="resend-result"]');
    expect(await page.$eval('[data-testid="resend-result"]', (e) => e.getAttribute('data-state'))).toBe('Completed');
    expect(await page.$eval('[data-testid="deal"]', (e) => e.getAttribute('data-state'))).toBe('Completed');
    expect(await page.$('[data-testid="resend-form"]')).toBeNull();
    expect(await page.$$eval('[data-testid="history"] li', (l) => l.map((i) => i.getAttribute('data-kind')))).toContain(
      'refused',
    );
    for (const value of CONTACT_VALUES) expect(await pageText(page)).not.toContain(value);
    const view = (await call(sandbox, 'GET', `/referrals/${fixable.trackingId}`)).body;
    expect(view).toMatchObject({ state: 'Completed', partnerReferral: { id: expect.any(String) } });
    expect(createdNamed(corrected(fixable.body).name)).toHaveLength(1);
    await page.screenshot({ path: path.join(FIGURES, 'console-resent.png') });
  });

  it('a deal sent with an Idempotency-Key asks for that key: another one is shown at the key field, the right one resends', async () => {
    await open(page, `#/deal/${fixableKeyed.trackingId}`);
    await page.waitForSelector('#resend-key');
    await paste(page, '#resend-key', 'not-the-key');
    await paste(page, '#resend-body', JSON.stringify(corrected(fixableKeyed.body)));
    chromium.expectHttpError(/\/console\/actions\/resend\//, 422);
    await submitResend(page);
    await page.waitForSelector('#resend-key-errors li[data-code="key_mismatch"]');
    expect(await page.$eval('#resend-key', (e) => e.getAttribute('aria-invalid'))).toBe('true');
    expect(createdNamed(corrected(fixableKeyed.body).name)).toHaveLength(0);

    // On a narrow window, with problems shown, nothing overflows the page.
    const narrow = await chromium.newPage(NARROW);
    await open(narrow, `#/deal/${fixableKeyed.trackingId}`);
    await narrow.waitForSelector('#resend-key');
    chromium.expectHttpError(/\/console\/actions\/resend\//, 400);
    await paste(narrow, '#resend-body', JSON.stringify({ ...corrected(fixableKeyed.body), dealType: 'CoSel' }));
    await submitResend(narrow);
    await narrow.waitForSelector('[data-testid="resend-problem"][data-status="400"]');
    expect(await narrow.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBe(
      0,
    );
    await narrow.close();

    await paste(page, '#resend-key', FIXABLE_KEY);
    await paste(page, '#resend-body', JSON.stringify(corrected(fixableKeyed.body)));
    await submitResend(page);
    await page.waitForSelector('[data-testid="resend-result"]');
    expect(await page.$eval('[data-testid="resend-result"]', (e) => e.getAttribute('data-state'))).toBe('Completed');
    expect(await pageText(page)).not.toContain(FIXABLE_KEY);
    expect(createdNamed(corrected(fixableKeyed.body).name)).toHaveLength(1);
  });

  it('counts poison messages and replays one when actions are on', async () => {
    await open(page);
    const poisonOf = () => page.$eval('[data-queue="referral-link"]', (e) => Number(e.getAttribute('data-poison')));
    expect(await poisonOf()).toBe(1);
    await page.click('[data-queue="referral-link"] summary');
    await page.waitForSelector('[data-queue="referral-link"] .poison-list button');
    expect(await page.$eval('[data-queue="referral-link"] .poison-list', (e) => e.textContent)).toContain(ids.coSell);
    await page.click('[data-queue="referral-link"] .poison-list button');
    await page.waitForFunction(
      `document.querySelector('[data-queue="referral-link"]').getAttribute('data-poison') === '0'`,
    );
    expect(await poisonOf()).toBe(0);
  });

  it('reads well on a narrow window', async () => {
    const narrow = await chromium.newPage(NARROW);
    await open(narrow);
    const overflow = await narrow.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBe(0);
    await narrow.screenshot({ path: path.join(FIGURES, 'console-narrow.png'), fullPage: false });
    await open(narrow, `#/deal/${ids.coSell}`);
    expect(await narrow.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBe(
      0,
    );
    await narrow.close();
  });

  it('shows the re-consent banner with the command while the refresh token is refused', async () => {
    sandbox.entra.revokeAll();
    await sandbox.restartHost({ kill: true });
    const parked = await call(
      sandbox,
      'POST',
      '/referrals',
      uniqueDeal(example('private-deal.json'), 'console-parked'),
    );
    expect(parked.body.state).toBe('AwaitingReauthorization');
    await eventually(
      async () => {
        await open(page);
        return (await page.$('[data-testid="reconsent-banner"]')) ? true : undefined;
      },
      30_000,
      500,
    );
    expect(await page.$eval('[data-testid="reconsent-command"]', (e) => e.textContent)).toBe('npm run auth:consent');
    expect(await page.$eval('[data-testid="reconsent-banner"]', (e) => e.textContent)).toMatch(
      /refresh token is [\d.]+ days old/,
    );
    expect(await rowIds(page)).toContain(parked.body.trackingId);
    await page.screenshot({ path: path.join(FIGURES, 'console-reconsent.png') });
  });

  it('logged no JavaScript error (the provoked 400s and 422 of the resend form aside)', () => {
    expect(chromium.errors).toEqual([]);
    expect(chromium.expected).toHaveLength(3);
  });
});
