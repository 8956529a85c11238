/**
 * Headless Chromium for the console's browser tests: Debian's `chromium` driven by puppeteer-core, with a
 * fresh profile and no network of its own (no updates, sync or QUIC). Collects every console error and
 * page error, so a test can assert that the console's JavaScript logged none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Where Debian installs Chromium (`.ci/run` installs it when it is missing). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A running browser with its error log. */
export interface TestBrowser {
  browser: Browser;
  /** Console errors and uncaught page errors seen so far, on every page. */
  errors: string[];
  /**
   * Declares that the next answer with `status` to a URL matching `url` is what the test provokes (a form's
   * 400): it is recorded in `expected`, not in `errors` (nor is Chromium's console line about it). Each
   * declaration covers one answer.
   */
  expectHttpError(url: RegExp, status: number): void;
  /** The provoked answers seen, as `HTTP <status>: <url>`. */
  expected: string[];
  newPage(viewport: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Launches headless Chromium. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'console-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
    ],
  });
  const errors: string[] = [];
  const expected: string[] = [];
  // Each provoked answer shows twice: as the response, and as Chromium's "Failed to load resource" console line.
  const allowances: Array<{ url: RegExp; status: number; response: boolean; console: boolean }> = [];
  const provoked = (kind: 'response' | 'console', url: string, status: number): boolean => {
    const allowance = allowances.find((a) => !a[kind] && a.status === status && a.url.test(url));
    if (!allowance) return false;
    allowance[kind] = true;
    return true;
  };
  return {
    browser,
    errors,
    expected,
    expectHttpError(url, status) {
      allowances.push({ url, status, response: false, console: false });
    },
    async newPage(viewport) {
      const page = await browser.newPage();
      await page.setViewport(viewport);
      page.on('console', (message) => {
        if (message.type() !== 'error') return;
        const failed = /^Failed to load resource: the server responded with a status of (\d{3})/.exec(message.text());
        if (failed && provoked('console', message.location().url ?? '', Number(failed[1]))) return;
        errors.push(`console: ${message.text()}`);
      });
      page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()}`));
      page.on('response', (response) => {
        if (response.status() < 400) return;
        const line = `HTTP ${response.status()}: ${response.url().replace(/code=[^&]*/, 'code=…')}`;
        if (provoked('response', response.url(), response.status())) expected.push(line);
        else errors.push(line);
      });
      page.on('pageerror', (error) =>
        errors.push(`pageerror: ${error instanceof Error ? error.message : String(error)}`),
      );
      return page;
    },
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
