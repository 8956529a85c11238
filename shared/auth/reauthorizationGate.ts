/**
 * The broker's reauthorization-required state: while it holds, every call fails fast with the stored
 * error, except that at most once per `recheckIntervalMs` the refresh token's version is re-read, and a
 * new version (an operator ran `npm run auth:consent`) leaves the state.
 */
import type { Logger } from '../platform/logging';
import { SecretStoreError, type ReauthorizationRequiredError } from './errors';
import type { SecretStore } from './secretStore';
import { errorSummary } from './brokerSupport';

/** Options of {@link ReauthorizationGate}. */
export interface ReauthorizationGateOptions {
  secrets: SecretStore;
  refreshTokenSecretName: string;
  recheckIntervalMs: number;
  nowMs: () => number;
  logger: Logger;
}

interface ReauthorizationState {
  error: ReauthorizationRequiredError;
  refusedVersion?: string;
  lastRecheckAtMs: number;
}

/** Fails fast while a new sign-in is needed; rechecks the secret's version now and then. */
export class ReauthorizationGate {
  readonly #o: ReauthorizationGateOptions;
  #state: ReauthorizationState | undefined;
  #recheck: Promise<void> | undefined;

  constructor(options: ReauthorizationGateOptions) {
    this.#o = options;
  }

  /** True while reauthorization is required. */
  get active(): boolean {
    return this.#state !== undefined;
  }

  /** Enters the state after the refresh token (version `error.refusedVersion`) was refused or is missing. */
  enter(error: ReauthorizationRequiredError): void {
    this.#state = { error, refusedVersion: error.refusedVersion, lastRecheckAtMs: this.#o.nowMs() };
  }

  /** Throws the stored error while the state holds (after a recheck, when one is due). */
  async check(): Promise<void> {
    const state = this.#state;
    if (!state) return;
    if (!this.#recheck) {
      if (this.#o.nowMs() - state.lastRecheckAtMs < this.#o.recheckIntervalMs) throw state.error;
      state.lastRecheckAtMs = this.#o.nowMs();
      this.#recheck = this.#recheckOnce(state).finally(() => {
        this.#recheck = undefined;
      });
    }
    await this.#recheck;
    if (this.#state) throw this.#state.error;
  }

  async #recheckOnce(state: ReauthorizationState): Promise<void> {
    const { secrets, refreshTokenSecretName, logger } = this.#o;
    let version: string;
    try {
      version = (await secrets.read(refreshTokenSecretName)).version;
    } catch (thrown) {
      if (!(thrown instanceof SecretStoreError && thrown.code === 'SecretNotFound')) {
        logger.warn('Could not re-read the refresh token while reauthorization is required', {
          reason: errorSummary(thrown),
        });
      }
      return;
    }
    if (version === state.refusedVersion) return;
    logger.info('A new refresh token version was stored: leaving the reauthorization-required state', {
      refusedVersion: state.refusedVersion,
      version,
    });
    this.#state = undefined;
  }
}
