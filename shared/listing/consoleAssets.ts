/**
 * The console's bundled files (dist/console, written by scripts/build-console.ts): the page and its
 * content-hashed script and style sheet. Read once per process; served with a strict CSP and cache headers.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** One file ready to serve. */
export interface ConsoleAsset {
  body: Buffer;
  headers: Record<string, string>;
}

/** The content security policy of every console response: nothing inline, nothing from elsewhere. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
} as const;

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Asset names the build writes: `app-<hash>.js`, `app-<hash>.css` and their maps. */
const ASSET_NAME = /^app-[0-9a-f]{12}\.(js|css)(\.map)?$/;
/** A function key as Azure issues it (base64url-ish, with `=` padding). */
const FUNCTION_KEY = /^[A-Za-z0-9_\-=]{1,256}$/;
/** Where the page template puts the query string of asset URLs. */
const QUERY_PLACEHOLDER = '__ASSET_QUERY__';

/** The console's files, from a build folder. */
export class ConsoleAssets {
  readonly #dir: string;
  #loaded: { template: string; assets: Map<string, ConsoleAsset> } | undefined;

  /** `dir` defaults to dist/console beside this module's compiled folder. */
  constructor(dir: string = path.resolve(__dirname, '../../console')) {
    this.#dir = dir;
  }

  /** True when the build wrote the page. */
  available(): boolean {
    return existsSync(path.join(this.#dir, 'index.html'));
  }

  /** The page; asset URLs carry `code` (the function key the page was opened with) when it is well formed. */
  page(code: string | undefined): ConsoleAsset {
    const query = code && FUNCTION_KEY.test(code) ? `?code=${encodeURIComponent(code)}` : '';
    const html = this.#load().template.split(QUERY_PLACEHOLDER).join(query);
    return {
      body: Buffer.from(html, 'utf8'),
      headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...SECURITY_HEADERS },
    };
  }

  /** A bundled file by name, or undefined (only names the build writes are served: no path walking). */
  asset(name: string): ConsoleAsset | undefined {
    if (!ASSET_NAME.test(name)) return undefined;
    return this.#load().assets.get(name);
  }

  #load(): { template: string; assets: Map<string, ConsoleAsset> } {
    if (this.#loaded) return this.#loaded;
    const template = readFileSync(path.join(this.#dir, 'index.html'), 'utf8');
    const assets = new Map<string, ConsoleAsset>();
    for (const name of readdirSync(this.#dir)) {
      if (!ASSET_NAME.test(name)) continue;
      const type = CONTENT_TYPES[path.extname(name)];
      assets.set(name, {
        body: readFileSync(path.join(this.#dir, name)),
        // Content-hashed names: a new build has new names, so a year of caching is safe.
        headers: { 'Content-Type': type, 'Cache-Control': 'private, max-age=31536000, immutable', ...SECURITY_HEADERS },
      });
    }
    this.#loaded = { template, assets };
    return this.#loaded;
  }
}

/** Placeholder the build leaves in index.html for the asset query string. */
export const ASSET_QUERY_PLACEHOLDER = QUERY_PLACEHOLDER;
