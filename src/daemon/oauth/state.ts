// One account's OAuth state as plain data, and every change to it as a pure function of the state,
// an event and `now`: when to refresh, what a refresh outcome does, what login, logout and git's
// erase do. token-manager.ts does the I/O around them (secret store, token endpoint, state file,
// log) and keeps one such state per account; these functions never touch a socket or a clock, so
// the rules are unit-tested on their own (test/oauth-state.test.ts).

import { OAuthRejectedError, OAuthUnavailableError } from '../../core/oauth/oauth-client.js';
import type { AccessToken } from '../../core/oauth/stored-token.js';

export type AccessTokenResult =
  | { kind: 'token'; token: string; expiresAt: number }
  /** No usable refresh token: never logged in, or Bitbucket refused it. */
  | { kind: 'needs-login'; reason: string }
  /** The token endpoint failed and no valid access token is left. */
  | { kind: 'unavailable'; reason: string };

export interface Backoff {
  until: number;
  delayMs: number;
  reason: string;
}

export interface OAuthState {
  /** The account this is about (name, URL, client): a removed and re-added name starts afresh. */
  identity: string;
  /** The access token we hold (from the store, a refresh or a login). */
  access?: AccessToken;
  /** Why Bitbucket refused the refresh token: no refresh is tried again until a login. */
  needsLogin?: string;
  /** The token endpoint failed: no refresh before `until`. */
  backoff?: Backoff;
  /** A rotated refresh token not yet in the store: it is the one to use, and to store again. */
  unsavedRefresh?: string;
}

export const BACKOFF_START_MS = 1000;
export const BACKOFF_MAX_MS = 60_000;
export const NOT_LOGGED_IN = 'it has not logged in with OAuth yet';

/** Only these mean the grant itself is gone or the client is refused: retrying cannot help. */
const NEEDS_LOGIN_ERRORS: ReadonlySet<string> = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client']);

/** The state a daemon starts from: what the store and the state file say. */
export function loadedState(identity: string, stored: AccessToken | undefined, needsLogin: string | undefined): OAuthState {
  return { identity, ...(stored && { access: stored }), ...(needsLogin !== undefined && { needsLogin }) };
}

export type Plan = { kind: 'answer'; result: AccessTokenResult } | { kind: 'refresh' };

/** What a get does now: hand out the token held, refresh, or answer without trying. */
export function plan(state: OAuthState, now: number, marginMs: number): Plan {
  const { access, needsLogin, backoff } = state;
  if (access && access.expiresAt - now > marginMs) return answer(tokenResult(access));
  if (needsLogin !== undefined) return answer({ kind: 'needs-login', reason: rejectedReason(needsLogin) });
  if (backoff && now < backoff.until) {
    const stillValid = validAt(access, now);
    return answer(stillValid ? tokenResult(stillValid) : { kind: 'unavailable', reason: `${backoff.reason}; next try in ${Math.ceil((backoff.until - now) / 1000)} s` });
  }
  return { kind: 'refresh' };
}

export type RefreshOutcome =
  | { kind: 'issued'; access: AccessToken; refreshToken?: string }
  /** The grant or the client was refused: only a login helps. */
  | { kind: 'rejected'; code: string; reason: string }
  /** Network, 5xx, an unusable answer: try again later, keep everything. */
  | { kind: 'failed'; reason: string };

/** The outcome a token endpoint error stands for; undefined for a bug (not an OAuth failure). */
export function refreshFailure(error: unknown): RefreshOutcome | undefined {
  if (error instanceof OAuthRejectedError && NEEDS_LOGIN_ERRORS.has(error.code)) return { kind: 'rejected', code: error.code, reason: error.message };
  if (error instanceof OAuthRejectedError || error instanceof OAuthUnavailableError) return { kind: 'failed', reason: error.message };
  return undefined;
}

export interface AfterRefresh {
  state: OAuthState;
  result: AccessTokenResult;
  /** A new refresh token Bitbucket issued: to be stored before the access token is handed out. */
  rotated?: string;
}

/** What a refresh made with `used` leads to. */
export function afterRefresh(state: OAuthState, used: string, outcome: RefreshOutcome, now: number): AfterRefresh {
  switch (outcome.kind) {
    case 'issued': {
      const rotated = outcome.refreshToken !== undefined && outcome.refreshToken !== used ? outcome.refreshToken : undefined;
      const { backoff: _backoff, needsLogin: _needsLogin, unsavedRefresh, ...rest } = state;
      const pending = rotated ?? unsavedRefresh;
      return { state: { ...rest, access: outcome.access, ...(pending !== undefined && { unsavedRefresh: pending }) }, result: tokenResult(outcome.access), ...(rotated !== undefined && { rotated }) };
    }
    case 'rejected': {
      const { backoff: _backoff, ...rest } = state;
      return { state: { ...rest, needsLogin: outcome.reason }, result: { kind: 'needs-login', reason: rejectedReason(outcome.reason) } };
    }
    case 'failed': {
      const delayMs = Math.min(BACKOFF_MAX_MS, state.backoff ? state.backoff.delayMs * 2 : BACKOFF_START_MS);
      const stillValid = validAt(state.access, now);
      return {
        state: { ...state, backoff: { until: now + delayMs, delayMs, reason: outcome.reason } },
        result: stillValid ? tokenResult(stillValid) : { kind: 'unavailable', reason: outcome.reason },
      };
    }
  }
}

/** The store took the rotated refresh token `saved`: nothing is pending any more (unless a newer one is). */
export function refreshTokenSaved(state: OAuthState, saved: string): OAuthState {
  if (state.unsavedRefresh !== saved) return state;
  const { unsavedRefresh: _saved, ...rest } = state;
  return rest;
}

/** A login replaces everything: a new grant has no history. */
export function afterLogin(identity: string, access: AccessToken): OAuthState {
  return { identity, access };
}

/** git's erase of our access token (a 401): drop only that token; the next get refreshes. */
export function afterErase(state: OAuthState): OAuthState {
  const { access: _access, ...rest } = state;
  return rest;
}

function answer(result: AccessTokenResult): Plan {
  return { kind: 'answer', result };
}

function tokenResult(access: AccessToken): AccessTokenResult {
  return { kind: 'token', token: access.token, expiresAt: access.expiresAt };
}

function validAt(access: AccessToken | undefined, now: number): AccessToken | undefined {
  return access && access.expiresAt > now ? access : undefined;
}

function rejectedReason(reason: string): string {
  return `OAuth refresh was rejected (${reason})`;
}
