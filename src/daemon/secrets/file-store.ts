// Secrets in one JSON file readable by the user only (0600), separate from config.json.
// PLAINTEXT: anyone who can read the user's files can read the secrets. It exists for machines
// without a keychain and must be chosen knowingly; `status` labels it.

import { readFileSync, statSync } from 'node:fs';
import { withFileLock, writeFileAtomic } from '../files.js';
import { SecretStoreError, type SecretRef, type SecretSlot, type SecretStore } from './secret-store.js';

type SecretsFile = { version: 1; secrets: Record<string, Partial<Record<SecretSlot, string>>> };

export class FileSecretStore implements SecretStore {
  readonly name = 'file';
  readonly plaintext = true;
  private cacheKey = '';
  private cached: SecretsFile | undefined;

  constructor(readonly location: string) {}

  async get(ref: SecretRef): Promise<string | undefined> {
    return this.read().secrets[ref.account]?.[ref.slot];
  }

  async set(ref: SecretRef, value: string): Promise<void> {
    await this.change((file) => {
      (file.secrets[ref.account] ??= {})[ref.slot] = value;
    });
  }

  async delete(ref: SecretRef): Promise<boolean> {
    return this.change((file) => {
      const entry = file.secrets[ref.account];
      if (!entry || entry[ref.slot] === undefined) return false;
      delete entry[ref.slot];
      if (Object.keys(entry).length === 0) delete file.secrets[ref.account];
      return true;
    });
  }

  async list(): Promise<SecretRef[]> {
    const refs: SecretRef[] = [];
    for (const [account, slots] of Object.entries(this.read().secrets)) {
      for (const slot of Object.keys(slots) as SecretSlot[]) refs.push({ account, slot });
    }
    return refs;
  }

  private async change<T>(mutate: (file: SecretsFile) => T): Promise<T> {
    return withFileLock(this.location, () => {
      const file = this.read();
      const result = mutate(file);
      writeFileAtomic(this.location, JSON.stringify(file, null, 2) + '\n', 0o600);
      return result;
    });
  }

  /** Re-reads only when the file changed, so the daemon sees the CLI's updates at once. */
  private read(): SecretsFile {
    let key: string;
    try {
      const stat = statSync(this.location);
      key = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, secrets: {} };
      throw new SecretStoreError(`the file secret store ${this.location} cannot be read`);
    }
    if (key === this.cacheKey && this.cached) return structuredClone(this.cached);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.location, 'utf8'));
    } catch {
      // Never quote the content: it is secrets.
      throw new SecretStoreError(`the file secret store ${this.location} is corrupt; it was left unchanged`);
    }
    const secrets = (parsed as Partial<SecretsFile>)?.secrets;
    if (typeof secrets !== 'object' || secrets === null || Array.isArray(secrets)) {
      throw new SecretStoreError(`the file secret store ${this.location} is corrupt; it was left unchanged`);
    }
    this.cached = { version: 1, secrets: secrets as SecretsFile['secrets'] };
    this.cacheKey = key;
    return structuredClone(this.cached);
  }
}
