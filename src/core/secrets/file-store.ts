// Secrets in one JSON file readable by the user only (0600), separate from config.json.
// PLAINTEXT: anyone who can read the user's files can read the secrets. It exists for machines
// without a keychain and must be chosen knowingly; `status` labels it.

import { ChangeAwareFile, PrivateFileError, withFileLock, writeFileAtomic } from '../files.js';
import { SecretStoreError, type SecretRef, type SecretSlot, type SecretStore } from './secret-store.js';

const SLOTS: ReadonlySet<string> = new Set<SecretSlot>(['static', 'oauth-refresh', 'oauth-access', 'oauth-client-secret']);

/** account → slot → secret. Maps, so that an account called "constructor" is just a name. */
type Secrets = Map<string, Map<SecretSlot, string>>;

export class FileSecretStore implements SecretStore {
  readonly name = 'file';
  readonly plaintext = true;
  private readonly file: ChangeAwareFile<Secrets>;

  constructor(readonly location: string) {
    // Private: the mode is checked (and tightened back to 0600) on every read, cached or not.
    this.file = new ChangeAwareFile(location, (text) => this.parse(text), () => new Map(), { private: true });
  }

  async get(ref: SecretRef): Promise<string | undefined> {
    return this.read().get(ref.account)?.get(ref.slot);
  }

  async set(ref: SecretRef, value: string): Promise<void> {
    await this.change((secrets) => {
      const slots = secrets.get(ref.account) ?? new Map<SecretSlot, string>();
      slots.set(ref.slot, value);
      secrets.set(ref.account, slots);
    });
  }

  async delete(ref: SecretRef): Promise<boolean> {
    return this.change((secrets) => {
      const slots = secrets.get(ref.account);
      if (!slots?.delete(ref.slot)) return false;
      if (slots.size === 0) secrets.delete(ref.account);
      return true;
    });
  }

  async list(): Promise<SecretRef[]> {
    return [...this.read()].flatMap(([account, slots]) => [...slots.keys()].map((slot) => ({ account, slot })));
  }

  private async change<T>(mutate: (secrets: Secrets) => T): Promise<T> {
    return withFileLock(this.location, () => {
      const secrets = copy(this.read());
      const result = mutate(secrets);
      const json = Object.fromEntries([...secrets].map(([account, slots]) => [account, Object.fromEntries(slots)]));
      writeFileAtomic(this.location, JSON.stringify({ version: 1, secrets: json }, null, 2) + '\n');
      return result;
    });
  }

  private read(): Secrets {
    try {
      return this.file.read();
    } catch (error) {
      if (error instanceof SecretStoreError || error instanceof PrivateFileError) throw error;
      throw new SecretStoreError(`the file secret store ${this.location} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }

  private parse(text: string): Secrets {
    // Never quote the content in an error: it is secrets.
    const corrupt = new SecretStoreError(`the file secret store ${this.location} is corrupt; it was left unchanged`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw corrupt;
    }
    const raw = (parsed as { secrets?: unknown } | null)?.secrets;
    if (!isRecord(raw)) throw corrupt;
    const secrets: Secrets = new Map();
    for (const [account, slots] of Object.entries(raw)) {
      if (!isRecord(slots)) throw corrupt;
      const entry = new Map<SecretSlot, string>();
      for (const [slot, value] of Object.entries(slots)) {
        if (!SLOTS.has(slot) || typeof value !== 'string') throw corrupt;
        entry.set(slot as SecretSlot, value);
      }
      secrets.set(account, entry);
    }
    return secrets;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function copy(secrets: Secrets): Secrets {
  return new Map([...secrets].map(([account, slots]) => [account, new Map(slots)]));
}
