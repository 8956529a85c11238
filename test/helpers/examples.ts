import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Reads a request body from examples/ (a fresh copy each time). */
export function example(name: string): Record<string, any> {
  return JSON.parse(readFileSync(path.resolve(__dirname, '../../examples', name), 'utf8')) as Record<string, any>;
}

/** A copy of `body` with a unique deal name and externalReferenceId, so each test makes its own referral. */
export function uniqueDeal(body: Record<string, any>, tag: string): Record<string, any> {
  const copy = structuredClone(body);
  copy.name = `${String(copy.name ?? 'Deal')} ${tag}`;
  copy.externalReferenceId = `crm-${tag}`;
  return copy;
}
