/**
 * Device authorization grants (RFC 8628) of the Entra stand-in, for the bootstrap command: a user code is
 * "approved" after N polls or through `POST /_sandbox/device/approve`, standing in for the browser sign-in.
 */
import { randomBytes } from 'node:crypto';
import type { SandboxUser } from './refreshTokenStore';

/** One pending device authorization. */
export interface DeviceCodeGrant {
  deviceCode: string;
  userCode: string;
  clientId: string;
  scope: string;
  expiresAtEpochMs: number;
  polls: number;
  /** Set on approval: the user who "signed in". */
  approvedUser?: SandboxUser;
  redeemed: boolean;
}

/** State of a device code at a poll. */
export type DevicePoll =
  | { status: 'approved'; grant: DeviceCodeGrant & { approvedUser: SandboxUser } }
  | { status: 'pending' | 'expired' | 'unknown' | 'redeemed' | 'wrongClient' };

/** Options for {@link DeviceCodeStore}. */
export interface DeviceCodeStoreOptions {
  /** @default 900 */
  lifetimeSeconds?: number;
  /** Approve a code automatically at its Nth poll (undefined: only by explicit approval). */
  autoApproveAfterPolls?: number;
  /** Who signs in on approval. */
  defaultUser: SandboxUser;
  nowMs?: () => number;
}

const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ23456789';

/** In-memory device codes. */
export class DeviceCodeStore {
  readonly #byDeviceCode = new Map<string, DeviceCodeGrant>();
  readonly #lifetimeMs: number;
  readonly #autoApproveAfterPolls?: number;
  readonly #defaultUser: SandboxUser;
  readonly #nowMs: () => number;

  constructor(options: DeviceCodeStoreOptions) {
    this.#lifetimeMs = (options.lifetimeSeconds ?? 900) * 1000;
    this.#autoApproveAfterPolls = options.autoApproveAfterPolls;
    this.#defaultUser = options.defaultUser;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Lifetime of a new code, in seconds. */
  get lifetimeSeconds(): number {
    return Math.round(this.#lifetimeMs / 1000);
  }

  /** Starts a device authorization for `clientId` and `scope`. */
  start(clientId: string, scope: string): DeviceCodeGrant {
    const bytes = randomBytes(9);
    const userCode = Array.from(bytes, (b) => USER_CODE_ALPHABET[b % USER_CODE_ALPHABET.length]).join('');
    const grant: DeviceCodeGrant = {
      deviceCode: randomBytes(32).toString('base64url'),
      userCode,
      clientId,
      scope,
      expiresAtEpochMs: this.#nowMs() + this.#lifetimeMs,
      polls: 0,
      redeemed: false,
    };
    this.#byDeviceCode.set(grant.deviceCode, grant);
    return grant;
  }

  /** One token poll for `deviceCode` by `clientId`; an approved code can be redeemed once. */
  poll(deviceCode: string, clientId: string): DevicePoll {
    const grant = this.#byDeviceCode.get(deviceCode);
    if (!grant) return { status: 'unknown' };
    if (grant.clientId !== clientId) return { status: 'wrongClient' };
    if (grant.redeemed) return { status: 'redeemed' };
    if (grant.expiresAtEpochMs <= this.#nowMs()) return { status: 'expired' };
    grant.polls++;
    if (
      !grant.approvedUser &&
      this.#autoApproveAfterPolls !== undefined &&
      grant.polls >= this.#autoApproveAfterPolls
    ) {
      grant.approvedUser = this.#defaultUser;
    }
    if (!grant.approvedUser) return { status: 'pending' };
    grant.redeemed = true;
    return { status: 'approved', grant: grant as DeviceCodeGrant & { approvedUser: SandboxUser } };
  }

  /**
   * Approves pending codes as `user` (default: the store's default user): the one with `userCode`, or
   * every pending one when `userCode` is absent. Returns how many were approved.
   */
  approve(userCode?: string, user?: SandboxUser): number {
    let approved = 0;
    const wanted = userCode?.replace(/[-\s]/g, '').toUpperCase();
    for (const grant of this.#byDeviceCode.values()) {
      if (grant.approvedUser || grant.redeemed || grant.expiresAtEpochMs <= this.#nowMs()) continue;
      if (wanted !== undefined && grant.userCode !== wanted) continue;
      grant.approvedUser = user ?? this.#defaultUser;
      approved++;
    }
    return approved;
  }
}
