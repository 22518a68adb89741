// Hands out OAuth access tokens and is the only writer of an account's OAuth tokens: refreshes,
// `login` (the CLI hands the new grant over) and `logout` all happen here, so what the daemon
// holds in memory and what the store holds never drift apart. The rules are pure functions of
// one state per account (state.ts); this module does the I/O around them. Per account, one
// operation at a time: concurrent gets share one refresh (single flight), and a login or logout
// waits for a refresh under way instead of racing it. The refresh token always comes from the
// secret store, so a restarted daemon continues where the last one stopped; a rotated refresh
// token is stored before the new access token is handed out.

import type { Logger } from 'pino';
import type { Account } from '../../core/accounts.js';
import { needsLogin, type AccountStateBook } from '../../core/account-state.js';
import type { SecretRef, SecretStore } from '../../core/secrets/secret-store.js';
import { now as clockNow } from '../../core/clock.js';
import type { TokenSet } from '../../core/oauth/oauth-client.js';
import { formatStoredAccessToken, parseStoredAccessToken, type AccessToken } from '../../core/oauth/stored-token.js';
import { NOT_LOGGED_IN, afterErase, afterLogin, afterRefresh, loadedState, plan, refreshFailure, refreshTokenSaved, type AccessTokenResult, type OAuthState, type RefreshOutcome } from './state.js';

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

/** One account's state and the machinery that keeps its operations in order. */
interface Lane {
  /** Undefined until read from the store (and again after a logout). */
  state?: OAuthState;
  /** The get being answered, which later gets join. */
  serving?: Promise<AccessTokenResult>;
  /** Settles when the last queued operation has. */
  queue: Promise<void>;
}

export class TokenManager {
  /** Keyed by account name; the state inside says which account of that name it belongs to. */
  private readonly lanes = new Map<string, Lane>();
  private readonly now: () => number;

  constructor(private readonly deps: TokenManagerDeps) {
    this.now = deps.now ?? clockNow;
  }

  accessToken(account: Account): Promise<AccessTokenResult> {
    // Join a get under way before awaiting anything: a caller that awaited the store first
    // could arrive after that refresh ended and start a second one.
    const lane = this.lane(account.name);
    if (lane.serving) return lane.serving;
    const serving = this.exclusive(lane, () => this.serve(account)).finally(() => {
      if (lane.serving === serving) lane.serving = undefined;
    });
    lane.serving = serving;
    return serving;
  }

  /** The access token we currently hold for the account, to recognise it in store/erase. */
  async currentToken(account: Account): Promise<string | undefined> {
    return (await this.load(account)).access?.token;
  }

  /** git's erase for our access token: drop it so the next get refreshes. Nothing else goes. */
  forget(account: Account): Promise<void> {
    const lane = this.lane(account.name);
    return this.exclusive(lane, async () => {
      lane.state = afterErase(await this.load(account));
      await this.deps.store.delete(ref(account.name, 'oauth-access'));
    });
  }

  /** `login` handed over a new grant: it replaces the old one. Returns whether tokens were there before. */
  login(account: Account, access: AccessToken, refreshToken: string): Promise<boolean> {
    const lane = this.lane(account.name);
    return this.exclusive(lane, async () => {
      const replaced = (await this.deps.store.get(ref(account.name, 'oauth-refresh'))) !== undefined;
      // The refresh token first: it is what keeps the account working.
      await this.deps.store.set(ref(account.name, 'oauth-refresh'), refreshToken);
      lane.state = afterLogin(identity(account), access);
      await this.storeAccessToken(account.name, access);
      return replaced;
    });
  }

  /**
   * `logout` or `account remove`: drop the account's OAuth tokens, in the store and here. By name:
   * the account may already be gone from config.json. Returns whether there were any.
   */
  logout(name: string): Promise<boolean> {
    const lane = this.lane(name);
    return this.exclusive(lane, async () => {
      // A rotated token not yet stored goes with the state, whatever the store says next.
      lane.state = undefined;
      const refresh = await this.deps.store.delete(ref(name, 'oauth-refresh'));
      const access = await this.deps.store.delete(ref(name, 'oauth-access'));
      return refresh || access;
    });
  }

  private lane(name: string): Lane {
    let lane = this.lanes.get(name);
    if (!lane) this.lanes.set(name, (lane = { queue: Promise.resolve() }));
    return lane;
  }

  private exclusive<T>(lane: Lane, task: () => Promise<T>): Promise<T> {
    const run = lane.queue.then(task);
    lane.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** The account's state, read from the store and the state file the first time. */
  private async load(account: Account): Promise<OAuthState> {
    const lane = this.lane(account.name);
    const id = identity(account);
    if (lane.state?.identity === id) return lane.state;
    const stored = parseStoredAccessToken(await this.deps.store.get(ref(account.name, 'oauth-access')));
    // A refusal recorded by an earlier daemon holds while the store has the refused token (with
    // none at all, the account simply is not logged in).
    const recorded = this.deps.states.get(account.name);
    let refused: string | undefined;
    if (recorded.needsLogin) {
      const refresh = await this.deps.store.get(ref(account.name, 'oauth-refresh'));
      if (refresh !== undefined && needsLogin(recorded, refresh)) refused = recorded.needsLogin.reason;
    }
    // currentToken() loads outside the queue: keep what an operation set meanwhile.
    if (lane.state?.identity === id) return lane.state;
    lane.state = loadedState(id, stored, refused);
    return lane.state;
  }

  private async serve(account: Account): Promise<AccessTokenResult> {
    const state = await this.load(account);
    const next = plan(state, this.now(), this.deps.marginMs());
    return next.kind === 'answer' ? next.result : this.refresh(account);
  }

  private async refresh(account: Account): Promise<AccessTokenResult> {
    const name = account.name;
    const lane = this.lane(name);
    await this.saveUnsavedRefreshToken(lane, name);
    const refreshToken = lane.state!.unsavedRefresh ?? (await this.deps.store.get(ref(name, 'oauth-refresh')));
    if (refreshToken === undefined) return { kind: 'needs-login', reason: NOT_LOGGED_IN };
    const clientSecret = await this.deps.store.get(ref(name, 'oauth-client-secret'));

    const started = this.now();
    let outcome: RefreshOutcome;
    try {
      const tokens = await this.deps.client.refresh(account, clientSecret, refreshToken);
      outcome = { kind: 'issued', access: { token: tokens.accessToken, expiresAt: tokens.expiresAt }, ...(tokens.refreshToken !== undefined && { refreshToken: tokens.refreshToken }) };
    } catch (error) {
      const failure = refreshFailure(error);
      if (!failure) throw error;
      outcome = failure;
    }
    const { state, result, rotated } = afterRefresh(lane.state!, refreshToken, outcome, this.now());
    lane.state = state;
    switch (outcome.kind) {
      case 'rejected':
        this.deps.states.markNeedsLogin(name, refreshToken, outcome.reason);
        this.deps.log.warn({ account: name, error: outcome.code }, 'oauth refresh rejected');
        break;
      case 'failed':
        this.deps.log.warn({ account: name, reason: outcome.reason, retryInMs: state.backoff!.delayMs }, 'oauth refresh failed');
        break;
      case 'issued':
        // The new refresh token first: once Bitbucket rotated it, the old one dies soon, and a
        // crash after handing out the access token must not lose the only one that works.
        await this.saveUnsavedRefreshToken(lane, name);
        await this.storeAccessToken(name, outcome.access);
        this.deps.states.markRefreshed(name, outcome.access.expiresAt);
        this.deps.log.info({ account: name, expiresAt: new Date(outcome.access.expiresAt).toISOString(), rotated: rotated !== undefined, latencyMs: this.now() - started }, 'oauth refresh');
        break;
    }
    return result;
  }

  /** Stores a rotated refresh token the store has not taken yet; on failure it stays in memory. */
  private async saveUnsavedRefreshToken(lane: Lane, name: string): Promise<void> {
    const token = lane.state?.unsavedRefresh;
    if (token === undefined) return;
    try {
      await this.deps.store.set(ref(name, 'oauth-refresh'), token);
      lane.state = refreshTokenSaved(lane.state!, token);
    } catch (error) {
      this.deps.log.warn({ account: name, reason: (error as Error).message }, 'could not store the rotated refresh token; kept in memory, retried on the next refresh');
    }
  }

  /** The access token only spares a refresh after a restart: a store that refuses it costs nothing now. */
  private async storeAccessToken(name: string, access: AccessToken): Promise<void> {
    await this.deps.store.set(ref(name, 'oauth-access'), formatStoredAccessToken(access)).catch((error: Error) =>
      this.deps.log.warn({ account: name, reason: error.message }, 'could not store the access token; it is kept in memory'),
    );
  }
}

function ref(account: string, slot: SecretRef['slot']): SecretRef {
  return { account, slot };
}

function identity(account: Account): string {
  return `${account.name}\n${account.url}\n${account.oauth?.clientId ?? ''}`;
}
