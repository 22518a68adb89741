// The split layer's size rules, one per platform: what a part may hold is counted the way the
// platform's store counts it (Windows Credential Manager holds keyring-rs passwords as UTF-16;
// elsewhere entries are UTF-8). In memory: the keychain-level tests are in keychain*.test.ts.

import test from 'ava';
import type { SecretEntries } from '../src/core/secrets/entries.js';
import { CappedEntries, SPLIT_MARKER, SplitEntries, UTF16_SIZE, UTF8_SIZE, WINDOWS_CREDENTIAL_BLOB_BYTES, entrySizeOn, splitParts } from '../src/core/secrets/split-entries.js';
import { assertSameSecret } from './support/answers.js';

class MemoryEntries implements SecretEntries {
  readonly map = new Map<string, string>();
  async get(name: string) {
    return this.map.get(name);
  }
  async set(name: string, value: string) {
    this.map.set(name, value);
  }
  async delete(name: string) {
    return this.map.delete(name);
  }
  async names() {
    return [...this.map.keys()];
  }
}

const parts = (memory: MemoryEntries, name: string) => [...memory.map].filter(([key]) => key.startsWith(`${name}#`)).map(([, value]) => value);
/** No part may end or start in the middle of a surrogate pair. */
const wholeCharacters = (text: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

test('the platform rule: Windows counts UTF-16 bytes, Linux and macOS UTF-8 bytes', (t) => {
  t.is(entrySizeOn('win32'), UTF16_SIZE);
  t.is(entrySizeOn('linux'), UTF8_SIZE);
  t.is(entrySizeOn('darwin'), UTF8_SIZE);
  t.is(UTF16_SIZE.of('a'.repeat(1280)), 2560);
  t.is(UTF16_SIZE.of('€'), 2);
  t.is(UTF16_SIZE.of('😀'), 4);
  t.is(UTF8_SIZE.of('a'.repeat(1280)), 1280);
  t.is(UTF8_SIZE.of('€'), 3);
  t.is(UTF8_SIZE.of('😀'), 4);
});

test('Windows (UTF-16): 2,560 bytes are 1,280 characters; 1,281 ASCII characters are split into parts of at most 1,280', async (t) => {
  const memory = new MemoryEntries();
  const split = new SplitEntries(memory, WINDOWS_CREDENTIAL_BLOB_BYTES, UTF16_SIZE);
  const fits = 'w'.repeat(1280);
  await split.set('work/static', fits);
  t.deepEqual([...memory.map.keys()], ['work/static'], '1,280 characters are stored as themselves');

  const token = 'x'.repeat(1281);
  await split.set('work/static', token);
  t.true(memory.map.get('work/static')!.startsWith(SPLIT_MARKER));
  t.deepEqual(parts(memory, 'work/static').map((part) => part.length), [1280, 1]);
  assertSameSecret(t, await split.get('work/static'), token, 'the joined value');
});

test('Windows (UTF-16): a token of 2,560 ASCII characters, which UTF-8 would store whole, takes two parts', async (t) => {
  const token = 'y'.repeat(2560);
  t.deepEqual(splitParts(token, 2560, UTF8_SIZE).length, 1);
  const windows = splitParts(token, 2560, UTF16_SIZE);
  t.deepEqual(windows.map((part) => part.length), [1280, 1280]);
});

test('Windows (UTF-16): characters outside the BMP are never cut in half; every part stays within 2,560 UTF-16 bytes', async (t) => {
  const value = 'a😀€'.repeat(700); // 4 UTF-16 units per repetition, the emoji a surrogate pair
  const memory = new MemoryEntries();
  const split = new SplitEntries(new CappedEntries(memory, 2560, UTF16_SIZE), 2560, UTF16_SIZE);
  await split.set('u/static', value);
  const stored = parts(memory, 'u/static');
  t.true(stored.length >= 2);
  for (const part of stored) {
    t.true(part.length * 2 <= 2560);
    t.true(wholeCharacters(part));
  }
  assertSameSecret(t, await split.get('u/static'), value, 'the joined value');
});

test('Linux and macOS (UTF-8, emulated cap): 2,560 bytes hold 2,560 ASCII characters but only 853 "€"; parts never split a character', async (t) => {
  t.is(splitParts('z'.repeat(2560), 2560, UTF8_SIZE).length, 1);
  t.deepEqual(splitParts('z'.repeat(2561), 2560, UTF8_SIZE).map((part) => part.length), [2560, 1]);
  const euros = splitParts('€'.repeat(1280), 2560, UTF8_SIZE);
  t.deepEqual(euros.map((part) => part.length), [853, 427]);
  for (const part of euros) t.true(Buffer.byteLength(part) <= 2560);
  t.is(splitParts('€'.repeat(1280), 2560, UTF16_SIZE).length, 1, 'the same text fits one Windows entry');
});

test('an emulated cap refuses an entry over its limit as the platform counts it', async (t) => {
  const utf16 = new CappedEntries(new MemoryEntries(), 2560, UTF16_SIZE);
  await t.throwsAsync(utf16.set('a/static', 'q'.repeat(1281)), { message: /has 2562 bytes; this store holds at most 2560/ });
  await t.notThrowsAsync(utf16.set('a/static', 'q'.repeat(1280)));
  const utf8 = new CappedEntries(new MemoryEntries(), 2560, UTF8_SIZE);
  await t.notThrowsAsync(utf8.set('a/static', 'q'.repeat(2560)));
});
