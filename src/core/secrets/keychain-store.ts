// The OS keychain through @napi-rs/keyring (keyring-rs): Secret Service on Linux (gnome-keyring,
// KWallet), Keychain on macOS, Credential Manager on Windows. One service name for the product;
// entries are `<account>/<slot>` (entries.ts). The binding is a prebuilt N-API module shipped as
// an npm package per platform (nothing compiles at install time), loaded on first use by the
// daemon and the CLI only: the thin helper never imports this file.
//
// What the library does, as established against a real gnome-keyring (test/keychain*.test.ts):
// - On Linux an entry is a Secret Service item with the attributes `service` and `username`
//   (keytar wrote `service`/`account`: keytar-items.ts moves those on first use). Left to choose,
//   the library falls back to the kernel keyring (keyutils) when no Secret Service answers: lost
//   at reboot, bound to one login session. Every entry here is pinned to the Secret Service, so
//   without one each call fails ("The name org.freedesktop.secrets was not provided…") and
//   nothing is stored anywhere else.
// - Only the asynchronous API is used: the synchronous getPassword can turn an error into "no
//   entry". Asynchronously, reading an existing item of a locked collection fails ("unlock prompt
//   was dismissed", or a prompt waits: the time limit below ends that), but a name with no item
//   reads as null even when locked, so a read that finds nothing is confirmed by a probe write.
// - Constructing an entry opens its own D-Bus connection and Secret Service session,
//   synchronously (~5 ms; a keyring that does not answer blocks it for the library's 2 s D-Bus
//   timeout). Entries are therefore kept per name. A keyring daemon that restarts takes those
//   sessions with it ("The session does not exist"); a fresh entry reaches the new one, so a
//   failed call on a kept entry is tried once more on a fresh one: the process follows a keyring
//   restart by itself.
// - findCredentialsAsync lists through a separate D-Bus stack (zbus) and reads every item's
//   secret; it returns only items with a `username`, and fails when an item it found is deleted
//   before it reads it (tried again).
//
// Every call is bounded in time, and a keychain that cannot be used (no D-Bus session, no Secret
// Service, collection locked, module missing) is a SecretStoreUnavailableError naming the store
// and what to do, never a reason to use another store.

import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { SETTINGS } from '../../shared/settings.js';
import { EntryNames, EntrySecretOperations, type SecretEntries } from './entries.js';
import { adoptKeytarItems } from './keytar-items.js';
import { SecretStoreError, SecretStoreUnavailableError, type SecretRef, type SecretStore } from './secret-store.js';
import { CappedEntries, SplitEntries, WINDOWS_CREDENTIAL_BLOB_BYTES, entrySizeOn } from './split-entries.js';

export const KEYCHAIN_SERVICE = 'git-credential-bitbucket';
const KEYRING_MODULE = '@napi-rs/keyring';
export const DEFAULT_KEYCHAIN_TIMEOUT_MS = SETTINGS.keychainTimeout.default;
const LIST_ATTEMPTS = 5;
/** Kept entries; past this many (rotated parts have fresh names) the next one starts the set anew. */
const MAX_KEPT_ENTRIES = 64;
/** Not a secret: an entry whose presence proves the keychain readable (see probe()). */
export const CANARY = '.canary';
/** Secret Service only: never the kernel keyring (ignored off Linux). */
const ENTRY_OPTIONS = { linux: { store: 'secret-service' } } as const;

/** The part of @napi-rs/keyring's asynchronous API we use. */
export interface KeyringEntry {
  getPassword(signal?: AbortSignal): Promise<string | null>;
  setPassword(password: string, signal?: AbortSignal): Promise<void>;
  deletePassword(signal?: AbortSignal): Promise<boolean>;
}

export interface KeyringModule {
  AsyncEntry: new (service: string, username: string, options?: typeof ENTRY_OPTIONS) => KeyringEntry;
  findCredentialsAsync(service: string, target?: string | null, signal?: AbortSignal | null): Promise<Array<{ account: string; password: string }>>;
}

export interface KeychainOptions {
  /** Entry-name prefix separating this profile from others ("" for the default profile). */
  prefix: string;
  /** Each keychain call fails after this long instead of hanging (a prompt nobody answers). */
  timeoutMs?: number;
  /** Emulate a per-entry size cap (tests); Windows always gets its 2,560-byte cap. */
  emulatedCapBytes?: number;
  /** Loads the binding; replaced in tests. */
  loadKeyring?: () => KeyringModule;
  /** Moves entries an earlier build wrote where this one does not look (default: keytar's items on Linux). */
  moveLegacyEntries?: (prefix: string, signal: AbortSignal) => Promise<unknown>;
  platform?: NodeJS.Platform;
}

export function keychainLabel(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'macOS Keychain';
  if (platform === 'win32') return 'Windows Credential Manager';
  return 'Secret Service over D-Bus';
}

const ADVICE: Record<string, string> = {
  linux: 'unlock or start your keyring (a desktop session does; without one run gnome-keyring-daemon under dbus-run-session)',
  darwin: 'unlock your login keychain',
  win32: 'check that Credential Manager is available to this user',
};

/** The time limit ended a call (or one still stuck): trying again now would not help. */
class KeychainTimeoutError extends SecretStoreUnavailableError {}

type Bounded = <T>(what: string, call: (signal: AbortSignal) => Promise<T>) => Promise<T>;

export class KeychainSecretStore implements SecretStore {
  readonly name = 'keychain';
  readonly plaintext = false;
  readonly location: string;
  private readonly platform: NodeJS.Platform;
  private readonly timeoutMs: number;
  private module: KeyringModule | undefined;
  private entries: KeyringEntries | undefined;
  private operations: EntrySecretOperations | undefined;
  private prepared: Promise<void> | undefined;
  private moved: Promise<void> | undefined;
  private stuckSince: number | undefined;

  constructor(private readonly options: KeychainOptions) {
    this.platform = options.platform ?? process.platform;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_KEYCHAIN_TIMEOUT_MS;
    this.location = `${keychainLabel(this.platform)}, service ${KEYCHAIN_SERVICE}`;
  }

  async get(ref: SecretRef): Promise<string | undefined> {
    // Earlier builds' entries are moved first, so that the read finds them. Whether the keychain
    // is usable is asked only after a miss: a secret found proves it unlocked, and the canary's
    // round trips (on a D-Bus connection of its own) would come before a cold start's first answer.
    await this.legacyMoved();
    const value = await this.opened().get(ref);
    // A locked Secret Service collection answers "nothing" for a name it holds no item for.
    if (value === undefined) await this.probe();
    return value;
  }

  async set(ref: SecretRef, value: string): Promise<void> {
    await (await this.ready()).set(ref, value);
  }

  async delete(ref: SecretRef): Promise<boolean> {
    return (await this.ready()).delete(ref);
  }

  async list(): Promise<SecretRef[]> {
    return (await this.ready()).list();
  }

  /** Throws SecretStoreUnavailableError unless the keychain can be written and read now. */
  async check(): Promise<void> {
    await this.ready();
  }

  /** The reason the keychain cannot be used, or undefined when it can (for `status`). */
  async problem(): Promise<string | undefined> {
    try {
      await this.ready();
      return undefined;
    } catch (error) {
      if (error instanceof SecretStoreError) return error.message;
      throw error;
    }
  }

  /** Why the binding cannot be loaded, or undefined; talks to no keychain (for `status` with the file store). */
  moduleProblem(): string | undefined {
    try {
      this.load();
      return undefined;
    } catch (error) {
      if (error instanceof SecretStoreError) return error.message;
      throw error;
    }
  }

  /** The entries, prepared (usable, earlier builds' entries moved) once per process. */
  private async ready(): Promise<EntrySecretOperations> {
    const operations = this.opened();
    this.prepared ??= this.prepare().catch((error: unknown) => {
      this.prepared = undefined; // try again next time: the user may have unlocked it meanwhile
      throw error;
    });
    await this.prepared;
    return operations;
  }

  /** The entries, with no keychain call made yet. */
  private opened(): EntrySecretOperations {
    if (!this.operations) {
      this.entries = new KeyringEntries(this.load(), (what, call) => this.bounded(what, call));
      let entries: SecretEntries = this.entries;
      const cap = this.platform === 'win32' ? WINDOWS_CREDENTIAL_BLOB_BYTES : this.options.emulatedCapBytes;
      if (cap !== undefined) {
        const size = entrySizeOn(this.platform);
        if (this.platform !== 'win32') entries = new CappedEntries(entries, cap, size);
        entries = new SplitEntries(entries, cap, size);
      }
      this.operations = new EntrySecretOperations(entries, new EntryNames(this.options.prefix));
    }
    return this.operations;
  }

  /** Once per process: the keychain is usable, and entries of earlier builds are where we look. */
  private async prepare(): Promise<void> {
    await this.probe();
    await this.legacyMoved();
  }

  /** Once per process (until it fails): entries of earlier builds moved to where we look. */
  private legacyMoved(): Promise<void> {
    const move = this.options.moveLegacyEntries ?? (this.platform === 'linux' ? moveKeytarItems : undefined);
    if (!move) return Promise.resolve();
    this.moved ??= this.bounded('move the entries an earlier version (keytar) stored', (signal) => move(this.options.prefix, signal)).then(
      () => undefined,
      (error: unknown) => {
        this.moved = undefined;
        throw error;
      },
    );
    return this.moved;
  }

  /**
   * Proves the keychain reachable and unlocked: reads the profile's canary entry, writing it the
   * first time (a locked collection refuses the write). The canary is never deleted, so checking
   * churns no entries under another process's listing.
   */
  private async probe(): Promise<void> {
    const entries = this.entries!;
    const name = `${this.options.prefix}${CANARY}`;
    if ((await entries.read(name, 'read its canary entry')) !== undefined) return;
    const value = `present ${randomBytes(4).toString('hex')}`;
    await entries.write(name, value, 'write its canary entry');
    if ((await entries.read(name, 'read its canary entry')) !== value) throw this.unavailable('it did not return what was just written (locked?)');
  }

  private load(): KeyringModule {
    if (this.module) return this.module;
    try {
      this.module = (this.options.loadKeyring ?? loadKeyring)();
    } catch (error) {
      const reason = firstLine((error as Error).message);
      throw new SecretStoreUnavailableError(
        `the keychain secret store cannot be used: its native module (${KEYRING_MODULE}) did not load (${reason}). ` +
          `Reinstall git-credential-bitbucket (\`npm ci\` brings the prebuilt module for this platform, a ${KEYRING_MODULE}-* package), ` +
          'or choose the plaintext file store explicitly (`git-credential-bitbucket secrets --help`)',
      );
    }
    return this.module;
  }

  private async bounded<T>(what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    // A call that timed out still holds one of libuv's few threads until it returns; do not
    // pile more on it (the daemon's file operations share that pool).
    if (this.stuckSince !== undefined) {
      throw this.unavailable(`an earlier call has not returned for ${formatSeconds(Date.now() - this.stuckSince)} (a prompt may be waiting)`, KeychainTimeoutError);
    }
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const pending = Promise.resolve().then(() => call(abort.signal));
    const timeout = new Promise<never>((_, reject) => {
      // Not unref'd: a call that never settles must still end in this error.
      timer = setTimeout(() => {
        this.stuckSince = Date.now();
        const settled = () => {
          this.stuckSince = undefined;
        };
        pending.then(settled, settled);
        abort.abort(); // a call still queued behind a stuck one never starts
        reject(this.unavailable(`it did not answer within ${formatSeconds(this.timeoutMs)} (trying to ${what}; a prompt may be waiting)`, KeychainTimeoutError));
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } catch (error) {
      if (error instanceof SecretStoreError) throw error;
      throw this.unavailable(reasonOf(error));
    } finally {
      clearTimeout(timer);
    }
  }

  private unavailable(reason: string, kind = SecretStoreUnavailableError): SecretStoreUnavailableError {
    const advice = ADVICE[this.platform] ?? ADVICE.linux!;
    return new kind(
      `the keychain secret store (${keychainLabel(this.platform)}) cannot be used: ${reason.replace(/\.$/, '')}. ` +
        `${advice[0]!.toUpperCase()}${advice.slice(1)}, or choose the plaintext file store explicitly (\`git-credential-bitbucket secrets --help\`)`,
    );
  }
}

/** The binding's entries of our service, by name, each call bounded in time. */
class KeyringEntries implements SecretEntries {
  private readonly kept = new Map<string, KeyringEntry>();

  constructor(
    private readonly keyring: KeyringModule,
    private readonly bounded: Bounded,
  ) {}

  async read(name: string, what = 'read a secret'): Promise<string | undefined> {
    return (await this.call(name, what, (entry, signal) => entry.getPassword(signal))) ?? undefined;
  }

  write(name: string, value: string, what = 'store a secret'): Promise<void> {
    return this.call(name, what, (entry, signal) => entry.setPassword(value, signal));
  }

  get(name: string): Promise<string | undefined> {
    return this.read(name);
  }

  set(name: string, value: string): Promise<void> {
    return this.write(name, value);
  }

  async delete(name: string): Promise<boolean> {
    const deleted = await this.call(name, 'delete a secret', (entry, signal) => entry.deletePassword(signal));
    this.kept.delete(name);
    return deleted;
  }

  async names(): Promise<string[]> {
    // The listing reads every item's secret; an item another process deletes meanwhile (a
    // rotated part, a removed account) makes the whole call fail, so try again.
    for (let attempt = 1; ; attempt++) {
      try {
        const found = await this.bounded('list secrets', (signal) => this.keyring.findCredentialsAsync(KEYCHAIN_SERVICE, null, signal));
        return found.map((credential) => credential.account);
      } catch (error) {
        if (attempt >= LIST_ATTEMPTS || !/No such secret item|does not exist|UnknownObject/i.test((error as Error).message)) throw error;
      }
    }
  }

  /**
   * One call on the entry for `name`. A kept entry's session dies with the keyring daemon that
   * opened it; after a failure the call is tried once more on a fresh entry, which connects to
   * whatever keyring runs now (and fails the same way when the problem is the keyring itself).
   */
  private async call<T>(name: string, what: string, use: (entry: KeyringEntry, signal: AbortSignal) => Promise<T>): Promise<T> {
    const kept = this.kept.get(name);
    if (kept) {
      try {
        return await this.bounded(what, (signal) => use(kept, signal));
      } catch (error) {
        this.kept.clear();
        if (error instanceof KeychainTimeoutError) throw error;
      }
    }
    return this.bounded(what, (signal) => use(this.fresh(name), signal));
  }

  private fresh(name: string): KeyringEntry {
    const entry = new this.keyring.AsyncEntry(KEYCHAIN_SERVICE, name, ENTRY_OPTIONS);
    if (this.kept.size >= MAX_KEPT_ENTRIES) this.kept.clear();
    this.kept.set(name, entry);
    return entry;
  }
}

function moveKeytarItems(prefix: string, signal: AbortSignal): Promise<unknown> {
  return adoptKeytarItems(KEYCHAIN_SERVICE, prefix, process.env, signal);
}

/**
 * The binding through require: it is a CommonJS native addon. GIT_CREDENTIAL_BITBUCKET_KEYRING_MODULE
 * names another module in its place (tests use it to simulate a module that does not load).
 */
export function loadKeyring(): KeyringModule {
  const require = createRequire(import.meta.url);
  return require(process.env.GIT_CREDENTIAL_BITBUCKET_KEYRING_MODULE || KEYRING_MODULE) as KeyringModule;
}

/** The library's error as one line a user can act on, without the layers' prefixes. */
export function reasonOf(error: unknown): string {
  const message = firstLine((error as Error)?.message ?? String(error));
  const bare = message.replace(/^(?:Platform failure: |Couldn't access platform storage: |zbus error: |DBus error: |org\.freedesktop\.DBus\.Error\.\w+: )+/g, '');
  if (/autolaunch|DBUS_SESSION_BUS_ADDRESS/.test(bare)) return `no D-Bus session bus was found (DBUS_SESSION_BUS_ADDRESS is not set; ${bare.replace(/\.$/, '')})`;
  if (/unlock prompt was dismissed|IsLocked/.test(bare)) return `the keyring is locked (${bare.replace(/\.$/, '')})`;
  return bare;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
