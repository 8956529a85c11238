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
  return {
    browser,
    errors,
    async newPage(viewport) {
      const page = await browser.newPage();
      await page.setViewport(viewport);
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(`console: ${message.text()}`);
      });
      page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()}`));
      page.on('response', (response) => {
        if (response.status() >= 400)
          errors.push(`HTTP ${response.status()}: ${response.url().replace(/code=[^&]*/, 'code=…')}`);
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
