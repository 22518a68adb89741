// Entries written by the keytar builds, found and moved on first use (Linux). keytar stored each
// entry as a Secret Service item with the attributes `service`/`account`; @napi-rs/keyring looks
// items up by `service`/`username` and would never see them. Moving one adds `username` (= its
// `account`) to the item's attributes in place: the secret never leaves the keyring, and there
// is no moment where the entry exists twice or not at all. `account` stays, so a keytar build run
// again (a downgrade) still finds the entry. On macOS both libraries use the same
// service/account attributes: nothing to move. On Windows keytar named a credential
// `service/account` (UTF-8 blob) where keyring-rs uses `username.service` (UTF-16): not moved
// here, as nothing here can test it.
//
// If the entry also exists as an item this library wrote (a keytar build wrote it again after an
// upgrade), the more recently modified item is kept and the other deleted: both hold the same
// entry, and the newer one is what the user last stored. The Secret Service counts in seconds; a
// tie keeps this library's item. Another process may move or delete items meanwhile (a second
// daemon, the CLI): an item that vanished is skipped, and moving one twice changes nothing.

import { DBusConnection, DBusError, sessionBusSocket, type DBusValue, type Variant } from './dbus-connection.js';

const SECRETS = 'org.freedesktop.secrets';
const SERVICE_PATH = '/org/freedesktop/secrets';
const SERVICE_INTERFACE = 'org.freedesktop.Secret.Service';
const ITEM_INTERFACE = 'org.freedesktop.Secret.Item';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
/** What gnome-keyring (UnknownMethod) and other services (UnknownObject) answer for a deleted item. */
const VANISHED = ['org.freedesktop.DBus.Error.UnknownMethod', 'org.freedesktop.DBus.Error.UnknownObject'];

/**
 * Moves every keytar-era item of `service` whose entry name starts with `prefix`; returns the
 * names moved. On a locked keyring a change fails, and the caller reports the keychain unusable,
 * as the read it comes before would.
 */
export async function adoptKeytarItems(service: string, prefix: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<string[]> {
  const socket = sessionBusSocket(env);
  if (!socket) return [];
  const bus = await DBusConnection.open(socket);
  // The caller gave up (time limit): end the connection, which fails the call in flight.
  const close = () => bus.close();
  signal?.addEventListener('abort', close);
  try {
    const items = new SecretServiceItems(bus);
    const adopted: string[] = [];
    for (const path of await items.search({ service })) {
      const attributes = await items.attributes(path);
      const name = attributes?.get('account');
      if (!attributes || name === undefined || attributes.has('username') || !name.startsWith(prefix)) continue;
      const others = await items.search({ service, username: name });
      const modified = await items.modified(path);
      if (others.length > 0 && (await Promise.all(others.map((other) => items.modified(other)))).some((time) => time >= modified)) {
        await items.delete(path);
      } else {
        for (const other of others) await items.delete(other);
        await items.setAttributes(path, new Map([...attributes, ['username', name]]));
      }
      adopted.push(name);
    }
    return adopted;
  } finally {
    signal?.removeEventListener('abort', close);
    bus.close();
  }
}

/** The few Secret Service calls adoption needs, none of which reads a secret. */
class SecretServiceItems {
  constructor(private readonly bus: DBusConnection) {}

  async search(attributes: Record<string, string>): Promise<string[]> {
    const [unlocked, locked] = (await this.bus.call({
      destination: SECRETS,
      path: SERVICE_PATH,
      interface: SERVICE_INTERFACE,
      member: 'SearchItems',
      signature: 'a{ss}',
      body: [new Map(Object.entries(attributes))],
    })) as [string[], string[]];
    return [...unlocked, ...locked];
  }

  /** Undefined for an item deleted since the search. */
  async attributes(item: string): Promise<Map<string, string> | undefined> {
    try {
      return (await this.property(item, 'Attributes')) as Map<string, string>;
    } catch (error) {
      if (error instanceof DBusError && VANISHED.includes(error.errorName)) return undefined;
      throw error;
    }
  }

  async modified(item: string): Promise<bigint> {
    return (await this.property(item, 'Modified')) as bigint;
  }

  async setAttributes(item: string, attributes: Map<string, string>): Promise<void> {
    const value: Variant = { signature: 'a{ss}', value: attributes };
    await this.bus.call({ destination: SECRETS, path: item, interface: PROPERTIES, member: 'Set', signature: 'ssv', body: [ITEM_INTERFACE, 'Attributes', value] });
  }

  async delete(item: string): Promise<void> {
    const [prompt] = await this.bus.call({ destination: SECRETS, path: item, interface: ITEM_INTERFACE, member: 'Delete' });
    // A prompt means the keyring wants the user first (locked meanwhile): leave both items be.
    if (prompt !== '/') throw new Error(`the keyring asked for confirmation to delete ${item} (locked?)`);
  }

  private async property(item: string, name: string): Promise<DBusValue> {
    const [variant] = (await this.bus.call({ destination: SECRETS, path: item, interface: PROPERTIES, member: 'Get', signature: 'ss', body: [ITEM_INTERFACE, name] })) as [Variant];
    return variant.value;
  }
}
