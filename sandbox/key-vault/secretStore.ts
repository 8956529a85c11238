/**
 * Versioned secrets of the Key Vault stand-in. Like Key Vault: names are case-insensitive, every set
 * makes a new version (no compare-and-set), the latest version is the last one set, and a deleted
 * secret stays recoverable (its name is taken) until it is purged.
 */
import { randomBytes } from 'node:crypto';

/** One version of a secret. */
export interface SecretVersion {
  /** The name as first set. */
  name: string;
  /** 32 lowercase hex characters. */
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled: boolean;
  /** Epoch seconds. */
  createdEpochSeconds: number;
  updatedEpochSeconds: number;
  notBeforeEpochSeconds?: number;
  expiresEpochSeconds?: number;
}

/** A deleted secret (all its versions) awaiting purge. */
export interface DeletedSecret {
  latest: SecretVersion;
  deletedEpochSeconds: number;
  scheduledPurgeEpochSeconds: number;
}

/** What a set takes. */
export interface SetSecretInput {
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled?: boolean;
  notBeforeEpochSeconds?: number;
  expiresEpochSeconds?: number;
}

/** Result of a set on a name that is deleted but not purged. */
export const SET_CONFLICT = 'deletedButRecoverable' as const;

/** In-memory versioned secrets. */
export class SecretStore {
  readonly #secrets = new Map<string, SecretVersion[]>();
  readonly #deleted = new Map<string, DeletedSecret>();
  readonly #nowMs: () => number;

  constructor(options: { nowMs?: () => number } = {}) {
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Adds a version (the new latest); a deleted-but-not-purged name answers {@link SET_CONFLICT}. */
  set(name: string, input: SetSecretInput): SecretVersion | typeof SET_CONFLICT {
    const key = name.toLowerCase();
    if (this.#deleted.has(key)) return SET_CONFLICT;
    const nowSeconds = Math.floor(this.#nowMs() / 1000);
    const versions = this.#secrets.get(key) ?? [];
    const created: SecretVersion = {
      name: versions[0]?.name ?? name,
      version: randomBytes(16).toString('hex'),
      value: input.value,
      contentType: input.contentType,
      tags: input.tags,
      enabled: input.enabled ?? true,
      createdEpochSeconds: nowSeconds,
      updatedEpochSeconds: nowSeconds,
      notBeforeEpochSeconds: input.notBeforeEpochSeconds,
      expiresEpochSeconds: input.expiresEpochSeconds,
    };
    versions.push(created);
    this.#secrets.set(key, versions);
    return created;
  }

  /** The latest version, or the named one. */
  get(name: string, version?: string): SecretVersion | undefined {
    const versions = this.#secrets.get(name.toLowerCase());
    if (!versions) return undefined;
    if (!version) return versions[versions.length - 1];
    return versions.find((v) => v.version === version.toLowerCase());
  }

  /** Every version of `name`, oldest first (undefined when the secret does not exist). */
  versions(name: string): readonly SecretVersion[] | undefined {
    return this.#secrets.get(name.toLowerCase());
  }

  /** The latest version of every secret, by name. */
  latestOfEach(): SecretVersion[] {
    return [...this.#secrets.values()].map((versions) => versions[versions.length - 1]);
  }

  /** Soft-deletes `name` (recoverable for 90 days until purged). */
  delete(name: string): DeletedSecret | undefined {
    const key = name.toLowerCase();
    const versions = this.#secrets.get(key);
    if (!versions) return undefined;
    this.#secrets.delete(key);
    const deletedEpochSeconds = Math.floor(this.#nowMs() / 1000);
    const deleted = {
      latest: versions[versions.length - 1],
      deletedEpochSeconds,
      scheduledPurgeEpochSeconds: deletedEpochSeconds + 90 * 86_400,
    };
    this.#deleted.set(key, deleted);
    return deleted;
  }

  /** A deleted secret awaiting purge. */
  getDeleted(name: string): DeletedSecret | undefined {
    return this.#deleted.get(name.toLowerCase());
  }

  /** Purges a deleted secret; false when there is none. */
  purge(name: string): boolean {
    return this.#deleted.delete(name.toLowerCase());
  }
}
