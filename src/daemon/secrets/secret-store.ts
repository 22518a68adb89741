// Where secrets live. The daemon and the CLI see only this interface; the keychain issue adds
// an OS-keychain implementation next to the file store, and a swap is one file.

/** What a stored secret is for; an account may hold several. */
export type SecretSlot = 'static' | 'oauth-refresh' | 'oauth-access' | 'oauth-client-secret';

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
