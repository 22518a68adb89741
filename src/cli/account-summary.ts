// One account as `status` and `account list` show it: settings, which authentication is in use,
// and what the daemon learnt. Never a secret: only whether one is stored.

import { needsLogin, readAccountStates } from '../core/account-state.js';
import type { CommitIdentity } from '../core/accounts.js';
import type { Config } from '../core/config.js';
import { WARN_DAYS, expiryNotice } from '../core/expiry.js';
import { describeSecretKind } from '../core/hosts/host.js';
import type { SecretStore } from '../core/secrets/secret-store.js';
import { describeSecretEnv } from '../core/secrets/env-secret.js';
import { parseStoredAccessToken } from '../core/oauth/stored-token.js';
import type { ProductPaths } from '../shared/paths.js';

export interface AccountSummary {
  name: string;
  kind: string;
  url: string;
  username: string;
  /** The authentication git gets now: OAuth, the static secret (first choice or fallback), or none. */
  method: 'oauth' | 'static' | 'none';
  secretKind: string | null;
  /** The environment variable holding the static secret, when it is not in the store. */
  secretEnv: string | null;
  /** Stored, or (secretEnv) set in this process's environment. */
  secretStored: boolean;
  secretExpiresAt: string | null;
  /** Set when the static secret expires within two weeks or has expired. */
  expiryWarning: string | null;
  oauth: null | {
    clientId: string;
    needsLogin: boolean;
    needsLoginReason: string | null;
    accessExpiresAt: string | null;
    lastRefreshAt: string | null;
  };
  rejectedAt: string | null;
  rejectedPath: string | null;
  lastSuccessAt: string | null;
  /** The commit author for its repositories (account set-identity), or null for git's own. */
  identity: CommitIdentity | null;
}

export async function summariseAccounts(config: Config, store: SecretStore, paths: ProductPaths): Promise<AccountSummary[]> {
  const states = readAccountStates(paths.stateFile);
  // Accounts whose secrets all come from the environment (a CI runner) need no store, which there may be none of.
  const storeUsed = config.accounts.some((account) => !account.secretEnv || account.oauth);
  const stored = new Set(storeUsed ? (await store.list()).map((ref) => `${ref.account}/${ref.slot}`) : []);
  const summaries: AccountSummary[] = [];
  for (const account of config.accounts) {
    const state = states.get(account.name) ?? {};
    const secretStored = account.secretEnv ? Boolean(process.env[account.secretEnv]) : stored.has(`${account.name}/static`);
    let oauth: AccountSummary['oauth'] = null;
    if (account.oauth) {
      const refresh = await store.get({ account: account.name, slot: 'oauth-refresh' });
      const blocked = needsLogin(state, refresh);
      oauth = {
        clientId: account.oauth.clientId,
        needsLogin: blocked,
        needsLoginReason: blocked ? (refresh === undefined ? 'not logged in yet' : (state.needsLogin?.reason ?? null)) : null,
        accessExpiresAt: storedExpiry(await store.get({ account: account.name, slot: 'oauth-access' })) ?? state.accessExpiresAt ?? null,
        lastRefreshAt: state.lastRefreshAt ?? null,
      };
    }
    summaries.push({
      name: account.name,
      kind: account.kind,
      url: account.url,
      username: account.username,
      method: oauth && !oauth.needsLogin ? 'oauth' : account.secretKind && secretStored ? 'static' : 'none',
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
    });
  }
  return summaries;
}

/** "OAuth (token until …), API token as fallback" and the like. */
export function describeAuth(summary: AccountSummary): string {
  const expiry = summary.expiryWarning ? ` — WARNING: ${summary.expiryWarning}` : summary.secretExpiresAt ? ` (expires ${summary.secretExpiresAt.slice(0, 10)})` : '';
  const source = summary.secretEnv ? ` ${describeSecretEnv(summary.secretEnv, process.env)}` : summary.secretStored ? '' : ' (MISSING from the store)';
  const fixed = summary.secretKind ? `${describeSecretKind(summary.secretKind as Parameters<typeof describeSecretKind>[0])}${source}${expiry}` : null;
  if (!summary.oauth) return fixed ?? 'no secret';
  const oauth = summary.oauth.needsLogin
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
  const source = summary.secretEnv ? ` from $${summary.secretEnv}${summary.secretStored ? '' : ' NOT SET'}` : summary.secretStored ? '' : ' MISSING';
  const fixed = summary.secretKind ? `${describeSecretKind(summary.secretKind as Parameters<typeof describeSecretKind>[0])}${source}${expiry}` : null;
  if (!summary.oauth) return fixed ?? 'no secret';
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
