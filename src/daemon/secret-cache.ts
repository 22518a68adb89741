// The daemon's memory of the static secrets it read from the keychain, as git-credential-cache
// keeps credentials: a repeat get is answered without a D-Bus round trip to the Secret Service
// (about 4 ms of the daemon's 4.3 ms for a warm get, issue #15).
//
// - Only the `static` slot is kept. OAuth tokens live in the token manager, and a refresh token
//   served from here after a rotation would be a spent one.
// - An entry is served for at most the secret-cache setting (GIT_CREDENTIAL_BITBUCKET_SECRET_CACHE_MS,
//   counted from the read): that bounds how long a change made outside the product (secret-tool,
//   Seahorse) goes unseen, and how long a secret is still served after the keychain was locked.
//   Knowing about a lock sooner would take the very D-Bus call this saves; git-credential-cache
//   and ssh-agent keep serving after a screen lock too.
// - Changes made through the product never wait for that: a write or delete through this store
//   drops the account's entry, the CLI's `secrets-changed` message drops it (or all), and so does
//   Bitbucket refusing the secret (git's erase): it may have been replaced outside the product.
// - A missing secret and an error are never kept; a read that overlapped a drop is not kept either.

import type { SecretRef, SecretStore } from '../core/secrets/secret-store.js';

export interface SecretCacheOptions {
  /** How long an entry may be served, read at every lookup; 0 serves every read from the store. */
  ttlMs(): number;
  /** Milliseconds on a clock that never goes back. */
  now?(): number;
}

interface Entry {
  value: string;
  readAt: number;
}

export class SecretCache implements SecretStore {
  /** By account name: only the static slot is kept. */
  private readonly entries = new Map<string, Entry>();
  /** Counts drops: a read that started before one must not keep what it read. */
  private drops = 0;
  private readonly now: () => number;

  constructor(
    private readonly store: SecretStore,
    private readonly options: SecretCacheOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  get name(): string {
    return this.store.name;
  }

  get plaintext(): boolean {
    return this.store.plaintext;
  }

  get location(): string {
    return this.store.location;
  }

  async get(ref: SecretRef): Promise<string | undefined> {
    if (ref.slot !== 'static') return this.store.get(ref);
    const ttlMs = this.options.ttlMs();
    const entry = this.entries.get(ref.account);
    if (entry && this.now() - entry.readAt < ttlMs) return entry.value;
    this.entries.delete(ref.account);
    const drops = this.drops;
    const readAt = this.now();
    const value = await this.store.get(ref);
    if (value !== undefined && ttlMs > 0 && drops === this.drops) this.entries.set(ref.account, { value, readAt });
    return value;
  }

  async set(ref: SecretRef, value: string): Promise<void> {
    this.drop(ref.account);
    try {
      await this.store.set(ref, value);
    } finally {
      // A read that ran while the store was being written may have kept the old value.
      this.drop(ref.account);
    }
  }

  async delete(ref: SecretRef): Promise<boolean> {
    this.drop(ref.account);
    try {
      return await this.store.delete(ref);
    } finally {
      this.drop(ref.account);
    }
  }

  list(): Promise<SecretRef[]> {
    return this.store.list();
  }

  /** Forgets the account's secret (every account's when absent): the next get reads the store. */
  drop(account?: string): void {
    this.drops++;
    if (account === undefined) this.entries.clear();
    else this.entries.delete(account);
  }
}
