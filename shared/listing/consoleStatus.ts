/**
 * What the console's banner and status cards show: the health report, whether the refresh token needs a
 * new consent (with the command), the refresh token's age, queue depths and poison counts, and which
 * actions are switched on. Cheap: one health check, twelve queue property reads, and one Key Vault read
 * of the refresh token's latest version at most once a minute per instance.
 */
import type { HealthReport } from '../platform/healthReport';
import { RECONSENT_COMMAND, REFRESH_TOKEN_INACTIVITY_DAYS } from './constants';
import { readQueueDepths, type QueueClientFactory, type QueueDepth } from './poisonQueues';

/** The refresh token's latest version, as far as the console needs it (never its value). */
export interface RefreshTokenAge {
  storedAt?: string;
  ageDays?: number;
  /** `auth-consent` (a sign-in stored it) or `rotation` (the broker stored a rotated one). */
  storedBy?: 'auth-consent' | 'rotation' | 'unknown';
  inactivityLimitDays: number;
  error?: string;
}

/** Reads the latest version's properties of the refresh-token secret. */
export type RefreshTokenPropertiesReader = () => Promise<{ createdOn?: Date; tags?: Record<string, string> }>;

/** The body of GET /api/console/status. */
export interface ConsoleStatus {
  health: HealthReport;
  reconsent: { required: boolean; since?: string; command: string; detail?: string };
  refreshToken: RefreshTokenAge;
  queues: QueueDepth[];
  features: { actionsEnabled: boolean; resendAvailable: boolean; partnerCenterDashboardUrl: string };
}

/** Options of {@link ConsoleStatusReader}. */
export interface ConsoleStatusOptions {
  queueFor: QueueClientFactory;
  refreshTokenProperties: RefreshTokenPropertiesReader;
  actionsEnabled: boolean;
  partnerCenterDashboardUrl: string;
  nowMs?: () => number;
  /** How long a refresh-token read is reused. @default 60000 */
  refreshTokenCacheMs?: number;
}

/** Builds the console status; caches the Key Vault read. */
export class ConsoleStatusReader {
  readonly #o: ConsoleStatusOptions;
  #cached: { atMs: number; value: RefreshTokenAge } | undefined;

  constructor(options: ConsoleStatusOptions) {
    this.#o = options;
  }

  /** The current status, with the app's health check (never throws for a failing dependency: it is reported). */
  async read(checkHealth: () => Promise<HealthReport>): Promise<ConsoleStatus> {
    const [health, queues, refreshToken] = await Promise.all([
      checkHealth(),
      readQueueDepths(this.#o.queueFor),
      this.#refreshTokenAge(),
    ]);
    const tokens = health.dependencies.partnerCenterTokens;
    const required = tokens?.state === 'reauthorization-required';
    return {
      health,
      reconsent: {
        required,
        ...(required && typeof tokens.since === 'string' ? { since: tokens.since } : {}),
        command: RECONSENT_COMMAND,
        ...(required && typeof tokens.detail === 'string' ? { detail: tokens.detail } : {}),
      },
      refreshToken,
      queues,
      features: {
        actionsEnabled: this.#o.actionsEnabled,
        resendAvailable: this.#o.actionsEnabled, // resending a fixed deal is an action too
        partnerCenterDashboardUrl: this.#o.partnerCenterDashboardUrl,
      },
    };
  }

  async #refreshTokenAge(): Promise<RefreshTokenAge> {
    const nowMs = (this.#o.nowMs ?? Date.now)();
    if (this.#cached && nowMs - this.#cached.atMs < (this.#o.refreshTokenCacheMs ?? 60_000)) return this.#cached.value;
    let value: RefreshTokenAge;
    try {
      const { createdOn, tags } = await this.#o.refreshTokenProperties();
      value = {
        inactivityLimitDays: REFRESH_TOKEN_INACTIVITY_DAYS,
        ...(createdOn
          ? { storedAt: createdOn.toISOString(), ageDays: Math.max(0, (nowMs - createdOn.getTime()) / 86_400_000) }
          : {}),
        storedBy: tags?.storedBy === 'auth-consent' ? 'auth-consent' : tags?.rotatedFrom ? 'rotation' : 'unknown',
      };
    } catch (thrown) {
      const name = thrown instanceof Error ? thrown.name : 'Error';
      value = {
        inactivityLimitDays: REFRESH_TOKEN_INACTIVITY_DAYS,
        error: `${name}: the refresh token could not be read`,
      };
    }
    this.#cached = { atMs: nowMs, value };
    return value;
  }
}
