import { createHash } from 'node:crypto';

/**
 * A deterministic GUID (RFC 4122 version 5 layout over SHA-1) for `name`.
 *
 * The MS-RequestId of a create is derived from the trackingId and the step, so every retry of the same
 * step (after a timeout or a lost response) sends the same id and Partner Center treats it as the same call.
 */
export function deterministicRequestId(name: string): string {
  const hash = createHash('sha1').update('cosell-referral-bridge:').update(name).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
