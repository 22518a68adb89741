// The secret stores in-process: the keychain store against a real gnome-keyring (read back with
// secret-tool), the split layer (in memory and through the keychain with an emulated cap), the
// migration protocol with an interruption, and the store selection.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { productPaths } from '../src/shared/paths.js';
import type { SecretEntries } from '../src/core/secrets/entries.js';
import { FileSecretStore } from '../src/core/secrets/file-store.js';
import { KEYCHAIN_SERVICE, KeychainSecretStore } from '../src/core/secrets/keychain-store.js';
import { migrateSecrets, migrationMarkerFile, readMigrationMarker } from '../src/core/secrets/migration.js';
import { openSecretStore } from '../src/core/secrets/open-store.js';
import { SecretStoreError, type SecretRef, type SecretSlot } from '../src/core/secrets/secret-store.js';
import { CappedEntries, SPLIT_MARKER, SplitEntries, splitParts } from '../src/core/secrets/split-entries.js';
import { assertSameSecret } from './support/answers.js';
import { sharedKeyringTests } from './support/keyring.js';

const SLOTS: SecretSlot[] = ['static', 'oauth-refresh', 'oauth-access', 'oauth-client-secret'];
let counter = 0;

/** A secret that is unique per call, at least 12 characters, never printed. */
function secret(length = 40): string {
  const base = `gcb-test-secret-${process.pid}-${++counter}-`;
  let out = base;
  while (out.length < length) out += 'abcdefghijklmnopqrstuvwxyz0123456789'[out.length % 36];
  return out.slice(0, length);
}

function tempPaths(): { paths: ReturnType<typeof productPaths>; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'gcb-stores-'));
  return { paths: productPaths({ GIT_CREDENTIAL_BITBUCKET_HOME: root }), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

class MemoryEntries implements SecretEntries {
  readonly map = new Map<string, string>();
  failSetAfter = Infinity;
  async get(name: string) {
    return this.map.get(name);
  }
  async set(name: string, value: string) {
    if (this.failSetAfter-- <= 0) throw new Error('killed');
    this.map.set(name, value);
  }
  async delete(name: string) {
    return this.map.delete(name);
  }
  async names() {
    return [...this.map.keys()];
  }
}

// ---- split layer, in memory ---------------------------------------------------------------

test('split layer: a 6,000-character token is split under a 2,560-byte cap, joined, rotated and deleted', async (t) => {
  const memory = new MemoryEntries();
  const split = new SplitEntries(new CappedEntries(memory, 2560), 2560);
  const token = secret(6000);
  await split.set('work/oauth-access', token);
  t.true(memory.map.get('work/oauth-access')!.startsWith(SPLIT_MARKER));
  const parts = [...memory.map.keys()].filter((name) => name.startsWith('work/oauth-access#'));
  t.is(parts.length, 3);
  for (const part of parts) t.true(Buffer.byteLength(memory.map.get(part)!) <= 2560);
  assertSameSecret(t, await split.get('work/oauth-access'), token, 'the stored value');
  t.deepEqual(await split.names(), ['work/oauth-access']);

  const rotated = secret(6000);
  await split.set('work/oauth-access', rotated);
  assertSameSecret(t, await split.get('work/oauth-access'), rotated, 'the stored value');
  t.is([...memory.map.keys()].filter((name) => name.startsWith('work/oauth-access#')).length, 3, 'the old generation is gone');

  const small = secret(50);
  await split.set('work/oauth-access', small);
  assertSameSecret(t, memory.map.get('work/oauth-access'), small, 'a value that fits is stored as itself');
  t.deepEqual([...memory.map.keys()], ['work/oauth-access']);

  await split.set('work/oauth-access', rotated);
  t.true(await split.delete('work/oauth-access'));
  t.is(memory.map.size, 0);
  assertSameSecret(t, await split.get('work/oauth-access'), undefined, 'nothing after the delete');
});

test('split layer: a write killed before its head leaves the old value whole; delete removes the orphans', async (t) => {
  const memory = new MemoryEntries();
  const split = new SplitEntries(memory, 2560);
  const old = secret(6000);
  await split.set('work/oauth-refresh', old);
  memory.failSetAfter = 2; // two parts written, then "killed"
  await t.throwsAsync(split.set('work/oauth-refresh', secret(6000)));
  memory.failSetAfter = Infinity;
  assertSameSecret(t, await split.get('work/oauth-refresh'), old, 'the stored value');
  t.is(memory.map.size, 1 + 3 + 2, 'head, old parts, orphaned new parts');
  await split.delete('work/oauth-refresh');
  t.is(memory.map.size, 0);
});

test('split layer: missing or altered parts are reported, never returned', async (t) => {
  const memory = new MemoryEntries();
  const split = new SplitEntries(memory, 2560);
  await split.set('a/static', secret(6000));
  const part = [...memory.map.keys()].find((name) => name.endsWith('.1'))!;
  memory.map.set(part, memory.map.get(part)!.replace(/.$/, '!'));
  const altered = await t.throwsAsync(split.get('a/static'), { instanceOf: SecretStoreError });
  t.regex(altered!.message, /damaged/);
  memory.map.delete(part);
  const missing = await t.throwsAsync(split.get('a/static'), { instanceOf: SecretStoreError });
  t.regex(missing!.message, /incomplete/);
});

test('split layer: multi-byte text splits on character boundaries; a value that looks like a head round-trips', async (t) => {
  for (const part of splitParts('ä€😀'.repeat(900), 2560)) {
    t.true(Buffer.byteLength(part) <= 2560);
    t.false(part.includes('\uFFFD'));
  }
  const memory = new MemoryEntries();
  const split = new SplitEntries(memory, 2560);
  const unicode = 'ä€😀'.repeat(900);
  await split.set('u/static', unicode);
  assertSameSecret(t, await split.get('u/static'), unicode, 'the stored value');
  const tricky = `${SPLIT_MARKER}not-a-head-but-a-secret`;
  await split.set('u/static', tricky);
  assertSameSecret(t, await split.get('u/static'), tricky, 'the stored value');
});

// ---- selection ----------------------------------------------------------------------------

test('selection: environment, then an unfinished migration, then config.json, then an existing secrets.json, then the keychain', (t) => {
  const { paths, cleanup } = tempPaths();
  t.teardown(cleanup);
  const select = (env: Record<string, string> = {}) => openSecretStore(paths, { env }).selection();
  t.deepEqual(select(), { kind: 'keychain', reason: 'default' });
  writeFileSync(paths.secretsFile, '{"version":1,"secrets":{}}');
  t.deepEqual(select(), { kind: 'file', reason: 'existing-file' });
  writeFileSync(paths.configFile, JSON.stringify({ version: 1, secretStore: 'keychain' }));
  t.deepEqual(select(), { kind: 'keychain', reason: 'config' });
  writeFileSync(migrationMarkerFile(paths), JSON.stringify({ from: 'keychain', to: 'file', startedAt: 'x' }));
  t.like(select(), { kind: 'file', reason: 'migration' });
  t.deepEqual(select({ GIT_CREDENTIAL_BITBUCKET_SECRET_STORE: 'keychain' }), { kind: 'keychain', reason: 'environment' });
  t.throws(() => select({ GIT_CREDENTIAL_BITBUCKET_SECRET_STORE: 'plaintext' }), { instanceOf: SecretStoreError });
  writeFileSync(paths.configFile, JSON.stringify({ version: 1, secretStore: 'vault' }));
  rmSync(migrationMarkerFile(paths));
  t.throws(() => select(), { message: /secretStore must be one of keychain, file/ });
});

// ---- against a real gnome-keyring -----------------------------------------------------------

sharedKeyringTests(test, { inThisProcess: true }, (keyring) => {
  /** secret-tool's listing of our service: attributes (stderr) and secrets (stdout), never printed. */
  const searchOutput = () => {
    const result = keyring().secretTool(['search', '--all', 'service', KEYCHAIN_SERVICE]);
    return result.stdout + result.stderr;
  };
  const lookup = (name: string) => keyring().secretTool(['lookup', 'service', KEYCHAIN_SERVICE, 'username', name]);

  test.serial('keychain: every slot stored, listed, read back through secret-tool, deleted', async (t) => {
    const store = new KeychainSecretStore({ prefix: '/profile-a:' });
    const values = new Map(SLOTS.map((slot) => [slot, secret()]));
    for (const [slot, value] of values) await store.set({ account: 'work', slot }, value);
    await store.set({ account: 'home', slot: 'static' }, secret());
    t.deepEqual(
      (await store.list()).filter((ref) => ref.account === 'work').map((ref) => ref.slot),
      [...SLOTS].sort(),
    );
    for (const [slot, value] of values) {
      assertSameSecret(t, await store.get({ account: 'work', slot }), value, 'the stored value');
      const external = lookup(`/profile-a:work/${slot}`);
      t.is(external.code, 0);
      t.true(external.stdout === value, `secret-tool reads the ${slot} secret back from the Secret Service`);
    }
    t.true(await store.delete({ account: 'work', slot: 'oauth-access' }));
    t.false(await store.delete({ account: 'work', slot: 'oauth-access' }));
    assertSameSecret(t, await store.get({ account: 'work', slot: 'oauth-access' }), undefined, 'nothing after the delete');
    t.not(lookup('/profile-a:work/oauth-access').code, 0);
  });

  test.serial('keychain: two profiles never see each other\'s entries', async (t) => {
    const a = new KeychainSecretStore({ prefix: '/profile-b:' });
    const b = new KeychainSecretStore({ prefix: '/profile-c:' });
    const ref: SecretRef = { account: 'work', slot: 'static' };
    const [va, vb] = [secret(), secret()];
    await a.set(ref, va);
    await b.set(ref, vb);
    assertSameSecret(t, await a.get(ref), va, 'the stored value');
    assertSameSecret(t, await b.get(ref), vb, 'the stored value');
    t.deepEqual(await a.list(), [ref]);
    await a.delete(ref);
    assertSameSecret(t, await b.get(ref), vb, 'the stored value');
  });

  test.serial('keychain: a 6,000-character token stored, read back, rotated and deleted', async (t) => {
    const store = new KeychainSecretStore({ prefix: '/profile-d:' });
    const ref: SecretRef = { account: 'work', slot: 'oauth-refresh' };
    const token = secret(6000);
    await store.set(ref, token);
    assertSameSecret(t, await store.get(ref), token, 'the stored value');
    t.true(lookup('/profile-d:work/oauth-refresh').stdout === token);
    const rotated = secret(6000);
    await store.set(ref, rotated);
    assertSameSecret(t, await store.get(ref), rotated, 'the stored value');
    t.true(await store.delete(ref));
    t.not(lookup('/profile-d:work/oauth-refresh').code, 0);
  });

  test.serial('keychain + split layer (emulated 2,560-byte cap): a 6,000-character token in parts, rotated and deleted', async (t) => {
    const store = new KeychainSecretStore({ prefix: '/profile-e:', emulatedCapBytes: 2560 });
    const ref: SecretRef = { account: 'work', slot: 'oauth-access' };
    const token = secret(6000);
    await store.set(ref, token);
    assertSameSecret(t, await store.get(ref), token, 'the stored value');
    const entries = () => (searchOutput().match(/attribute\.username = \/profile-e:.*/g) ?? []).map((line) => line.split(' = ')[1]!).filter((name) => !name.endsWith('.canary'));
    const head = lookup('/profile-e:work/oauth-access').stdout;
    t.true(head.startsWith(SPLIT_MARKER), 'the entry itself is the head');
    const parts = entries().filter((name) => name.includes('#'));
    t.is(parts.length, 3);
    for (const part of parts) t.true(Buffer.byteLength(lookup(part).stdout) <= 2560);
    t.deepEqual(await store.list(), [ref]);
    const rotated = secret(6000);
    await store.set(ref, rotated);
    assertSameSecret(t, await store.get(ref), rotated, 'the stored value');
    t.is(entries().filter((name) => name.includes('#')).length, 3, 'the old parts are gone');
    t.true(await store.delete(ref));
    t.deepEqual(entries(), []);
  });

  test.serial('migration in-process: file → keychain interrupted after two secrets, every secret readable meanwhile, resumed, then back to file', async (t) => {
    const { paths, cleanup } = tempPaths();
    t.teardown(cleanup);
    const selected = openSecretStore(paths, { env: {} });
    const file = selected.store('file') as FileSecretStore;
    const keychain = selected.store('keychain');
    const values = new Map<string, string>();
    for (const account of ['a1', 'a2', 'a3']) {
      for (const slot of ['static', 'oauth-refresh'] as const) {
        const value = secret(slot === 'oauth-refresh' ? 3000 : 40);
        values.set(`${account}/${slot}`, value);
        await file.set({ account, slot }, value);
      }
    }
    writeFileSync(paths.configFile, JSON.stringify({ version: 1, secretStore: 'file' }));
    const stores = { file, keychain };
    await t.throwsAsync(
      migrateSecrets('keychain', {
        paths,
        stores,
        onMoved: (moved) => {
          if (moved === 2) throw new Error('killed');
        },
      }),
      { message: 'killed' },
    );
    t.like(readMigrationMarker(paths), { from: 'file', to: 'keychain' });
    t.is((await file.list()).length, 4);
    for (const [key, value] of values) {
      const [account, slot] = key.split('/') as [string, SecretSlot];
      assertSameSecret(t, await selected.get({ account, slot }), value, `${key} readable during the interruption`);
    }
    // A secret rotated while the migration is unfinished lands in the target and wins.
    const rotated = secret();
    await selected.set({ account: 'a3', slot: 'static' }, rotated);
    values.set('a3/static', rotated);

    const result = await migrateSecrets('keychain', { paths, stores });
    t.true(result.resumed);
    t.is(readMigrationMarker(paths), undefined);
    t.deepEqual(await file.list(), []);
    t.is(selected.selection().kind, 'keychain');
    for (const [key, value] of values) {
      const [account, slot] = key.split('/') as [string, SecretSlot];
      assertSameSecret(t, await keychain.get({ account, slot }), value, `${key} in the keychain`);
    }

    const back = await migrateSecrets('file', { paths, stores });
    t.is(back.moved, 6);
    t.deepEqual(await keychain.list(), []);
    t.is(selected.selection().kind, 'file');
    for (const [key, value] of values) {
      const [account, slot] = key.split('/') as [string, SecretSlot];
      assertSameSecret(t, await file.get({ account, slot }), value, 'the stored value');
    }
  });
});

test('the secret-store selection reads the configuration through the cache it is given (the daemon has one)', (t) => {
  const { paths, cleanup } = tempPaths();
  t.teardown(cleanup);
  let reads = 0;
  const config = {
    current: () => {
      reads++;
      return { version: 1 as const, accounts: [], routes: [], daemon: {}, oauth: {}, secretStore: 'file' as const };
    },
  };
  // No config.json on disk: a selection that read the file itself would fall back to the keychain.
  const selected = openSecretStore(paths, { env: {}, config });
  t.deepEqual(selected.selection(), { kind: 'file', reason: 'config' });
  t.is(reads, 1);
});
