// The split layer: a store whose entries are capped (Windows Credential Manager: 2,560 bytes per
// blob) still holds an OAuth token of several kilobytes. A value that does not fit is written as
// parts, then committed by one write of its head entry; a reader sees the old value or the new
// one, never a mix. The cap counts what the platform stores: keyring-rs writes a Windows
// password as UTF-16 (2,560 bytes are 1,280 UTF-16 code units), elsewhere entries are UTF-8.
//
// Format, for the entry NAME:
//   NAME                  the value itself when it fits and does not start with the marker, else
//                         the head: `gcb-split:v1:<generation>:<parts>:<bytes>:<sha256 of value>`
//   NAME#<generation>.<i> part i (0-based) of that generation, each at most the cap as the
//                         platform counts it (EntrySize); <bytes> is the value's UTF-8 length
// Writing: new parts under a fresh random generation → the head (the commit point) → delete the
// parts of the generation the head replaced. Killed before the head is written: the old value
// stays whole (the new parts are orphans, removed when the entry is deleted). A head whose parts
// are missing or do not hash to the recorded value is reported, never returned.

import { createHash, randomBytes } from 'node:crypto';
import type { SecretEntries } from './entries.js';
import { SecretStoreError } from './secret-store.js';

export const SPLIT_MARKER = 'gcb-split:v1:';
/** Windows Credential Manager's limit for one credential blob (CRED_MAX_CREDENTIAL_BLOB_SIZE). */
export const WINDOWS_CREDENTIAL_BLOB_BYTES = 2560;
/** A head entry is about 100 bytes; a cap below this cannot hold one. */
const MIN_CAP_BYTES = 256;
const HEAD = /^gcb-split:v1:([0-9a-f]{8}):([1-9][0-9]{0,4}):([0-9]{1,9}):([0-9a-f]{64})$/;
const PART = /#[0-9a-f]{8}\.[0-9]{1,5}$/;
/** A reader that raced a writer deleting the parts it was about to read tries again. */
const READ_ATTEMPTS = 3;

/** How a platform store counts an entry against its cap, in bytes. */
export interface EntrySize {
  of(text: string): number;
}

export const UTF8_SIZE: EntrySize = { of: (text) => Buffer.byteLength(text, 'utf8') };
/** Two bytes per UTF-16 code unit: a character outside the BMP (a surrogate pair) takes four. */
export const UTF16_SIZE: EntrySize = { of: (text) => text.length * 2 };

/** What the platform's store holds per entry: UTF-16 in Windows Credential Manager, UTF-8 elsewhere. */
export function entrySizeOn(platform: NodeJS.Platform): EntrySize {
  return platform === 'win32' ? UTF16_SIZE : UTF8_SIZE;
}

export class SplitEntries implements SecretEntries {
  constructor(
    private readonly inner: SecretEntries,
    readonly capBytes: number,
    private readonly size: EntrySize = UTF8_SIZE,
  ) {
    if (!(capBytes >= MIN_CAP_BYTES)) throw new Error(`a split layer needs a cap of at least ${MIN_CAP_BYTES} bytes`);
  }

  async get(name: string): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      const head = await this.inner.get(name);
      if (head === undefined || !head.startsWith(SPLIT_MARKER)) return head;
      const parsed = parseHead(head);
      if (!parsed) throw new SecretStoreError(`the stored entry ${name} is damaged (unreadable head); store that secret again`);
      const parts = await Promise.all(range(parsed.parts).map((i) => this.inner.get(partName(name, parsed.generation, i))));
      if (parts.every((part): part is string => part !== undefined)) {
        const value = parts.join('');
        if (Buffer.byteLength(value) !== parsed.bytes || sha256(value) !== parsed.sha256) {
          throw new SecretStoreError(`the stored entry ${name} is damaged (its parts do not match); store that secret again`);
        }
        return value;
      }
      // A writer may have replaced the value between our two reads: read the new head.
      if (attempt >= READ_ATTEMPTS || (await this.inner.get(name)) === head) {
        throw new SecretStoreError(`the stored entry ${name} is incomplete (parts missing); store that secret again`);
      }
    }
  }

  async set(name: string, value: string): Promise<void> {
    const replaced = parseHead((await this.inner.get(name)) ?? '');
    if (this.size.of(value) <= this.capBytes && !value.startsWith(SPLIT_MARKER)) {
      await this.inner.set(name, value);
    } else {
      const generation = randomBytes(4).toString('hex');
      const parts = splitParts(value, this.capBytes, this.size);
      for (const [i, part] of parts.entries()) await this.inner.set(partName(name, generation, i), part);
      await this.inner.set(name, `${SPLIT_MARKER}${generation}:${parts.length}:${Buffer.byteLength(value)}:${sha256(value)}`);
    }
    if (replaced) {
      for (const i of range(replaced.parts)) await this.inner.delete(partName(name, replaced.generation, i));
    }
  }

  async delete(name: string): Promise<boolean> {
    const deleted = await this.inner.delete(name);
    // Every generation, including orphans of a writer killed before its commit.
    for (const other of await this.inner.names()) {
      if (other.startsWith(`${name}#`) && PART.test(other)) await this.inner.delete(other);
    }
    return deleted;
  }

  async names(): Promise<string[]> {
    return (await this.inner.names()).filter((name) => !PART.test(name));
  }
}

/** Emulates a platform limit (tests on Linux): refuses any entry larger than the cap. */
export class CappedEntries implements SecretEntries {
  constructor(
    private readonly inner: SecretEntries,
    readonly capBytes: number,
    private readonly size: EntrySize = UTF8_SIZE,
  ) {}

  get(name: string): Promise<string | undefined> {
    return this.inner.get(name);
  }

  async set(name: string, value: string): Promise<void> {
    const bytes = this.size.of(value);
    if (bytes > this.capBytes) throw new SecretStoreError(`the entry ${name} has ${bytes} bytes; this store holds at most ${this.capBytes}`);
    await this.inner.set(name, value);
  }

  delete(name: string): Promise<boolean> {
    return this.inner.delete(name);
  }

  names(): Promise<string[]> {
    return this.inner.names();
  }
}

function parseHead(head: string): { generation: string; parts: number; bytes: number; sha256: string } | undefined {
  const match = HEAD.exec(head);
  if (!match) return undefined;
  return { generation: match[1]!, parts: Number(match[2]), bytes: Number(match[3]), sha256: match[4]! };
}

function partName(name: string, generation: string, index: number): string {
  return `${name}#${generation}.${index}`;
}

/** Splits on code point boundaries (no part ends in half a character) into parts of at most `maxBytes` each. */
export function splitParts(value: string, maxBytes: number, size: EntrySize = UTF8_SIZE): string[] {
  const parts: string[] = [];
  let current = '';
  let currentBytes = 0;
  for (const char of value) {
    const bytes = size.of(char);
    if (currentBytes + bytes > maxBytes) {
      parts.push(current);
      current = '';
      currentBytes = 0;
    }
    current += char;
    currentBytes += bytes;
  }
  if (current !== '' || parts.length === 0) parts.push(current);
  return parts;
}

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
