// Hands out OAuth access tokens: the cached one while it stays valid for the safety margin,
// otherwise a fresh one. Per account, one refresh at a time (single flight: concurrent gets share
// it); the refresh token always comes from the secret store, so a restarted daemon continues
// where the last one stopped; a rotated refresh token is persisted before the new access token
// is handed out. A rejected refresh marks the account as needing login; a network failure keeps
// everything, serves a still-valid token if there is one, and backs off before trying again.

import type { Logger } from 'pino';
import type { Account } from '../accounts.js';
import { needsLogin, type AccountStateBook } from '../account-state.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { OAuthRejectedError, OAuthUnavailableError, type TokenSet } from './oauth-client.js';

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
  now?(): number;
}

const BACKOFF_START_MS = 1000;
const BACKOFF_MAX_MS = 60_000;

export class TokenManager {
  private readonly cache = new Map<string, CachedToken>();
  private readonly inFlight = new Map<string, Promise<AccessTokenResult>>();
  private readonly backoff = new Map<string, { until: number; delayMs: number; reason: string }>();
  private readonly now: () => number;

  constructor(private readonly deps: TokenManagerDeps) {
    this.now = deps.now ?? Date.now;
  }

  async accessToken(account: Account): Promise<AccessTokenResult> {
    const cached = await this.cached(account.name);
    if (cached && cached.expiresAt - this.now() > this.deps.marginMs()) return { kind: 'token', ...cached };
    let flight = this.inFlight.get(account.name);
    if (!flight) {
      flight = this.refresh(account).finally(() => this.inFlight.delete(account.name));
      this.inFlight.set(account.name, flight);
    }
    return flight;
  }

  /** The access token we currently hold for the account, to recognise it in store/erase. */
  async currentToken(account: string): Promise<string | undefined> {
    return (await this.cached(account))?.token;
  }

  /** git's erase for our access token: drop it so the next get refreshes. Nothing else goes. */
  async forget(account: string): Promise<void> {
    this.cache.delete(account);
    await this.deps.store.delete({ account, slot: 'oauth-access' });
  }

  /** After `login` stored new tokens: read them from the store next time. */
  reload(account?: string): void {
    if (account === undefined) {
      this.cache.clear();
      this.backoff.clear();
    } else {
      this.cache.delete(account);
      this.backoff.delete(account);
    }
  }

  private async cached(account: string): Promise<CachedToken | undefined> {
    const inMemory = this.cache.get(account);
    if (inMemory) return inMemory;
    const stored = parseStoredToken(await this.deps.store.get({ account, slot: 'oauth-access' }));
    if (stored) this.cache.set(account, stored);
    return stored;
  }

  private async refresh(account: Account): Promise<AccessTokenResult> {
    const name = account.name;
    const cached = await this.cached(name);
    const stillValid = cached && cached.expiresAt > this.now() ? cached : undefined;

    const waiting = this.backoff.get(name);
    if (waiting && this.now() < waiting.until) {
      return stillValid ? { kind: 'token', ...stillValid } : { kind: 'unavailable', reason: `${waiting.reason}; next try in ${Math.ceil((waiting.until - this.now()) / 1000)} s` };
    }

    const refreshToken = await this.deps.store.get({ account: name, slot: 'oauth-refresh' });
    if (refreshToken === undefined) return { kind: 'needs-login', reason: 'it has not logged in with OAuth yet' };
    const status = this.deps.states.get(name);
    if (needsLogin(status, refreshToken)) {
      return { kind: 'needs-login', reason: `OAuth refresh was rejected (${status.needsLogin!.reason})` };
    }
    const clientSecret = await this.deps.store.get({ account: name, slot: 'oauth-client-secret' });

    const started = this.now();
    try {
      const tokens = await this.deps.client.refresh(account, clientSecret, refreshToken);
      // The new refresh token first: once Bitbucket rotated it, the old one dies soon, and a
      // crash after handing out the access token must not lose the only one that works.
      if (tokens.refreshToken !== undefined && tokens.refreshToken !== refreshToken) {
        await this.deps.store.set({ account: name, slot: 'oauth-refresh' }, tokens.refreshToken);
      }
      const fresh: CachedToken = { token: tokens.accessToken, expiresAt: tokens.expiresAt };
      await this.deps.store.set({ account: name, slot: 'oauth-access' }, JSON.stringify(fresh));
      this.cache.set(name, fresh);
      this.backoff.delete(name);
      this.deps.states.markRefreshed(name, fresh.expiresAt);
      this.deps.log.info({ account: name, expiresAt: new Date(fresh.expiresAt).toISOString(), rotated: tokens.refreshToken !== undefined && tokens.refreshToken !== refreshToken, latencyMs: this.now() - started }, 'oauth refresh');
      return { kind: 'token', ...fresh };
    } catch (error) {
      if (error instanceof OAuthRejectedError) {
        this.cache.delete(name);
        this.deps.states.markNeedsLogin(name, refreshToken, error.message);
        this.deps.log.warn({ account: name, error: error.code }, 'oauth refresh rejected');
        return { kind: 'needs-login', reason: `OAuth refresh was rejected (${error.message})` };
      }
      if (error instanceof OAuthUnavailableError) {
        const delayMs = Math.min(BACKOFF_MAX_MS, waiting ? waiting.delayMs * 2 : BACKOFF_START_MS);
        this.backoff.set(name, { until: this.now() + delayMs, delayMs, reason: error.message });
        this.deps.log.warn({ account: name, reason: error.message, retryInMs: delayMs }, 'oauth refresh failed');
        return stillValid ? { kind: 'token', ...stillValid } : { kind: 'unavailable', reason: error.message };
      }
      throw error;
    }
  }
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
