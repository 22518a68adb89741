// The keychain store in-process against a stand-in for @napi-rs/keyring: the failure modes a real
// keyring cannot be made to show on demand (a call that never returns, a module that does not
// load, Windows' size rule on Linux) and how the library is called (Secret Service pinned, entries
// kept and replaced after a failure). The real gnome-keyring is in keychain.test.ts and
// keychain-legacy.test.ts.

import test from 'ava';
import { KEYCHAIN_SERVICE, KeychainSecretStore, reasonOf, type KeychainOptions, type KeyringEntry, type KeyringModule } from '../src/core/secrets/keychain-store.js';
import { SecretStoreUnavailableError } from '../src/core/secrets/secret-store.js';
import { SPLIT_MARKER } from '../src/core/secrets/split-entries.js';
import { assertSameSecret } from './support/answers.js';

interface Fake {
  module: KeyringModule;
  items: Map<string, string>;
  /** Every entry constructed: its name and the options it was given. */
  constructed: Array<{ service: string; name: string; options: unknown }>;
}

/** `overrides` is asked at every call, for the entry's name and its construction index. */
function fakeKeyring(overrides: (name: string, index: number) => Partial<KeyringEntry> = () => ({})): Fake {
  const items = new Map<string, string>();
  const constructed: Fake['constructed'] = [];
  class AsyncEntry implements KeyringEntry {
    private readonly index: number;
    constructor(
      service: string,
      private readonly name: string,
      options?: unknown,
    ) {
      this.index = constructed.push({ service, name, options }) - 1;
    }
    async getPassword() {
      const override = overrides(this.name, this.index).getPassword;
      return override ? override() : (items.get(this.name) ?? null);
    }
    async setPassword(password: string) {
      const override = overrides(this.name, this.index).setPassword;
      if (override) return override(password);
      items.set(this.name, password);
    }
    async deletePassword() {
      const override = overrides(this.name, this.index).deletePassword;
      return override ? override() : items.delete(this.name);
    }
  }
  const module: KeyringModule = {
    AsyncEntry,
    findCredentialsAsync: async () => [...items].map(([account, password]) => ({ account, password })),
  };
  return { module, items, constructed };
}

function store(fake: Fake, options: Partial<KeychainOptions> = {}): KeychainSecretStore {
  return new KeychainSecretStore({ prefix: 'x:', loadKeyring: () => fake.module, moveLegacyEntries: async () => [], ...options });
}

test('every entry is pinned to the Secret Service (never the kernel keyring) under our service name', async (t) => {
  const fake = fakeKeyring();
  const keychain = store(fake);
  await keychain.set({ account: 'work', slot: 'static' }, 'gcb-fake-secret-pinned-1');
  t.true(fake.constructed.length > 0);
  for (const entry of fake.constructed) t.deepEqual(entry, { service: KEYCHAIN_SERVICE, name: entry.name, options: { linux: { store: 'secret-service' } } });
});

test('entries are kept per name: reading the same secret again constructs no new entry', async (t) => {
  const fake = fakeKeyring();
  const keychain = store(fake);
  const ref = { account: 'work', slot: 'static' } as const;
  await keychain.set(ref, 'gcb-fake-secret-kept-1');
  const before = fake.constructed.length;
  for (let i = 0; i < 3; i++) assertSameSecret(t, await keychain.get(ref), 'gcb-fake-secret-kept-1', 'the stored value');
  t.is(fake.constructed.length, before);
});

test('a kept entry whose keyring session died (the keyring restarted) is replaced once and the call succeeds', async (t) => {
  let restartedAfter = 0; // entries made before this index talk to a keyring that is gone
  const dead = () => Promise.reject(new Error('Platform failure: DBus error: The session does not exist'));
  const fake = fakeKeyring((_name, index) => (index < restartedAfter ? { getPassword: dead, setPassword: dead } : {}));
  const keychain = store(fake);
  const ref = { account: 'work', slot: 'static' } as const;
  await keychain.set(ref, 'gcb-fake-secret-restart-1');
  restartedAfter = fake.constructed.length; // every entry made so far talks to the dead keyring
  assertSameSecret(t, await keychain.get(ref), 'gcb-fake-secret-restart-1', 'read through a fresh entry');
  await keychain.set(ref, 'gcb-fake-secret-restart-2');
  assertSameSecret(t, await keychain.get(ref), 'gcb-fake-secret-restart-2', 'written and read through fresh entries');
  t.is(fake.constructed.filter((entry) => entry.name === 'x:work/static').length, 2, 'one replacement, then kept again');
});

test('a keychain that never answers fails within the time limit, naming the store; the next call fails at once', async (t) => {
  const fake = fakeKeyring(() => ({ setPassword: () => new Promise<void>(() => undefined) }));
  const keychain = store(fake, { timeoutMs: 300 });
  // The fake never answers: only the 0.3 s limit can end the call, and the message says so.
  const error = await t.throwsAsync(keychain.get({ account: 'work', slot: 'static' }), { instanceOf: SecretStoreUnavailableError });
  t.regex(error!.message, /keychain secret store .* cannot be used: it did not answer within 0\.3 s/);
  t.regex(error!.message, /plaintext file store explicitly/);
  // The stuck call still holds a thread: the next one fails at once instead of queueing behind
  // it (a second wait would end in the "did not answer" message instead).
  const second = await t.throwsAsync(keychain.list(), { instanceOf: SecretStoreUnavailableError });
  t.regex(second!.message, /an earlier call has not returned for/);
});

test('a locked collection (the library: "unlock prompt was dismissed") is one clear error, not a missing secret', async (t) => {
  const locked = () => Promise.reject(new Error("Couldn't access platform storage: Secret Service: unlock prompt was dismissed"));
  const keychain = store(fakeKeyring(() => ({ setPassword: locked })));
  const error = await t.throwsAsync(keychain.get({ account: 'work', slot: 'static' }), { instanceOf: SecretStoreUnavailableError });
  t.regex(error!.message, /^the keychain secret store \(Secret Service over D-Bus\) cannot be used: the keyring is locked \(Secret Service: unlock prompt was dismissed\)\. Unlock or start your keyring/);
});

test('the library\'s errors read as one line without its layers\' prefixes', (t) => {
  t.is(reasonOf(new Error('Platform failure: DBus error: The name org.freedesktop.secrets was not provided by any .service files')), 'The name org.freedesktop.secrets was not provided by any .service files');
  t.regex(
    reasonOf(new Error('Platform failure: DBus error: Using X11 for dbus-daemon autolaunch was disabled at compile time, set your DBUS_SESSION_BUS_ADDRESS instead')),
    /^no D-Bus session bus was found \(DBUS_SESSION_BUS_ADDRESS is not set; /,
  );
  t.is(reasonOf(new Error('zbus error: org.freedesktop.Secret.Error.IsLocked: Cannot get secret of a locked object')), 'the keyring is locked (org.freedesktop.Secret.Error.IsLocked: Cannot get secret of a locked object)');
});

test('a native module that does not load is explained', async (t) => {
  const keychain = new KeychainSecretStore({
    prefix: 'x:',
    loadKeyring: () => {
      throw new Error("Cannot find module '@napi-rs/keyring-linux-x64-gnu'\nRequire stack: ...");
    },
  });
  const error = await t.throwsAsync(keychain.list(), { instanceOf: SecretStoreUnavailableError });
  t.regex(error!.message, /native module \(@napi-rs\/keyring\) did not load \(Cannot find module '@napi-rs\/keyring-linux-x64-gnu'\)\. Reinstall/);
  t.notRegex(error!.message, /Require stack/);
  t.regex(keychain.moduleProblem()!, /@napi-rs\/keyring/);
});

test('on Windows the split layer counts UTF-16: a 1,281-character token becomes parts of at most 1,280 characters', async (t) => {
  const fake = fakeKeyring();
  const keychain = store(fake, { platform: 'win32' });
  await keychain.set({ account: 'work', slot: 'oauth-access' }, 'w'.repeat(1280));
  t.is(fake.items.get('x:work/oauth-access'), 'w'.repeat(1280), '1,280 characters (2,560 UTF-16 bytes) fit one credential');
  const token = 'v'.repeat(1281);
  await keychain.set({ account: 'work', slot: 'oauth-access' }, token);
  t.true(fake.items.get('x:work/oauth-access')!.startsWith(SPLIT_MARKER));
  const parts = [...fake.items].filter(([name]) => name.startsWith('x:work/oauth-access#')).map(([, value]) => value.length);
  t.deepEqual(parts.sort((a, b) => b - a), [1280, 1]);
  assertSameSecret(t, await keychain.get({ account: 'work', slot: 'oauth-access' }), token, 'the joined value');
});
