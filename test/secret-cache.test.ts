// The daemon keeps the static secrets it read from the keychain in memory (issue #15 item 2).
// First the cache alone, in-process against a counting store; then the product end to end: the
// real CLI, helper and daemon against a real gnome-keyring. Each way a secret changes is checked:
// through the product (seen by the next get at once) and behind the daemon's back (seen once the
// cache's lifetime, set in config.json by the test, has passed).

import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretCache } from '../src/daemon/secret-cache.js';
import type { SecretRef, SecretStore } from '../src/core/secrets/secret-store.js';
import { assertAnswer, masked } from './support/answers.js';
import { REPO_ROOT, Sandbox, credentialRequest } from './support/sandbox.js';
import { keyringTests, startTestKeyring, type TestKeyring } from './support/keyring.js';
import { waitFor } from './support/wait.js';

// ---- the cache alone ------------------------------------------------------------------------

/** A store in memory that counts reads and can hold a read until released. */
class CountingStore implements SecretStore {
  readonly name = 'keychain';
  readonly plaintext = false;
  readonly location = 'memory';
  readonly values = new Map<string, string>();
  reads = 0;
  private held: Array<() => void> | undefined;

  async get(ref: SecretRef): Promise<string | undefined> {
    this.reads++;
    const value = this.values.get(`${ref.account}/${ref.slot}`);
    if (this.held) await new Promise<void>((resolve) => this.held!.push(resolve));
    return value;
  }

  async set(ref: SecretRef, value: string): Promise<void> {
    this.values.set(`${ref.account}/${ref.slot}`, value);
  }

  async delete(ref: SecretRef): Promise<boolean> {
    return this.values.delete(`${ref.account}/${ref.slot}`);
  }

  async list(): Promise<SecretRef[]> {
    return [...this.values.keys()].map((key) => ({ account: key.split('/')[0]!, slot: key.split('/')[1] as SecretRef['slot'] }));
  }

  hold(): void {
    this.held = [];
  }

  release(): void {
    const waiting = this.held ?? [];
    this.held = undefined;
    for (const resume of waiting) resume();
  }
}

const WORK = { account: 'work', slot: 'static' } as const;

function cached(ttlMs = 60_000) {
  const store = new CountingStore();
  let now = 1000;
  const cache = new SecretCache(store, { ttlMs: () => ttlMs, now: () => now });
  return { store, cache, advance: (ms: number) => (now += ms) };
}

test('cache: a static secret is read from the store once and served from memory until its lifetime ends', async (t) => {
  const { store, cache, advance } = cached(60_000);
  store.values.set('work/static', 'static-secret-value-1');
  for (let i = 0; i < 3; i++) t.is(await cache.get(WORK), 'static-secret-value-1');
  t.is(store.reads, 1);
  advance(59_999);
  await cache.get(WORK);
  t.is(store.reads, 1);
  advance(1);
  await cache.get(WORK);
  t.is(store.reads, 2, 'read again once the lifetime has passed');
});

test('cache: OAuth slots, missing secrets and a lifetime of 0 always go to the store', async (t) => {
  const { store, cache } = cached();
  store.values.set('work/oauth-refresh', 'refresh-token-value-1');
  await cache.get({ account: 'work', slot: 'oauth-refresh' });
  await cache.get({ account: 'work', slot: 'oauth-refresh' });
  t.is(store.reads, 2);
  t.is(await cache.get(WORK), undefined);
  t.is(await cache.get(WORK), undefined);
  t.is(store.reads, 4);

  const off = cached(0);
  off.store.values.set('work/static', 'static-secret-value-1');
  await off.cache.get(WORK);
  await off.cache.get(WORK);
  t.is(off.store.reads, 2);
});

test('cache: a write or delete through it, and drop(), are seen by the next get', async (t) => {
  const { store, cache } = cached();
  store.values.set('work/static', 'static-secret-value-1');
  store.values.set('home/static', 'static-secret-value-h');
  await cache.get(WORK);
  await cache.set(WORK, 'static-secret-value-2');
  t.is(await cache.get(WORK), 'static-secret-value-2');
  t.true(await cache.delete(WORK));
  t.is(await cache.get(WORK), undefined);

  store.values.set('work/static', 'static-secret-value-3');
  await cache.get(WORK);
  await cache.get({ account: 'home', slot: 'static' });
  store.values.set('work/static', 'static-secret-value-4');
  store.values.set('home/static', 'static-secret-value-h2');
  cache.drop('work');
  t.is(await cache.get(WORK), 'static-secret-value-4');
  t.is(await cache.get({ account: 'home', slot: 'static' }), 'static-secret-value-h', 'drop(work) leaves home cached');
  cache.drop();
  t.is(await cache.get({ account: 'home', slot: 'static' }), 'static-secret-value-h2');
});

test('cache: a read that overlapped a drop is answered but not kept', async (t) => {
  const { store, cache } = cached();
  store.values.set('work/static', 'static-secret-value-1');
  store.hold();
  const reading = cache.get(WORK);
  store.values.set('work/static', 'static-secret-value-2');
  cache.drop('work');
  store.release();
  t.is(await reading, 'static-secret-value-1');
  t.is(await cache.get(WORK), 'static-secret-value-2');
});

// ---- the product, against a real keychain ----------------------------------------------------

const GET = credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' });
let counter = 0;

function secret(): string {
  return `gcb-cache-${process.pid}-${++counter}-ABCDEFGHIJKLMNOPQRSTUV`;
}

function answer(password: string): string {
  return `username=alice\npassword=${password}\n`;
}

interface World {
  keyring: TestKeyring;
  sandbox: Sandbox;
  first: string;
}

/** One keychain account, its secret read once by a running daemon; the secret cache's lifetime from config.json (an hour unless changed). */
async function world(t: ExecutionContext): Promise<World> {
  const keyring = await startTestKeyring();
  t.teardown(() => keyring.stop());
  const sandbox = new Sandbox({ secretStore: 'default', env: keyring.env });
  t.teardown(() => sandbox.cleanup());
  const first = secret();
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', first);
  setSecretCacheMs(sandbox, 3_600_000);
  assertAnswer(t, (await sandbox.helper('get', GET)).stdout, answer(first));
  return { keyring, sandbox, first };
}

/** Edits config.json as a user would (atomically: the running daemon never sees half a file). */
function editConfig(sandbox: Sandbox, edit: (config: Record<string, unknown>) => void): void {
  const file = join(sandbox.configHome, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(config);
  writeFileSync(`${file}.edit`, JSON.stringify(config, null, 2));
  renameSync(`${file}.edit`, file);
}

function setSecretCacheMs(sandbox: Sandbox, ms: number): void {
  editConfig(sandbox, (config) => {
    config.daemon = { ...(config.daemon as object), secretCacheMs: ms };
  });
}

/**
 * Another program changes the secret behind the daemon's back: a separate process writes the
 * store through the product's own store layer and tells nobody (the keychain's attribute
 * layout belongs to that layer, so secret-tool would have to repeat it here).
 */
function writeBehindTheDaemon(sandbox: Sandbox, kind: 'keychain' | 'file', value: string): void {
  sandbox.trackSecrets(value);
  const module = (path: string) => JSON.stringify(join(REPO_ROOT, 'dist', ...path.split('/')));
  const script = `
    const { openSecretStore } = await import(${module('core/secrets/open-store.js')});
    const { productPaths } = await import(${module('shared/paths.js')});
    await openSecretStore(productPaths()).store(${JSON.stringify(kind)}).set({ account: 'work', slot: 'static' }, process.env.NEW_SECRET);`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...sandbox.env, NEW_SECRET: value }, encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`could not write the ${kind} store behind the daemon: ${result.stderr}`);
}

async function getAnswer(sandbox: Sandbox): Promise<string> {
  return (await sandbox.helper('get', GET)).stdout;
}

keyringTests(
  test,
  () => {
    test.serial('account set-secret: the next get serves the new secret at once', async (t) => {
      const { sandbox } = await world(t);
      const next = secret();
      sandbox.trackSecrets(next);
      const set = await sandbox.cli(['account', 'set-secret', 'work', '--secret-stdin', '--no-verify'], { input: next });
      t.is(set.code, 0, set.stderr);
      assertAnswer(t, await getAnswer(sandbox), answer(next));
    });

    test.serial('account remove: the daemon forgets the secret at once (the account written back into config.json by hand has none)', async (t) => {
      const { sandbox } = await world(t);
      const config = readFileSync(join(sandbox.configHome, 'config.json'), 'utf8');
      const removed = await sandbox.cli(['account', 'remove', 'work']);
      t.is(removed.code, 0, removed.stderr);
      editConfig(sandbox, (edited) => Object.assign(edited, JSON.parse(config)));
      const result = await sandbox.helper('get', GET);
      t.is(masked(result.stdout), '');
      t.regex(result.stderr, /no secret for account work .* in the keychain store/);
    });

    test.serial('secrets migrate: the daemon drops every copy; a value changed while the secrets were in the file store is the one served after moving back', async (t) => {
      const { sandbox } = await world(t);
      const toFile = await sandbox.cli(['secrets', 'migrate', '--to', 'file']);
      t.is(toFile.code, 0, toFile.stderr);
      const edited = secret();
      writeBehindTheDaemon(sandbox, 'file', edited); // secrets.json is the user's to edit
      assertAnswer(t, await getAnswer(sandbox), answer(edited), 'the file store is read as it is');
      const back = await sandbox.cli(['secrets', 'migrate', '--to', 'keychain']);
      t.is(back.code, 0, back.stderr);
      assertAnswer(t, await getAnswer(sandbox), answer(edited), 'not the copy read from the keychain before the first migration');
    });

    test.serial("git's erase (Bitbucket refused the secret): the next get reads the keychain again and finds a secret replaced outside the product", async (t) => {
      const { sandbox, first } = await world(t);
      const replaced = secret();
      writeBehindTheDaemon(sandbox, 'keychain', replaced);
      assertAnswer(t, await getAnswer(sandbox), answer(first), 'served from memory while the cache lasts');
      const erase = await sandbox.helper('erase', credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git', username: 'alice', password: first }));
      t.is(erase.code, 0, erase.stderr);
      t.regex(erase.stderr, /refused the API token of account work .*the secret was kept/);
      assertAnswer(t, await getAnswer(sandbox), answer(replaced));
    });

    test.serial('a secret replaced outside the product is served once the cache lifetime has passed', async (t) => {
      const { sandbox, first } = await world(t);
      const replaced = secret();
      writeBehindTheDaemon(sandbox, 'keychain', replaced);
      assertAnswer(t, await getAnswer(sandbox), answer(first), 'served from memory while the cache lasts');
      setSecretCacheMs(sandbox, 100);
      t.true(await waitFor(async () => (await getAnswer(sandbox)) === answer(replaced)), 'the replaced secret within the lifetime');
    });

    test.serial('the keychain locked: the secret already read is served until the cache lifetime has passed, then the lock is reported', async (t) => {
      const { keyring, sandbox, first } = await world(t);
      keyring.lock();
      assertAnswer(t, await getAnswer(sandbox), answer(first), 'served from memory after the lock');
      setSecretCacheMs(sandbox, 100);
      let last = { stdout: '', stderr: '' };
      const reported = await waitFor(async () => {
        last = await sandbox.helper('get', GET);
        return last.stdout === '';
      });
      t.true(reported, 'the lock reported once the lifetime passed');
      t.regex(last.stderr, /^git-credential-bitbucket: the keychain secret store \(Secret Service over D-Bus\) cannot be used: .*locked/);
    });
  },
  'secret cache tests',
);
