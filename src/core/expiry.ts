// Static secrets with an expiry date (Cloud API tokens and Data Center access tokens have one):
// `status` and `doctor` warn two weeks ahead, the helper adds a note to git's output in the last
// three days, so nobody learns of an expiry from a failed push.

import { ValidationError, type Account } from './accounts.js';
import { describeSecretKind } from './hosts/host.js';

export const WARN_DAYS = 14;
export const HELPER_NOTE_DAYS = 3;
const DAY_MS = 24 * 3600 * 1000;

/** `--expires 2026-12-31` (a date: the start of that day, UTC) or a full ISO timestamp. */
export function parseExpiry(input: string): string {
  const text = input.trim();
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime())) {
    throw new ValidationError(`--expires ${JSON.stringify(input)}: give the date the secret expires, as YYYY-MM-DD`);
  }
  return date.toISOString();
}

export interface ExpiryNotice {
  /** Whole days left (negative once expired). */
  daysLeft: number;
  expired: boolean;
  problem: string;
  fix: string;
  /** problem and fix in one line, as the helper and status print it. */
  message: string;
}

/** A notice when the account's static secret expires within `withinDays`, else undefined. */
export function expiryNotice(account: Account, withinDays: number, now = Date.now()): ExpiryNotice | undefined {
  if (!account.secretExpiresAt || !account.secretKind) return undefined;
  const left = Date.parse(account.secretExpiresAt) - now;
  if (left > withinDays * DAY_MS) return undefined;
  const daysLeft = Math.floor(left / DAY_MS);
  const what = `the ${describeSecretKind(account.secretKind)} of account ${account.name}`;
  const day = account.secretExpiresAt.slice(0, 10);
  const fix = `create a new one and run \`git-credential-bitbucket account set-secret ${account.name} --secret-stdin --expires YYYY-MM-DD\``;
  const problem = left <= 0 ? `${what} expired on ${day}` : `${what} expires on ${day} (in ${daysLeft < 1 ? 'less than a day' : `${daysLeft} day${daysLeft === 1 ? '' : 's'}`})`;
  return { daysLeft, expired: left <= 0, problem, fix, message: `${problem}; ${fix}` };
}
