// Chooses the secret store for this configuration: the one place that does (the daemon and the
// CLI call it; the thin helper never does, so it never loads the keyring module).
//
// Selection, first match wins:
//   1. GIT_CREDENTIAL_BITBUCKET_SECRET_STORE=keychain|file (an explicit choice for this process:
//      CI runners, the test harness);
//   2. an unfinished migration (secrets-migration.json): its target, reading the source too;
//   3. "secretStore" in config.json;
//   4. secrets.json exists (set up before the keychain store existed): the file store, and
//      `status` suggests `secrets migrate --to keychain`;
//   5. the keychain.
// The store serving operations is chosen once per configuration snapshot: again when config.json
// changed (the daemon notices that through the one look at the file each request makes, and
// `secrets migrate` changes it when it starts) and when told (`reselect`: the CLI's
// `secrets-changed` after a migration ends), never by reading the marker or probing secrets.json
// on every operation. `selection()` always looks afresh (status, the CLI's checks). A chosen
// keychain that cannot be used is an error, never a reason to write plaintext.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Env, ProductPaths } from '../../shared/paths.js';
import { SETTINGS, readSetting } from '../../shared/settings.js';
import { ConfigCache, type Config, type ConfigSource } from '../config.js';
import { FileSecretStore } from './file-store.js';
import { secretFromEnv } from './env-secret.js';
import { KeychainSecretStore, type KeychainOptions } from './keychain-store.js';
import { MigratingSecretStore, readMigrationMarker, withMigrationLock, type MigrationMarker } from './migration.js';
import { SECRET_STORE_KINDS, SecretStoreError, type SecretRef, type SecretStore, type SecretStoreKind } from './secret-store.js';

export const SECRET_STORE_ENV = 'GIT_CREDENTIAL_BITBUCKET_SECRET_STORE';

export type SelectionReason = 'environment' | 'migration' | 'config' | 'existing-file' | 'default';

export interface StoreSelection {
  kind: SecretStoreKind;
  reason: SelectionReason;
  migration?: MigrationMarker;
}

export interface OpenStoreOptions {
  env?: Env;
  /** Overrides for the keychain store (tests). */
  keychain?: Partial<KeychainOptions>;
  /**
   * The process's own view of config.json: one cache, not a second one here. The daemon passes
   * the snapshot its request already read (ConfigCache.latest), so the selection costs no look.
   */
  config?: ConfigSource;
  /** What the keychain store serves operations through (the daemon's secret cache); `store()` stays unwrapped. */
  serveKeychainThrough?: (keychain: SecretStore) => SecretStore;
}

export function openSecretStore(paths: ProductPaths, options: OpenStoreOptions = {}): SelectedSecretStore {
  return new SelectedSecretStore(paths, options);
}

/** The store the current selection names, chosen again when the configuration snapshot changes. */
export class SelectedSecretStore implements SecretStore {
  private readonly env: Env;
  private readonly config: ConfigSource;
  private readonly stores: Partial<Record<SecretStoreKind, SecretStore>> = {};
  private servedKeychain: SecretStore | undefined;
  /** The store serving operations, and the configuration snapshot it was chosen for. */
  private serving: { config: Config; store: SecretStore } | undefined;

  constructor(
    private readonly paths: ProductPaths,
    private readonly options: OpenStoreOptions,
  ) {
    this.env = options.env ?? process.env;
    this.config = options.config ?? new ConfigCache(paths.configFile);
  }

  get name(): string {
    return this.current().name;
  }

  get plaintext(): boolean {
    return this.current().plaintext;
  }

  get location(): string {
    return this.current().location;
  }

  async get(ref: SecretRef): Promise<string | undefined> {
    const config = this.config.current();
    // An account whose secret lives in an environment variable: read it now, never from a store.
    return secretFromEnv(ref, config.accounts, this.env) ?? this.current(config).get(ref);
  }

  set(ref: SecretRef, value: string): Promise<void> {
    return this.current().set(ref, value);
  }

  delete(ref: SecretRef): Promise<boolean> {
    return this.current().delete(ref);
  }

  list(): Promise<SecretRef[]> {
    return this.current().list();
  }

  selection(): StoreSelection {
    return this.select(() => this.config.current());
  }

  /** A migration started or ended, or secrets.json came or went: choose again at the next operation. */
  reselect(): void {
    this.serving = undefined;
  }

  private select(config: () => Config): StoreSelection {
    const fromEnv = this.env[SECRET_STORE_ENV];
    if (fromEnv) {
      if (!(SECRET_STORE_KINDS as readonly string[]).includes(fromEnv)) {
        throw new SecretStoreError(`${SECRET_STORE_ENV} must be one of ${SECRET_STORE_KINDS.join(', ')} (it is ${JSON.stringify(fromEnv)})`);
      }
      return { kind: fromEnv as SecretStoreKind, reason: 'environment' };
    }
    const migration = readMigrationMarker(this.paths);
    if (migration) return { kind: migration.to, reason: 'migration', migration };
    const configured = config().secretStore;
    if (configured) return { kind: configured, reason: 'config' };
    if (existsSync(this.paths.secretsFile)) return { kind: 'file', reason: 'existing-file' };
    return { kind: 'keychain', reason: 'default' };
  }

  /** One of the two stores, whatever the selection (for `secrets migrate` and `status`). */
  store(kind: SecretStoreKind): SecretStore {
    let store = this.stores[kind];
    if (!store) {
      store =
        kind === 'file'
          ? new FileSecretStore(this.paths.secretsFile)
          : new KeychainSecretStore({ prefix: keychainPrefix(this.paths), ...keychainEnvOptions(this.env), ...this.options.keychain });
      this.stores[kind] = store;
    }
    return store;
  }

  /** The store serving `config` (one look at the config per operation: callers that have it pass it). */
  private current(config = this.config.current()): SecretStore {
    if (this.serving?.config !== config) this.serving = { config, store: this.serve(this.select(() => config)) };
    return this.serving.store;
  }

  private serve(selection: StoreSelection): SecretStore {
    const target = this.served(selection.kind);
    if (!selection.migration) return target;
    return new MigratingSecretStore(target, this.served(selection.migration.from), (task) => withMigrationLock(this.paths, task));
  }

  private served(kind: SecretStoreKind): SecretStore {
    const wrap = this.options.serveKeychainThrough;
    if (kind !== 'keychain' || !wrap) return this.store(kind);
    this.servedKeychain ??= wrap(this.store('keychain'));
    return this.servedKeychain;
  }
}

/**
 * Keychain entries of the default profile are plain `<account>/<slot>`; another config directory
 * (GIT_CREDENTIAL_BITBUCKET_HOME, a test) prefixes its path, so profiles never share an entry.
 */
export function keychainPrefix(paths: ProductPaths): string {
  return paths.configDir === join(homedir(), '.config', 'git-credential-bitbucket') ? '' : `${paths.configDir}:`;
}

function keychainEnvOptions(env: Env): Partial<KeychainOptions> {
  const options: Partial<KeychainOptions> = {};
  const timeout = readSetting(SETTINGS.keychainTimeout, env);
  if (timeout.source === 'environment') options.timeoutMs = timeout.value;
  // Emulates a size-capped platform store (Windows) on any platform, for tests.
  const cap = Number(env.GIT_CREDENTIAL_BITBUCKET_KEYCHAIN_CAP_BYTES);
  if (Number.isFinite(cap) && cap > 0) options.emulatedCapBytes = cap;
  return options;
}

export interface SecretStoreReport {
  name: string;
  plaintext: boolean;
  location: string;
  chosenBy: SelectionReason;
  /** An unfinished migration's source and target. */
  migration: { from: SecretStoreKind; to: SecretStoreKind } | null;
  /** Why the keychain cannot be used (keychain chosen), or why its module does not load (file chosen). */
  keychainProblem: string | null;
}

const CHOSEN_BY: Record<SelectionReason, string> = {
  environment: `chosen by ${SECRET_STORE_ENV}`,
  migration: 'a migration to it is UNFINISHED: run `git-credential-bitbucket secrets migrate` again',
  config: 'chosen in config.json',
  'existing-file': 'in use since before the keychain store existed; move the secrets with `git-credential-bitbucket secrets migrate --to keychain`',
  default: 'the default',
};

/** What `status` says about the secret store. Probes the keychain (bounded in time). */
export async function reportSecretStore(store: SelectedSecretStore): Promise<SecretStoreReport> {
  const selection = store.selection();
  const keychain = store.store('keychain') as KeychainSecretStore;
  return {
    name: store.name,
    plaintext: store.plaintext,
    location: store.location,
    chosenBy: selection.reason,
    migration: selection.migration ? { from: selection.migration.from, to: selection.migration.to } : null,
    // The file store in use: only whether the keyring module loads (the "says why"), no keychain traffic.
    keychainProblem: (selection.kind === 'keychain' ? await keychain.problem() : keychain.moduleProblem()) ?? null,
  };
}

export function describeSecretStoreReport(report: SecretStoreReport): string {
  let line = `Secret store: ${report.name} (${report.location}), ${CHOSEN_BY[report.chosenBy]}`;
  if (report.plaintext) line += ' — PLAINTEXT: readable by anyone who can read your files';
  if (report.keychainProblem) line += `\n  keychain not usable: ${report.keychainProblem}`;
  return line;
}

/**
 * `account add --secret-store KIND`: records KIND as the choice in `config` (being updated under
 * its lock) and returns the store to write to. Refuses a choice that would strand secrets.
 */
export async function chooseSecretStore(selected: SelectedSecretStore, config: Config, kind: SecretStoreKind): Promise<SecretStore> {
  const selection = selected.selection();
  const other: SecretStoreKind = kind === 'keychain' ? 'file' : 'keychain';
  const move = `move them with \`git-credential-bitbucket secrets migrate --to ${kind}\` first`;
  if (selection.reason === 'environment' && selection.kind !== kind) {
    throw new SecretStoreError(`${SECRET_STORE_ENV}=${selection.kind} contradicts --secret-store ${kind}`);
  }
  if (selection.migration) throw new SecretStoreError(`a migration of the secrets is unfinished; run \`git-credential-bitbucket secrets migrate --to ${selection.migration.to}\``);
  if (config.secretStore && config.secretStore !== kind) {
    throw new SecretStoreError(`the secrets are kept in the ${config.secretStore} store (config.json); ${move}`);
  }
  if (!config.secretStore) {
    // Secrets already in the other store would no longer be found.
    const stranded = await selected.store(other).list().catch((error: unknown) => {
      if (error instanceof SecretStoreError) return [];
      throw error;
    });
    if (stranded.length > 0) throw new SecretStoreError(`${stranded.length} secret(s) are in the ${other} store; ${move}`);
    config.secretStore = kind;
  }
  return selected.store(kind);
}

/**
 * `account remove`: deletes that account's secrets, and only those, from the store in use and
 * from the other store when it holds leftovers and can be reached. Returns what was deleted.
 */
export async function deleteAccountSecrets(selected: SelectedSecretStore, account: string): Promise<SecretRef[]> {
  const deleted: SecretRef[] = [];
  const current: SecretStore = selected;
  for (const ref of await current.list()) {
    if (ref.account === account && (await current.delete(ref))) deleted.push(ref);
  }
  const selection = selected.selection();
  if (selection.reason === 'environment' || selection.migration) return deleted;
  const other = selected.store(selection.kind === 'keychain' ? 'file' : 'keychain');
  try {
    for (const ref of await other.list()) {
      if (ref.account === account && (await other.delete(ref)) && !deleted.some((d) => d.slot === ref.slot)) deleted.push(ref);
    }
  } catch (error) {
    if (!(error instanceof SecretStoreError)) throw error;
  }
  return deleted;
}
