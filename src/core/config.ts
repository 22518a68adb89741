// config.json: accounts, routes and daemon settings. The daemon looks at it once per request
// (cached by file identity, so a CLI change is seen at once; everything else in that request
// uses the same snapshot) and it is changed only by
// `updateConfig`, which holds the lock for the whole read-modify-write. A file that does not
// parse is reported with its path and never rewritten.

import { readFileSync } from 'node:fs';
import {
  ACCOUNT_KINDS,
  STATIC_SECRET_KINDS,
  ValidationError,
  normaliseBaseUrl,
  normaliseRoutePattern,
  validateAccountName,
  validateOAuthSettings,
  validateIdentity,
  validateEmail,
  validateUsername,
  type Account,
  type Route,
} from './accounts.js';
import { ChangeAwareFile, withFileLock, writeFileAtomic } from './files.js';
import { SECRET_STORE_KINDS, type SecretStoreKind } from './secrets/secret-store.js';
import { validateSecretEnvName } from './secrets/env-secret.js';
import { SETTINGS, describeRange, inRange, type Setting } from '../shared/settings.js';

export interface DaemonSettings {
  /** The daemon exits after this long without a request. */
  idleTimeoutSeconds?: number;
  /** How long the daemon serves a static secret it read from the keychain from memory. */
  secretCacheMs?: number;
}

export interface OAuthTiming {
  /**
   * An access token is handed to git only while it stays valid this much longer: a long push
   * must not outlive its token. Default 300 s.
   */
  refreshMarginSeconds?: number;
}

export interface Config {
  version: 1;
  accounts: Account[];
  routes: Route[];
  daemon: DaemonSettings;
  oauth: OAuthTiming;
  /** Where secrets live; absent means the keychain (see secrets/open-store.ts). */
  secretStore?: SecretStoreKind;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}; fix or move the file (it was left unchanged)`);
  }
}

export function emptyConfig(): Config {
  return { version: 1, accounts: [], routes: [], daemon: {}, oauth: {} };
}

export function readConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyConfig();
    throw unreadable(file, error);
  }
  return parseConfigText(file, text);
}

function unreadable(file: string, error: unknown): ConfigError {
  return new ConfigError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
}

function parseConfigText(file: string, text: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, `is not valid JSON (${(error as Error).message})`);
  }
  try {
    return validateConfig(raw);
  } catch (error) {
    if (error instanceof ValidationError) throw new ConfigError(file, error.message);
    throw error;
  }
}

/** Applies `change` under the config lock and writes the result atomically. */
export async function updateConfig<T>(file: string, change: (config: Config) => T | Promise<T>): Promise<T> {
  return withFileLock(file, async () => {
    const config = readConfig(file);
    const result = await change(config);
    writeFileAtomic(file, JSON.stringify(validateConfig(config), null, 2) + '\n');
    return result;
  });
}

/** Where the current configuration comes from: one ConfigCache per process, shared by its users. */
export interface ConfigSource {
  current(): Config;
}

/** config.json as the daemon sees it: re-read only when the file changed. */
export class ConfigCache implements ConfigSource {
  private readonly file: ChangeAwareFile<Config>;
  private last: Config | undefined;

  constructor(path: string) {
    // One object for "no file", so that an unchanged (missing) file is the same snapshot.
    const missing = emptyConfig();
    this.file = new ChangeAwareFile(path, (text) => parseConfigText(path, text), () => missing);
  }

  /** Looks at the file (one stat; a read and parse only when it changed): once per request. */
  current(): Config {
    try {
      this.last = this.file.read();
      return this.last;
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw unreadable(this.file.path, error);
    }
  }

  /**
   * The snapshot the latest `current()` returned, without looking at the file again: what the
   * request under way already read, for the parts of the daemon it does not pass the snapshot
   * to (settings, the secret-store selection). Looks at the file only if nothing was read yet.
   */
  latest(): Config {
    return this.last ?? this.current();
  }
}

function validateConfig(raw: unknown): Config {
  const root = expectObject(raw, 'the top level');
  if (root.version !== undefined && root.version !== 1) {
    throw new ValidationError(`version ${JSON.stringify(root.version)} is not supported (expected 1)`);
  }
  const accounts = expectArray(root.accounts ?? [], 'accounts').map((entry, i) => validateAccount(entry, `accounts[${i}]`));
  const names = new Set<string>();
  for (const account of accounts) {
    if (names.has(account.name)) throw new ValidationError(`account ${account.name} is defined twice`);
    names.add(account.name);
  }
  const routes = expectArray(root.routes ?? [], 'routes').map((entry, i) => {
    const where = `routes[${i}]`;
    const route = expectObject(entry, where);
    const account = expectString(route.account, `${where}.account`);
    if (!names.has(account)) throw new ValidationError(`${where} names account ${account}, which does not exist`);
    return { pattern: normaliseRoutePattern(expectString(route.pattern, `${where}.pattern`)), account };
  });
  const daemonRaw = expectObject(root.daemon ?? {}, 'daemon');
  const daemon: DaemonSettings = {};
  const idle = configSetting(daemonRaw, SETTINGS.idleTimeout);
  if (idle !== undefined) daemon.idleTimeoutSeconds = idle;
  const secretCache = configSetting(daemonRaw, SETTINGS.secretCache);
  if (secretCache !== undefined) daemon.secretCacheMs = secretCache;
  const oauthRaw = expectObject(root.oauth ?? {}, 'oauth');
  const oauth: OAuthTiming = {};
  const margin = configSetting(oauthRaw, SETTINGS.refreshMargin);
  if (margin !== undefined) oauth.refreshMarginSeconds = margin;
  const config: Config = { version: 1, accounts, routes, daemon, oauth };
  if (root.secretStore !== undefined) {
    if (!(SECRET_STORE_KINDS as readonly unknown[]).includes(root.secretStore)) {
      throw new ValidationError(`secretStore must be one of ${SECRET_STORE_KINDS.join(', ')}`);
    }
    config.secretStore = root.secretStore as SecretStoreKind;
  }
  return config;
}

function validateAccount(raw: unknown, where: string): Account {
  const entry = expectObject(raw, where);
  if ('secret' in entry || 'password' in entry || 'token' in entry) {
    throw new ValidationError(`${where} holds a secret; secrets belong in the secret store, not in config.json`);
  }
  const name = validateAccountName(expectString(entry.name, `${where}.name`));
  const kind = expectString(entry.kind, `${where}.kind`);
  if (!(ACCOUNT_KINDS as readonly string[]).includes(kind)) throw new ValidationError(`${where}.kind must be cloud or datacenter`);
  const account: Account = {
    name,
    kind: kind as Account['kind'],
    url: normaliseBaseUrl(expectString(entry.url, `${where}.url`)),
    username: validateUsername(expectString(entry.username, `${where}.username`)),
  };
  if (entry.secretKind !== undefined) {
    const secretKind = expectString(entry.secretKind, `${where}.secretKind`);
    if (!(STATIC_SECRET_KINDS as readonly string[]).includes(secretKind)) {
      throw new ValidationError(`${where}.secretKind must be one of ${STATIC_SECRET_KINDS.join(', ')}`);
    }
    account.secretKind = secretKind as Account['secretKind'];
  }
  if (entry.secretExpiresAt !== undefined) {
    const expires = expectString(entry.secretExpiresAt, `${where}.secretExpiresAt`);
    if (Number.isNaN(Date.parse(expires))) throw new ValidationError(`${where}.secretExpiresAt must be an ISO date`);
    account.secretExpiresAt = expires;
  }
  if (entry.secretEnv !== undefined) {
    if (account.secretKind === undefined) throw new ValidationError(`${where}.secretEnv needs ${where}.secretKind (what the secret is)`);
    account.secretEnv = validateSecretEnvName(expectString(entry.secretEnv, `${where}.secretEnv`), `${where}.secretEnv`);
  }
  if (entry.email !== undefined) account.email = validateEmail(expectString(entry.email, `${where}.email`));
  if (entry.oauth !== undefined) account.oauth = validateOAuthSettings(expectObject(entry.oauth, `${where}.oauth`), `${where}.oauth`);
  if (entry.identity !== undefined) account.identity = validateIdentity(expectObject(entry.identity, `${where}.identity`), `${where}.identity`);
  return account;
}

/** A setting's value in its config.json section, checked against the range in SETTINGS. */
function configSetting(section: Record<string, unknown>, setting: Setting & { config: readonly [string, string] }): number | undefined {
  const [name, key] = setting.config;
  const value = section[key];
  if (value === undefined) return undefined;
  if (!inRange(setting, value)) throw new ValidationError(`${name}.${key} must be ${describeRange(setting)}`);
  return value;
}

function expectObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(`${where} must be an object`);
  return value as Record<string, unknown>;
}

function expectArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new ValidationError(`${where} must be a list`);
  return value;
}

function expectString(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new ValidationError(`${where} must be a string`);
  return value;
}
