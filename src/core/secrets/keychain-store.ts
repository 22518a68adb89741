// The OS keychain through keytar: Secret Service on Linux (gnome-keyring, KWallet), Keychain on
// macOS, Credential Manager on Windows. One service name for the product; entries are
// `<account>/<slot>` (entries.ts). keytar is a native module loaded on first use, by the daemon
// and the CLI only: the thin helper never imports this file.
//
// Every call is bounded in time, and a keychain that cannot be used (no D-Bus session, daemon
// gone, collection locked, module missing) is a SecretStoreUnavailableError naming the store and
// what to do. A locked Secret Service answers "not found" to reads, so a read that finds nothing
// is confirmed by a probe write before it is believed. A keychain that restarted under us is a
// SecretStoreConnectionLostError: keytar cannot reconnect inside this process (see below).

import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { SETTINGS } from '../../shared/settings.js';
import { EntryNames, EntrySecretOperations, type SecretEntries } from './entries.js';
import { SecretStoreConnectionLostError, SecretStoreError, SecretStoreUnavailableError, type SecretRef, type SecretStore } from './secret-store.js';
import { CappedEntries, SplitEntries, WINDOWS_CREDENTIAL_BLOB_BYTES } from './split-entries.js';

export const KEYCHAIN_SERVICE = 'git-credential-bitbucket';
export const DEFAULT_KEYCHAIN_TIMEOUT_MS = SETTINGS.keychainTimeout.default;
const LIST_ATTEMPTS = 5;
/** Not a secret: an entry whose presence proves the keychain readable (see probe()). */
export const CANARY = '.canary';
/**
 * libsecret resolves the Secret Service's bus name once per process and keeps sending to that
 * connection's unique name (`:1.N`); after the keyring daemon restarts, every call fails with
 * this until the process exits. "The name org.freedesktop.secrets was not provided" is another
 * matter: no keyring at all, which a fresh process would not find either.
 */
const LOST_CONNECTION = /The name :\d+\.\d+ was not provided by any \.service files/;

/** The part of keytar's API we use (its own typings are not needed to build). */
export interface Keytar {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
  findCredentials(service: string): Promise<Array<{ account: string; password: string }>>;
}

export interface KeychainOptions {
  /** Entry-name prefix separating this profile from others ("" for the default profile). */
  prefix: string;
  /** Each keychain call fails after this long instead of hanging (a prompt nobody answers). */
  timeoutMs?: number;
  /** Emulate a per-entry size cap (tests); Windows always gets its 2,560-byte cap. */
  emulatedCapBytes?: number;
  /** Loads keytar; replaced in tests. */
  loadKeytar?: () => Keytar;
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

export class KeychainSecretStore implements SecretStore {
  readonly name = 'keychain';
  readonly plaintext = false;
  readonly location: string;
  private readonly platform: NodeJS.Platform;
  private readonly timeoutMs: number;
  private keytar: Keytar | undefined;
  private operations: EntrySecretOperations | undefined;
  private probed: Promise<void> | undefined;
  private stuckSince: number | undefined;

  constructor(private readonly options: KeychainOptions) {
    this.platform = options.platform ?? process.platform;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_KEYCHAIN_TIMEOUT_MS;
    this.location = `${keychainLabel(this.platform)}, service ${KEYCHAIN_SERVICE}`;
  }

  async get(ref: SecretRef): Promise<string | undefined> {
    const value = await (await this.ready()).get(ref);
    // A locked Secret Service collection answers "nothing" instead of an error.
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
    const operations = await this.ready();
    // Listing a locked collection crashes keytar (see probe()): confirm it is unlocked right now.
    await this.probe();
    return operations.list();
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

  /** Why keytar cannot be loaded, or undefined; talks to no keychain (for `status` with the file store). */
  moduleProblem(): string | undefined {
    try {
      this.load();
      return undefined;
    } catch (error) {
      if (error instanceof SecretStoreError) return error.message;
      throw error;
    }
  }

  private async ready(): Promise<EntrySecretOperations> {
    if (!this.operations) {
      const keytar = this.load();
      let entries: SecretEntries = new KeytarEntries(keytar, (what, call) => this.bounded(what, call));
      const cap = this.platform === 'win32' ? WINDOWS_CREDENTIAL_BLOB_BYTES : this.options.emulatedCapBytes;
      if (cap !== undefined) {
        if (this.platform !== 'win32') entries = new CappedEntries(entries, cap);
        entries = new SplitEntries(entries, cap);
      }
      this.operations = new EntrySecretOperations(entries, new EntryNames(this.options.prefix));
    }
    this.probed ??= this.probe().catch((error: unknown) => {
      this.probed = undefined; // try again next time: the user may have unlocked it meanwhile
      throw error;
    });
    await this.probed;
    return this.operations;
  }

  /**
   * Proves the keychain reachable and unlocked: reads the profile's canary entry, writing it the
   * first time (a locked collection refuses the write). The canary is never deleted: keytar's
   * findCredentials crashes the process (strdup of NULL) when an item vanishes while it lists,
   * so this check must not churn entries.
   */
  private async probe(): Promise<void> {
    const keytar = this.load();
    const name = `${this.options.prefix}${CANARY}`;
    if ((await this.bounded('read its canary entry', () => keytar.getPassword(KEYCHAIN_SERVICE, name))) !== null) return;
    const value = `present ${randomBytes(4).toString('hex')}`;
    await this.bounded('write its canary entry', () => keytar.setPassword(KEYCHAIN_SERVICE, name, value));
    const back = await this.bounded('read its canary entry', () => keytar.getPassword(KEYCHAIN_SERVICE, name));
    if (back !== value) throw this.unavailable('it did not return what was just written (locked?)');
  }

  private load(): Keytar {
    if (this.keytar) return this.keytar;
    try {
      this.keytar = (this.options.loadKeytar ?? loadKeytar)();
    } catch (error) {
      const reason = firstLine((error as Error).message);
      throw new SecretStoreUnavailableError(
        `the keychain secret store cannot be used: its native module (keytar) did not load (${reason}). ` +
          'Reinstall git-credential-bitbucket with libsecret-1-dev and a C++ toolchain present (`npm rebuild keytar`), ' +
          'or choose the plaintext file store explicitly (`git-credential-bitbucket secrets --help`)',
      );
    }
    return this.keytar;
  }

  private async bounded<T>(what: string, call: () => Promise<T>): Promise<T> {
    // A call that timed out still holds one of libuv's few threads until it returns; do not
    // pile more on it (the daemon's file operations share that pool).
    if (this.stuckSince !== undefined) {
      throw this.unavailable(`an earlier call has not returned for ${formatSeconds(Date.now() - this.stuckSince)} (a prompt may be waiting)`);
    }
    let timer: NodeJS.Timeout | undefined;
    const pending = Promise.resolve().then(call);
    const timeout = new Promise<never>((_, reject) => {
      // Not unref'd: a call that never settles must still end in this error.
      timer = setTimeout(() => {
        this.stuckSince = Date.now();
        const settled = () => {
          this.stuckSince = undefined;
        };
        pending.then(settled, settled);
        reject(this.unavailable(`it did not answer within ${formatSeconds(this.timeoutMs)} (trying to ${what}; a prompt may be waiting)`));
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } catch (error) {
      if (error instanceof SecretStoreError) throw error;
      const reason = firstLine((error as Error).message ?? String(error));
      if (LOST_CONNECTION.test(reason)) {
        throw new SecretStoreConnectionLostError(
          `the keychain secret store (${keychainLabel(this.platform)}) cannot be used by this process any more: the keyring it was connected to went away (${reason}). Run the command again: a new process connects to the keyring running now`,
        );
      }
      throw this.unavailable(reason);
    } finally {
      clearTimeout(timer);
    }
  }

  private unavailable(reason: string): SecretStoreUnavailableError {
    const advice = ADVICE[this.platform] ?? ADVICE.linux!;
    return new SecretStoreUnavailableError(
      `the keychain secret store (${keychainLabel(this.platform)}) cannot be used: ${reason.replace(/\.$/, '')}. ` +
        `${advice[0]!.toUpperCase()}${advice.slice(1)}, or choose the plaintext file store explicitly (\`git-credential-bitbucket secrets --help\`)`,
    );
  }
}

/** keytar's calls as named entries of our service. */
class KeytarEntries implements SecretEntries {
  constructor(
    private readonly keytar: Keytar,
    private readonly bounded: <T>(what: string, call: () => Promise<T>) => Promise<T>,
  ) {}

  async get(name: string): Promise<string | undefined> {
    return (await this.bounded('read a secret', () => this.keytar.getPassword(KEYCHAIN_SERVICE, name))) ?? undefined;
  }

  set(name: string, value: string): Promise<void> {
    return this.bounded('store a secret', () => this.keytar.setPassword(KEYCHAIN_SERVICE, name, value));
  }

  delete(name: string): Promise<boolean> {
    return this.bounded('delete a secret', () => this.keytar.deletePassword(KEYCHAIN_SERVICE, name));
  }

  async names(): Promise<string[]> {
    // findCredentials reads every item's secret; an item another process deletes meanwhile (a
    // probe, a rotated part) makes the whole call fail, so try again.
    for (let attempt = 1; ; attempt++) {
      try {
        const found = await this.bounded('list secrets', () => this.keytar.findCredentials(KEYCHAIN_SERVICE));
        return found.map((credential) => credential.account);
      } catch (error) {
        if (attempt >= LIST_ATTEMPTS || !/No such secret item|does not exist/i.test((error as Error).message)) throw error;
      }
    }
  }
}

/**
 * keytar through require: it is a CommonJS native addon. GIT_CREDENTIAL_BITBUCKET_KEYTAR names
 * another module in its place (tests use it to simulate a module that does not load).
 */
export function loadKeytar(): Keytar {
  const require = createRequire(import.meta.url);
  return require(process.env.GIT_CREDENTIAL_BITBUCKET_KEYTAR || 'keytar') as Keytar;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
