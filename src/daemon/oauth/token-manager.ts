// Hands out OAuth access tokens: the cached one while it stays valid for the safety margin,
// otherwise a fresh one. Per account, one refresh at a time (single flight: concurrent gets share
// it); the refresh token always comes from the secret store, so a restarted daemon continues
// where the last one stopped; a rotated refresh token is persisted before the new access token
// is handed out. A rejected refresh marks the account as needing login; a network failure keeps
// everything, serves a still-valid token if there is one, and backs off before trying again.

import type { Logger } from 'pino';
import type { Account } from '../../core/accounts.js';
import { needsLogin, type AccountStateBook } from '../../core/account-state.js';
import type { SecretStore } from '../../core/secrets/secret-store.js';
import { now as clockNow } from '../../core/clock.js';
import { OAuthRejectedError, OAuthUnavailableError, type TokenSet } from '../../core/oauth/oauth-client.js';

export type AccessTokenResult =
  | { kind: 'token'; token: string; expiresAt: number }
  /** No usable refresh token: never logged in, or Bitbucket refused it. */
  | { kind: 'needs-login'; reason: string }
  /** The token endpoint failed and no valid access token is left. */
  | { kind: 'unavailable'; reason: string };

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** The network step, injected: OAuthClient in the daemon, a scripted fake in unit tests. */
export interface TokenRefresher {
  refresh(account: Account, clientSecret: string | undefined, refreshToken: string): Promise<TokenSet>;
}

export interface TokenManagerDeps {
  store: SecretStore;
  states: AccountStateBook;
  client: TokenRefresher;
  log: Logger;
  /** Milliseconds a handed-out token must stay valid. */
  marginMs(): number;
  /** Defaults to the daemon's clock (clock.ts). */
  now?(): number;
}

const BACKOFF_START_MS = 1000;
const BACKOFF_MAX_MS = 60_000;

export class TokenManager {
  /** Keyed by account identity (name, URL, client): a removed and re-added name starts afresh. */
  private readonly cache = new Map<string, CachedToken>();
  private readonly inFlight = new Map<string, Promise<AccessTokenResult>>();
  private readonly backoff = new Map<string, { until: number; delayMs: number; reason: string }>();
  /** A rotated refresh token the store refused to take: kept here and stored again next time. */
  private readonly unsaved = new Map<string, string>();
  private readonly now: () => number;

  constructor(private readonly deps: TokenManagerDeps) {
    this.now = deps.now ?? clockNow;
  }

  accessToken(account: Account): Promise<AccessTokenResult> {
    // Join a refresh under way before awaiting anything: a caller that awaited the store first
    // could arrive after that refresh ended and start a second one.
    const key = identity(account);
    const flight = this.inFlight.get(key);
    if (flight) return flight;
    const started = this.serve(account).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  /** The access token we currently hold for the account, to recognise it in store/erase. */
  async currentToken(account: Account): Promise<string | undefined> {
    return (await this.cached(account))?.token;
  }

  /** git's erase for our access token: drop it so the next get refreshes. Nothing else goes. */
  async forget(account: Account): Promise<void> {
    this.cache.delete(identity(account));
    await this.deps.store.delete({ account: account.name, slot: 'oauth-access' });
  }

  /** After `login`, `account add` or `account remove`: read that account from the store next time. */
  reload(account?: string): void {
    for (const map of [this.cache, this.backoff, this.unsaved]) {
      for (const key of [...map.keys()]) if (account === undefined || key.startsWith(`${account}\n`)) map.delete(key);
    }
  }

  private async cached(account: Account): Promise<CachedToken | undefined> {
    const key = identity(account);
    const inMemory = this.cache.get(key);
    if (inMemory) return inMemory;
    const stored = parseStoredToken(await this.deps.store.get({ account: account.name, slot: 'oauth-access' }));
    if (stored) this.cache.set(key, stored);
    return stored;
  }

  private async serve(account: Account): Promise<AccessTokenResult> {
    const cached = await this.cached(account);
    if (cached && cached.expiresAt - this.now() > this.deps.marginMs()) return { kind: 'token', ...cached };
    return this.refresh(account, cached);
  }

  private async refresh(account: Account, cached: CachedToken | undefined): Promise<AccessTokenResult> {
    const name = account.name;
    const key = identity(account);
    const stillValid = cached && cached.expiresAt > this.now() ? cached : undefined;

    const waiting = this.backoff.get(key);
    if (waiting && this.now() < waiting.until) {
      return stillValid ? { kind: 'token', ...stillValid } : { kind: 'unavailable', reason: `${waiting.reason}; next try in ${Math.ceil((waiting.until - this.now()) / 1000)} s` };
    }

    await this.saveUnsavedRefreshToken(account);
    const refreshToken = this.unsaved.get(key) ?? (await this.deps.store.get({ account: name, slot: 'oauth-refresh' }));
    if (refreshToken === undefined) return { kind: 'needs-login', reason: 'it has not logged in with OAuth yet' };
    const status = this.deps.states.get(name);
    if (needsLogin(status, refreshToken)) {
      return { kind: 'needs-login', reason: `OAuth refresh was rejected (${status.needsLogin!.reason})` };
    }
    const clientSecret = await this.deps.store.get({ account: name, slot: 'oauth-client-secret' });

    const started = this.now();
    let tokens: TokenSet;
    try {
      tokens = await this.deps.client.refresh(account, clientSecret, refreshToken);
    } catch (error) {
      if (error instanceof OAuthRejectedError && NEEDS_LOGIN_ERRORS.has(error.code)) {
        this.deps.states.markNeedsLogin(name, refreshToken, error.message);
        this.deps.log.warn({ account: name, error: error.code }, 'oauth refresh rejected');
        return { kind: 'needs-login', reason: `OAuth refresh was rejected (${error.message})` };
      }
      if (error instanceof OAuthRejectedError || error instanceof OAuthUnavailableError) {
        const delayMs = Math.min(BACKOFF_MAX_MS, waiting ? waiting.delayMs * 2 : BACKOFF_START_MS);
        this.backoff.set(key, { until: this.now() + delayMs, delayMs, reason: error.message });
        this.deps.log.warn({ account: name, reason: error.message, retryInMs: delayMs }, 'oauth refresh failed');
        return stillValid ? { kind: 'token', ...stillValid } : { kind: 'unavailable', reason: error.message };
      }
      throw error;
    }
    const fresh: CachedToken = { token: tokens.accessToken, expiresAt: tokens.expiresAt };
    // `login` may have stored a new grant while this refresh was under way: that one wins, and
    // this token (valid, but of the old grant) is handed out once without being kept.
    if (!this.unsaved.has(key) && (await this.deps.store.get({ account: name, slot: 'oauth-refresh' })) !== refreshToken) {
      return { kind: 'token', ...fresh };
    }
    const rotated = tokens.refreshToken !== undefined && tokens.refreshToken !== refreshToken;
    // The new refresh token first: once Bitbucket rotated it, the old one dies soon, and a crash
    // after handing out the access token must not lose the only one that works.
    if (rotated) {
      this.unsaved.set(key, tokens.refreshToken!);
      await this.saveUnsavedRefreshToken(account);
    }
    await this.deps.store.set({ account: name, slot: 'oauth-access' }, JSON.stringify(fresh)).catch((error: Error) =>
      this.deps.log.warn({ account: name, reason: error.message }, 'could not store the access token; it is kept in memory'),
    );
    this.cache.set(key, fresh);
    this.backoff.delete(key);
    this.deps.states.markRefreshed(name, fresh.expiresAt);
    this.deps.log.info({ account: name, expiresAt: new Date(fresh.expiresAt).toISOString(), rotated, latencyMs: this.now() - started }, 'oauth refresh');
    return { kind: 'token', ...fresh };
  }

  /** Stores a rotated refresh token the store refused earlier; on failure it stays in memory. */
  private async saveUnsavedRefreshToken(account: Account): Promise<void> {
    const key = identity(account);
    const token = this.unsaved.get(key);
    if (token === undefined) return;
    try {
      await this.deps.store.set({ account: account.name, slot: 'oauth-refresh' }, token);
      this.unsaved.delete(key);
    } catch (error) {
      this.deps.log.warn({ account: account.name, reason: (error as Error).message }, 'could not store the rotated refresh token; kept in memory, retried on the next refresh');
    }
  }
}

/** Only these mean the grant itself is gone or the client is refused: retrying cannot help. */
const NEEDS_LOGIN_ERRORS: ReadonlySet<string> = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client']);

function identity(account: Account): string {
  return `${account.name}\n${account.url}\n${account.oauth?.clientId ?? ''}`;
}

function parseStoredToken(value: string | undefined): CachedToken | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<CachedToken>;
    if (typeof parsed.token === 'string' && typeof parsed.expiresAt === 'number') return { token: parsed.token, expiresAt: parsed.expiresAt };
  } catch {
    // an unreadable cached token is just a missing one: the next get refreshes
  }
  return undefined;
}
