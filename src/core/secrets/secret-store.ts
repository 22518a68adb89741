// Where secrets live. The daemon and the CLI see only this interface: the OS keychain
// (keychain-store.ts, the default) and the plaintext file store (file-store.ts) implement it, and
// open-store.ts is the one place that chooses between them.

/** What a stored secret is for; an account may hold several. */
export type SecretSlot = 'static' | 'oauth-refresh' | 'oauth-access' | 'oauth-client-secret';

export const SECRET_SLOTS: readonly SecretSlot[] = ['static', 'oauth-refresh', 'oauth-access', 'oauth-client-secret'];

/** The stores a user can choose. */
export type SecretStoreKind = 'keychain' | 'file';

export const SECRET_STORE_KINDS: readonly SecretStoreKind[] = ['keychain', 'file'];

export interface SecretRef {
  account: string;
  slot: SecretSlot;
}

export interface SecretStore {
  /** Shown to users ("file", "keychain"). */
  readonly name: string;
  /** True when secrets sit unencrypted on disk; `status` says so. */
  readonly plaintext: boolean;
  /** Where the secrets are, for messages. */
  readonly location: string;
  get(ref: SecretRef): Promise<string | undefined>;
  set(ref: SecretRef, value: string): Promise<void>;
  /** Returns whether something was deleted. */
  delete(ref: SecretRef): Promise<boolean>;
  list(): Promise<SecretRef[]>;
}

export class SecretStoreError extends Error {}

/**
 * The chosen store cannot be used right now (keychain unreachable, locked, its native module
 * missing). Never answered by switching to another store.
 */
export class SecretStoreUnavailableError extends SecretStoreError {}
