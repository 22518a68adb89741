// What the daemon has learnt about each account (last rejection, last success), kept in the
// state directory so `status` can show it. The daemon is the only writer.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PrivateFileError, writeFileAtomic } from './files.js';

export interface AccountStatus {
  /** When Bitbucket last refused this account's secret (git's `erase`). */
  rejectedAt?: string;
  /** The repository path that was refused, when git sent one. */
  rejectedPath?: string;
  /** When git last reported success with this account's secret (git's `store`). */
  lastSuccessAt?: string;
  /** When the daemon last refreshed the OAuth access token, and until when that one is valid. */
  lastRefreshAt?: string;
  accessExpiresAt?: string;
  /**
   * Bitbucket refused the refresh token: the account needs `login`. Tied to a fingerprint of
   * that token, so a later login (a new token, stored by the CLI) ends it without a second writer.
   */
  needsLogin?: { at: string; reason: string; refreshFingerprint: string };
}

/** A short one-way fingerprint of a refresh token; never the token. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/** Whether the account needs `login`, given the refresh token the store holds now. */
export function needsLogin(status: AccountStatus, currentRefreshToken: string | undefined): boolean {
  if (currentRefreshToken === undefined) return true;
  return status.needsLogin !== undefined && status.needsLogin.refreshFingerprint === tokenFingerprint(currentRefreshToken);
}

/** Keyed by account name; a Map so that any valid name is just a key. */
export type AccountStates = Map<string, AccountStatus>;

export function readAccountStates(file: string): AccountStates {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return new Map();
    return new Map(Object.entries(parsed as Record<string, AccountStatus>));
  } catch {
    // Missing or damaged state only loses history, never a secret or a setting.
    return new Map();
  }
}

export class AccountStateBook {
  private readonly states: AccountStates;

  constructor(private readonly file: string) {
    this.states = readAccountStates(file);
  }

  get(account: string): AccountStatus {
    return this.states.get(account) ?? {};
  }

  markRejected(account: string, path: string | undefined, at = new Date()): void {
    const status: AccountStatus = { ...this.get(account), rejectedAt: at.toISOString() };
    if (path) status.rejectedPath = path;
    else delete status.rejectedPath;
    this.states.set(account, status);
    this.save();
  }

  markSucceeded(account: string, at = new Date()): void {
    const previous = this.get(account);
    // A store follows every successful operation: rewrite the file at most once a minute.
    if (!previous.rejectedAt && previous.lastSuccessAt && at.getTime() - Date.parse(previous.lastSuccessAt) < 60_000) return;
    const { rejectedAt: _rejectedAt, rejectedPath: _rejectedPath, ...rest } = previous;
    this.states.set(account, { ...rest, lastSuccessAt: at.toISOString() });
    this.save();
  }

  markRefreshed(account: string, expiresAt: number, at = new Date()): void {
    const { needsLogin: _needsLogin, ...rest } = this.get(account);
    this.states.set(account, { ...rest, lastRefreshAt: at.toISOString(), accessExpiresAt: new Date(expiresAt).toISOString() });
    this.save();
  }

  markNeedsLogin(account: string, refreshToken: string, reason: string, at = new Date()): void {
    this.states.set(account, { ...this.get(account), needsLogin: { at: at.toISOString(), reason, refreshFingerprint: tokenFingerprint(refreshToken) } });
    this.save();
  }

  private save(): void {
    try {
      writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.states), null, 2) + '\n');
    } catch (error) {
      // History only, kept in memory and written whole by the next save: a full disk must not
      // turn a refresh that worked into a failed request.
      if (!(error instanceof PrivateFileError)) throw error;
    }
  }
}
