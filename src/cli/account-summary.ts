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

/** "OAuth (token until …), API token as fallback" and the like. */
export function describeAuth(summary: AccountSummary): string {
  const expiry = summary.expiryWarning ? ` — WARNING: ${summary.expiryWarning}` : summary.secretExpiresAt ? ` (expires ${summary.secretExpiresAt.slice(0, 10)})` : '';
  const source = summary.secretEnv
    ? ` ${describeSecretEnv(summary.secretEnv, process.env)}`
    : summary.secretStored === null
      ? ` (stored: ${UNKNOWN_MARK})`
      : summary.secretStored
        ? ''
        : ' (MISSING from the store)';
  const fixed = summary.secretKind ? `${describeSecretKind(summary.secretKind as Parameters<typeof describeSecretKind>[0])}${source}${expiry}` : null;
  if (!summary.oauth) return fixed ?? 'no secret';
  const oauth = summary.oauth.needsLogin === null
    ? `OAuth (logged in: ${UNKNOWN_MARK})${summary.oauth.lastRefreshAt ? `, last refresh ${summary.oauth.lastRefreshAt}` : ''}`
    : summary.oauth.needsLogin
    ? `OAuth NEEDS LOGIN (${summary.oauth.needsLoginReason ?? 'refresh rejected'}): run \`git-credential-bitbucket login ${summary.name}\``
    : `OAuth${summary.oauth.accessExpiresAt ? `, access token until ${summary.oauth.accessExpiresAt}` : ''}${summary.oauth.lastRefreshAt ? `, last refresh ${summary.oauth.lastRefreshAt}` : ''}`;
  return fixed ? `${oauth}; ${fixed} as fallback${summary.method === 'static' ? ' (in use)' : ''}` : oauth;
}

/**
 * The AUTH column of `account list`: a few words, so that one OAuth account does not widen the
 * table past a terminal ("OAuth + API token"); `status` and `--json` carry the details.
 */
export function describeAuthBriefly(summary: AccountSummary): string {
  const expiry = summary.secretExpiresAt ? `, ${summary.expiryWarning ? 'EXPIRES' : 'expires'} ${summary.secretExpiresAt.slice(0, 10)}` : '';
  const source = summary.secretEnv
    ? ` from $${summary.secretEnv}${summary.secretStored ? '' : ' NOT SET'}`
    : summary.secretStored === null
      ? ` ${UNKNOWN_MARK}`
      : summary.secretStored
        ? ''
        : ' MISSING';
  const fixed = summary.secretKind ? `${describeSecretKind(summary.secretKind as Parameters<typeof describeSecretKind>[0])}${source}${expiry}` : null;
  if (!summary.oauth) return fixed ?? 'no secret';
  if (summary.oauth.needsLogin === null) return fixed ? `OAuth ${UNKNOWN_MARK} + ${fixed}` : `OAuth ${UNKNOWN_MARK}`;
  if (!summary.oauth.needsLogin) return fixed ? `OAuth + ${fixed}` : 'OAuth';
  return fixed ? `OAuth NEEDS LOGIN; ${fixed}${summary.method === 'static' ? ' in use' : ''}` : 'OAuth NEEDS LOGIN';
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
