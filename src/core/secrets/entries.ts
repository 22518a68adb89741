// A platform store seen as named string entries (the keyring library's "username" inside our one
// service name), and the SecretStore built on it. Layers such as the split layer (split-entries.ts) sit
// between the two: they see every entry name, including their own parts.

import { SECRET_SLOTS, type SecretRef, type SecretSlot } from './secret-store.js';

export interface SecretEntries {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
  /** Returns whether something was deleted. */
  delete(name: string): Promise<boolean>;
  /** Every entry name in the store (of this product's service), in no particular order. */
  names(): Promise<string[]>;
}

const SLOTS: ReadonlySet<string> = new Set(SECRET_SLOTS);
/** Account names are letters, digits, '.', '_' and '-' (accounts.ts), so '/' separates. */
const CORE = /^([A-Za-z0-9._-]{1,64})\/([a-z-]+)$/;

/** Entry names are `<account>/<slot>`, behind a per-profile prefix ("" for the default profile). */
export class EntryNames {
  constructor(readonly prefix: string) {}

  of(ref: SecretRef): string {
    return `${this.prefix}${ref.account}/${ref.slot}`;
  }

  /** The ref an entry name stands for, or undefined for another profile's entry or a layer's part. */
  parse(name: string): SecretRef | undefined {
    if (!name.startsWith(this.prefix)) return undefined;
    const match = CORE.exec(name.slice(this.prefix.length));
    if (!match || !SLOTS.has(match[2]!)) return undefined;
    return { account: match[1]!, slot: match[2] as SecretSlot };
  }
}

/** SecretStore operations over named entries. */
export class EntrySecretOperations {
  constructor(
    private readonly entries: SecretEntries,
    private readonly naming: EntryNames,
  ) {}

  get(ref: SecretRef): Promise<string | undefined> {
    return this.entries.get(this.naming.of(ref));
  }

  set(ref: SecretRef, value: string): Promise<void> {
    return this.entries.set(this.naming.of(ref), value);
  }

  delete(ref: SecretRef): Promise<boolean> {
    return this.entries.delete(this.naming.of(ref));
  }

  async list(): Promise<SecretRef[]> {
    const refs: SecretRef[] = [];
    for (const name of await this.entries.names()) {
      const ref = this.naming.parse(name);
      if (ref) refs.push(ref);
    }
    return refs.sort((a, b) => (a.account === b.account ? a.slot.localeCompare(b.slot) : a.account.localeCompare(b.account)));
  }
}
