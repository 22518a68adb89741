// Accounts and routes as they live in config.json (never a secret there), with the validation
// that keeps a hand-edited or corrupt file from turning into a wrong answer to git.

export type AccountKind = 'cloud' | 'datacenter';
export const ACCOUNT_KINDS: readonly AccountKind[] = ['cloud', 'datacenter'];

export type StaticSecretKind = 'api-token' | 'access-token' | 'project-token' | 'app-password' | 'password';
export const STATIC_SECRET_KINDS: readonly StaticSecretKind[] = ['api-token', 'access-token', 'project-token', 'app-password', 'password'];

/**
 * Data Center project and repository HTTP access tokens go only as `Authorization: Bearer`
 * (Atlassian: "Don't use this token with a username in Basic authentication"); git sends that
 * from 2.46 on, when the helper answers with authtype=Bearer.
 */
export function isBearerOnly(kind: StaticSecretKind | undefined): boolean {
  return kind === 'project-token';
}

/** An account's OAuth client (Cloud: an OAuth consumer; Data Center: an incoming application link). */
export interface OAuthSettings {
  clientId: string;
  /** The loopback port of the redirect URI registered with the client: http://127.0.0.1:PORT/ */
  redirectPort: number;
  /** Requested scopes (Data Center); Cloud takes the consumer's permissions. */
  scopes?: string[];
}

export const DEFAULT_REDIRECT_PORT = 47823;

export interface Account {
  name: string;
  kind: AccountKind;
  /** Normalised base URL: scheme://host[:port][/context-path], no trailing slash. */
  url: string;
  username: string;
  /**
   * Cloud: the Atlassian account e-mail. Bitbucket's REST API takes an API token only with it
   * (git takes the username), so checking the token needs it; it is never sent to git.
   */
  email?: string;
  /** What the static secret in the secret store is; absent when the account has none. */
  secretKind?: StaticSecretKind;
  /** The environment variable that holds the static secret instead of the store (secrets/env-secret.ts). */
  secretEnv?: string;
  /** When the static secret expires (ISO timestamp), where Bitbucket or the user says. */
  secretExpiresAt?: string;
  /** OAuth login; when set, OAuth is the first choice and the static secret the fallback. */
  oauth?: OAuthSettings;
  /** The commit author for repositories routed to this account (`install` writes git's includes). */
  identity?: CommitIdentity;
}

/** git's user.name and user.email for an account's repositories; at least one is set. */
export interface CommitIdentity {
  name?: string;
  email?: string;
}

export interface Route {
  /** scheme://host[:port]/path, where `*` matches within one path segment. */
  pattern: string;
  account: string;
}

export class ValidationError extends Error {}

/** Usernames that identify a kind of token rather than a person; they say nothing about the account. */
export const TOKEN_USERNAMES: ReadonlySet<string> = new Set(['x-token-auth', 'x-bitbucket-api-token-auth']);

const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function validateAccountName(name: string): string {
  if (!ACCOUNT_NAME.test(name)) {
    throw new ValidationError(`account name ${JSON.stringify(name)} must be 1-64 letters, digits, '.', '_' or '-'`);
  }
  return name;
}

export function validateUsername(username: string): string {
  if (username === '' || /[\s:\0]/.test(username) || username.length > 256) {
    throw new ValidationError('the username must be non-empty, without spaces or ":"');
  }
  return username;
}

export function validateEmail(email: string): string {
  if (!/^[^\s@:]+@[^\s@:]+$/.test(email) || email.length > 256) throw new ValidationError(`${JSON.stringify(email)} is not an e-mail address`);
  return email;
}

/** A user.name git can hold in a config file: one line, no NUL, not blank. */
function validateIdentityName(name: string): string {
  if (name.trim() === '' || /[\n\r\0]/.test(name) || name.length > 256) {
    throw new ValidationError(`commit name ${JSON.stringify(name)} must be one non-blank line of at most 256 characters`);
  }
  return name;
}

export function validateIdentity(raw: { name?: unknown; email?: unknown }, where = 'identity'): CommitIdentity {
  const identity: CommitIdentity = {};
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string') throw new ValidationError(`${where}.name must be a string`);
    identity.name = validateIdentityName(raw.name);
  }
  if (raw.email !== undefined) {
    if (typeof raw.email !== 'string') throw new ValidationError(`${where}.email must be a string`);
    identity.email = validateEmail(raw.email);
  }
  if (identity.name === undefined && identity.email === undefined) throw new ValidationError(`${where} needs a name, an email or both`);
  return identity;
}

/** "Alice Example <alice@acme.example>", or whichever half is set. */
export function describeIdentity(identity: CommitIdentity): string {
  return [identity.name, identity.email === undefined ? undefined : `<${identity.email}>`].filter(Boolean).join(' ');
}

export function validateOAuthSettings(raw: { clientId?: unknown; redirectPort?: unknown; scopes?: unknown }, where = 'oauth'): OAuthSettings {
  if (typeof raw.clientId !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(raw.clientId)) {
    throw new ValidationError(`${where}.clientId must be the OAuth client id (printable, no spaces)`);
  }
  const port = raw.redirectPort ?? DEFAULT_REDIRECT_PORT;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError(`${where}.redirectPort must be a port number from 1 to 65535`);
  }
  const settings: OAuthSettings = { clientId: raw.clientId, redirectPort: port };
  if (raw.scopes !== undefined) {
    if (!Array.isArray(raw.scopes) || !raw.scopes.every((scope) => typeof scope === 'string' && /^[\x21-\x7e]+$/.test(scope))) {
      throw new ValidationError(`${where}.scopes must be a list of scope names`);
    }
    settings.scopes = raw.scopes as string[];
  }
  return settings;
}

export interface Origin {
  protocol: 'http' | 'https';
  /** Lower-case host with the port when it is not the default one, as git sends `host=`. */
  host: string;
}

/** Normalises an account base URL; refuses anything git would not send us or that hides a secret. */
export function normaliseBaseUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new ValidationError(`${JSON.stringify(input)} is not a URL (expected https://bitbucket.org or https://git.example.com/bitbucket)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ValidationError(`${input}: only https:// (or http:// on this machine) URLs are supported`);
  }
  if (url.username || url.password) throw new ValidationError(`${url.host}: put the username in --username, not in the URL`);
  if (url.search || url.hash) throw new ValidationError(`${input}: a base URL has no query or fragment`);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ValidationError(`${input}: plain http would send the secret unencrypted; use https://`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}

export function originOf(baseUrl: string): Origin {
  const url = new URL(baseUrl);
  return { protocol: url.protocol === 'http:' ? 'http' : 'https', host: url.host };
}

/** The context path of a base URL ("bitbucket" for https://git.corp/bitbucket), or "". */
export function basePathOf(baseUrl: string): string {
  return new URL(baseUrl).pathname.replace(/^\/+|\/+$/g, '');
}

export function inferKind(baseUrl: string): AccountKind {
  return new URL(baseUrl).hostname === 'bitbucket.org' ? 'cloud' : 'datacenter';
}

export function isLoopbackHost(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** Splits git's `host=` value ("host" or "host:port", IPv6 in brackets) and lower-cases it. */
export function hostnameOf(host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1);
  const colon = lower.lastIndexOf(':');
  return colon >= 0 ? lower.slice(0, colon) : lower;
}

export function parseRoutePattern(input: string): { origin: Origin; path: string } {
  const match = /^(https?):\/\/([^/?#@]+)(\/[^?#]*)?$/i.exec(input.trim());
  if (!match) {
    throw new ValidationError(`route pattern ${JSON.stringify(input)} must look like https://bitbucket.org/WORKSPACE/*`);
  }
  const base = normaliseBaseUrl(`${match[1]}://${match[2]}`);
  const path = (match[3] ?? '').replace(/^\/+|\/+$/g, '');
  return { origin: originOf(base), path };
}

export function normaliseRoutePattern(input: string): string {
  const { origin, path } = parseRoutePattern(input);
  return `${origin.protocol}://${origin.host}${path ? '/' + path : ''}`;
}
