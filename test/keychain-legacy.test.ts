// Entries the keytar builds wrote (Secret Service attributes service/account), seeded the way
// keytar wrote them with secret-tool, and moved by the keychain store on first use
// (keytar-items.ts): in-process against a real gnome-keyring. The end-to-end case (git, helper
// and daemon) is in keychain.test.ts.

import test from 'ava';
import { DBusConnection, sessionBusSocket } from '../src/core/secrets/dbus-connection.js';
import { KEYCHAIN_SERVICE, KeychainSecretStore } from '../src/core/secrets/keychain-store.js';
import type { SecretRef } from '../src/core/secrets/secret-store.js';
import { assertSameSecret } from './support/answers.js';
import { sharedKeyringTests } from './support/keyring.js';
import { waitUntil } from './support/wait.js';

let counter = 0;
function secret(): string {
  return `gcb-legacy-secret-${process.pid}-${++counter}-abcdefghij`;
}

sharedKeyringTests(test, { inThisProcess: true }, (keyring) => {
  /** An entry as keytar stored it. */
  const seedKeytar = (name: string, value: string) => {
    const result = keyring().secretTool(['store', `--label=Password for '${name}' on '${KEYCHAIN_SERVICE}'`, 'service', KEYCHAIN_SERVICE, 'account', name], value);
    if (result.code !== 0) throw new Error(`secret-tool store failed: ${result.stderr}`);
  };
  /** How many Secret Service items hold the entry `name`, under either library's attributes. */
  const items = async (name: string): Promise<number> => {
    const bus = await DBusConnection.open(sessionBusSocket(keyring().env)!);
    try {
      const paths = new Set<string>();
      for (const key of ['account', 'username']) {
        const found = await bus.call({
          destination: 'org.freedesktop.secrets',
          path: '/org/freedesktop/secrets',
          interface: 'org.freedesktop.Secret.Service',
          member: 'SearchItems',
          signature: 'a{ss}',
          body: [new Map([['service', KEYCHAIN_SERVICE], [key, name]])],
        });
        for (const path of (found as string[][]).flat()) paths.add(path);
      }
      return paths.size;
    } finally {
      bus.close();
    }
  };
  /** The Secret Service counts modification times in whole seconds. */
  const nextSecond = async () => {
    const now = Math.floor(Date.now() / 1000);
    await waitUntil('the wall clock to reach the next second', () => Math.floor(Date.now() / 1000) > now);
  };

  test.serial('every slot of every account, and nothing of another profile, is moved; list, get and delete see them', async (t) => {
    const values = new Map<string, string>([
      ['/legacy-a:work/static', secret()],
      ['/legacy-a:work/oauth-refresh', secret()],
      ['/legacy-a:home/static', secret()],
    ]);
    for (const [name, value] of values) seedKeytar(name, value);
    const other = secret();
    seedKeytar('/legacy-other:work/static', other);

    const store = new KeychainSecretStore({ prefix: '/legacy-a:' });
    t.deepEqual(await store.list(), [
      { account: 'home', slot: 'static' },
      { account: 'work', slot: 'oauth-refresh' },
      { account: 'work', slot: 'static' },
    ]);
    for (const [name, value] of values) {
      const [account, slot] = name.slice('/legacy-a:'.length).split('/') as [string, SecretRef['slot']];
      assertSameSecret(t, await store.get({ account, slot }), value, `${name} after the move`);
      t.is(await items(name), 1, `${name} is one item`);
    }
    t.true(keyring().secretTool(['lookup', 'service', KEYCHAIN_SERVICE, 'account', '/legacy-other:work/static']).stdout === other, "another profile's entry is left as it was");
    t.not(keyring().secretTool(['lookup', 'service', KEYCHAIN_SERVICE, 'username', '/legacy-other:work/static']).code, 0);

    t.true(await store.delete({ account: 'work', slot: 'static' }));
    t.is(await items('/legacy-a:work/static'), 0);
  });

  test.serial('an entry stored by both libraries: the one modified last is kept, the other deleted', async (t) => {
    const ref: SecretRef = { account: 'work', slot: 'static' };
    // keytar first, then this library: this library's item is the newer (or as new: a tie keeps it).
    const older = secret();
    seedKeytar('/legacy-b:work/static', older);
    const writer = new KeychainSecretStore({ prefix: '/legacy-b:', moveLegacyEntries: async () => [] });
    const newer = secret();
    await writer.set(ref, newer);
    const reader = new KeychainSecretStore({ prefix: '/legacy-b:' });
    assertSameSecret(t, await reader.get(ref), newer, 'the newer value');
    t.is(await items('/legacy-b:work/static'), 1);

    // This library first, then keytar a second later (a keytar build run again): keytar's is newer.
    const first = secret();
    const again = new KeychainSecretStore({ prefix: '/legacy-c:', moveLegacyEntries: async () => [] });
    await again.set(ref, first);
    await nextSecond();
    const later = secret();
    seedKeytar('/legacy-c:work/static', later);
    assertSameSecret(t, await new KeychainSecretStore({ prefix: '/legacy-c:' }).get(ref), later, 'the value keytar wrote last');
    t.is(await items('/legacy-c:work/static'), 1);
  });
});
