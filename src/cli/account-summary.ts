// One account as `status` and `account list` show it: settings, which authentication is in use,
// and what the daemon learnt. Never a secret: only whether one is stored. A secret store that
// cannot be read (keychain unreachable or locked, a headless machine) hides nothing else: what
// needs the store is marked unknown (null, shown as UNKNOWN_MARK) and the problem is named.

import { needsLogin, readAccountStates } from '../core/account-state.js';
import type { CommitIdentity } from '../core/accounts.js';
import type { Config } from '../core/config.js';
import { WARN_DAYS, expiryNotice } from '../core/expiry.js';
import { describeSecretKind } from '../core/hosts/host.js';
import { SecretStoreError, type SecretRef, type SecretStore } from '../core/secrets/secret-store.js';
import { describeSecretEnv } from '../core/secrets/env-secret.js';
import { parseStoredAccessToken } from '../core/oauth/stored-token.js';
import type { ProductPaths } from '../shared/paths.js';

export interface AccountSummary {
  name: string;
  kind: string;
  url: string;
  username: string;
  /** The authentication git gets now: OAuth, the static secret (first choice or fallback), none, or unknown (store unreadable). */
  method: 'oauth' | 'static' | 'none' | 'unknown';
  secretKind: string | null;
  /** The environment variable holding the static secret, when it is not in the store. */
  secretEnv: string | null;
  /** Stored, or (secretEnv) set in this process's environment; null: not known, the secret store cannot be read (secretStoreProblem says why). */
  secretStored: boolean | null;
  secretExpiresAt: string | null;
  /** Set when the static secret expires within two weeks or has expired. */
  expiryWarning: string | null;
  oauth: null | {
    clientId: string;
    /** null: not known, the secret store cannot be read. */
    needsLogin: boolean | null;
    needsLoginReason: string | null;
    accessExpiresAt: string | null;
    lastRefreshAt: string | null;
  };
  rejectedAt: string | null;
  rejectedPath: string | null;
  lastSuccessAt: string | null;
  /** The commit author for its repositories (account set-identity), or null for git's own. */
  identity: CommitIdentity | null;
  /** Why the fields that need the secret store are unknown (null when it was read). */
  secretStoreProblem: string | null;
}

/** How `status` and `account list` show a fact that needs the unreadable secret store. */
export const UNKNOWN_MARK = '?';

export async function summariseAccounts(config: Config, store: SecretStore, paths: ProductPaths): Promise<AccountSummary[]> {
  const states = readAccountStates(paths.stateFile);
  // One failed look is enough: every further call would wait out the same timeout.
  let problem: string | null = null;
  let refs: SecretRef[] = [];
  // Accounts whose secrets all come from the environment (a CI runner) need no store, which there may be none of.
  const storeUsed = config.accounts.some((account) => !account.secretEnv || account.oauth);
  try {
    if (storeUsed) refs = await store.list();
  } catch (error) {
    if (!(error instanceof SecretStoreError)) throw error;
    problem = error.message;
  }
  const stored = new Set(refs.map((ref) => `${ref.account}/${ref.slot}`));
  /** A read that fails (the keychain locked meanwhile) makes this and the later accounts unknown. */
  const read = async (ref: SecretRef): Promise<string | undefined> => {
    if (problem !== null) return undefined;
    try {
      return await store.get(ref);
    } catch (error) {
      if (!(error instanceof SecretStoreError)) throw error;
      problem = error.message;
      return undefined;
    }
  };
  const summaries: AccountSummary[] = [];
  for (const account of config.accounts) {
    const state = states.get(account.name) ?? {};
    let oauth: AccountSummary['oauth'] = null;
    if (account.oauth) {
      const refresh = await read({ account: account.name, slot: 'oauth-refresh' });
      const access = storedExpiry(await read({ account: account.name, slot: 'oauth-access' }));
      const blocked = problem === null ? needsLogin(state, refresh) : null;
      oauth = {
        clientId: account.oauth.clientId,
        needsLogin: blocked,
        needsLoginReason: blocked ? (refresh === undefined ? 'not logged in yet' : (state.needsLogin?.reason ?? null)) : null,
        accessExpiresAt: access ?? state.accessExpiresAt ?? null,
        lastRefreshAt: state.lastRefreshAt ?? null,
      };
    }
    const secretStored = account.secretEnv ? Boolean(process.env[account.secretEnv]) : problem === null ? stored.has(`${account.name}/static`) : null;
    summaries.push({
      name: account.name,
      kind: account.kind,
      url: account.url,
      username: account.username,
      method: problem !== null && !account.secretEnv ? 'unknown' : oauth && !oauth.needsLogin ? 'oauth' : account.secretKind && secretStored ? 'static' : 'none',
      secretKind: account.secretKind ?? null,
      secretEnv: account.secretEnv ?? null,
      secretStored,
      secretExpiresAt: account.secretExpiresAt ?? null,
      expiryWarning: expiryNotice(account, WARN_DAYS)?.message ?? null,
      oauth,
      rejectedAt: state.rejectedAt ?? null,
      rejectedPath: state.rejectedPath ?? null,
      lastSuccessAt: state.lastSuccessAt ?? null,
      identity: account.identity ?? null,
      secretStoreProblem: problem,
    });
  }
  return summaries;
}

/** The problem that made some of the summaries unknown, if any. */
export function secretStoreProblemOf(summaries: readonly AccountSummary[]): string | null {
  return summaries.find((summary) => summary.secretStoreProblem !== null)?.secretStoreProblem ?? null;
}

/** How much `describeAuth` says: everything (`status`, the ui page) or a few words (the AUTH column of `account list`). */
export type AuthDetail = 'full' | 'brief';

type OAuthState = 'unknown' | 'needs-login' | 'logged-in';
type OAuthSummary = NonNullable<AccountSummary['oauth']>;

/** The words of one detail level; which of them apply is decided in describeAuth alone. */
interface AuthWords {
  expires(day: string): string;
  expiring(day: string, warning: string): string;
  fromEnv(variable: string, set: boolean): string;
  storedUnknown: string;
  missing: string;
  oauth: Record<OAuthState, (oauth: OAuthSummary, account: string) => string>;
  /** OAuth and the static secret together; `inUse`: the static secret is what git gets now. */
  withStatic(oauth: string, fixed: string, state: OAuthState, inUse: boolean): string;
}

const refreshed = (oauth: OAuthSummary) => (oauth.lastRefreshAt ? `, last refresh ${oauth.lastRefreshAt}` : '');

const WORDS: Record<AuthDetail, AuthWords> = {
  // "OAuth, access token until …; API token as fallback" and the like.
  full: {
    expires: (day) => ` (expires ${day})`,
    expiring: (_day, warning) => ` — WARNING: ${warning}`,
    fromEnv: (variable) => ` ${describeSecretEnv(variable, process.env)}`,
    storedUnknown: ` (stored: ${UNKNOWN_MARK})`,
    missing: ' (MISSING from the store)',
    oauth: {
      unknown: (oauth) => `OAuth (logged in: ${UNKNOWN_MARK})${refreshed(oauth)}`,
      'needs-login': (oauth, account) => `OAuth NEEDS LOGIN (${oauth.needsLoginReason ?? 'refresh rejected'}): run \`git-credential-bitbucket login ${account}\``,
      'logged-in': (oauth) => `OAuth${oauth.accessExpiresAt ? `, access token until ${oauth.accessExpiresAt}` : ''}${refreshed(oauth)}`,
    },
    withStatic: (oauth, fixed, _state, inUse) => `${oauth}; ${fixed} as fallback${inUse ? ' (in use)' : ''}`,
  },
  // A few words, so that one OAuth account does not widen the table past a terminal
  // ("OAuth + API token"); `status` and `--json` carry the details.
  brief: {
    expires: (day) => `, expires ${day}`,
    expiring: (day) => `, EXPIRES ${day}`,
    fromEnv: (variable, set) => ` from $${variable}${set ? '' : ' NOT SET'}`,
    storedUnknown: ` ${UNKNOWN_MARK}`,
    missing: ' MISSING',
    oauth: { unknown: () => `OAuth ${UNKNOWN_MARK}`, 'needs-login': () => 'OAuth NEEDS LOGIN', 'logged-in': () => 'OAuth' },
    withStatic: (oauth, fixed, state, inUse) => (state === 'needs-login' ? `${oauth}; ${fixed}${inUse ? ' in use' : ''}` : `${oauth} + ${fixed}`),
  },
};

/** The authentication git gets for the account: OAuth, the static secret (where it is, when it expires), or both. */
export function describeAuth(summary: AccountSummary, detail: AuthDetail = 'full'): string {
  const words = WORDS[detail];
  const fixed = summary.secretKind ? `${describeSecretKind(summary.secretKind as Parameters<typeof describeSecretKind>[0])}${secretSource(summary, words)}${secretExpiry(summary, words)}` : null;
  if (!summary.oauth) return fixed ?? 'no secret';
  const state: OAuthState = summary.oauth.needsLogin === null ? 'unknown' : summary.oauth.needsLogin ? 'needs-login' : 'logged-in';
  const oauth = words.oauth[state](summary.oauth, summary.name);
  return fixed ? words.withStatic(oauth, fixed, state, summary.method === 'static') : oauth;
}

function secretSource(summary: AccountSummary, words: AuthWords): string {
  if (summary.secretEnv) return words.fromEnv(summary.secretEnv, summary.secretStored === true);
  if (summary.secretStored === null) return words.storedUnknown;
  return summary.secretStored ? '' : words.missing;
}

function secretExpiry(summary: AccountSummary, words: AuthWords): string {
  // expiryWarning is only ever set with secretExpiresAt (core/expiry.ts).
  if (!summary.secretExpiresAt) return '';
  const day = summary.secretExpiresAt.slice(0, 10);
  return summary.expiryWarning ? words.expiring(day, summary.expiryWarning) : words.expires(day);
}

export function describeState(summary: AccountSummary): string {
  if (summary.rejectedAt) return `REJECTED at ${summary.rejectedAt}${summary.rejectedPath ? ` for ${summary.rejectedPath}` : ''}`;
  return summary.lastSuccessAt ? `last success ${summary.lastSuccessAt}` : 'not used yet';
}

/** The expiry of the stored access token (written by the daemon at login and at each refresh). */
function storedExpiry(value: string | undefined): string | undefined {
  const access = parseStoredAccessToken(value);
  return access && new Date(access.expiresAt).toISOString();
}
