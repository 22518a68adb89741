// Verifies the credentials a saved account hands git: its static secret (read from the store) and
// its OAuth token (asked of the daemon, which owns refreshing it: a second refresher would spend
// a rotating refresh token behind the daemon's back). Shared by `account verify`, `route suggest`
// and `doctor`.

import type { ProductPaths } from '../shared/paths.js';
import { basePathOf, parseRoutePattern, type Account } from '../core/accounts.js';
import type { Config } from '../core/config.js';
import { describeSecretKind, hostFor } from '../core/hosts/host.js';
import type { SecretStore } from '../core/secrets/secret-store.js';
import { DaemonUnavailableError, exchange } from '../client/daemon-client.js';
import { verifyCredential } from '../core/hosts/verify-credential.js';
import { savedAccountHints, type Check, type ProbeCredential, type ProblemCode, type VerifyResult } from '../core/hosts/rest/verification.js';

export interface CredentialVerification {
  account: string;
  /** "API token", "OAuth", …: which of the account's credentials this is about. */
  credential: string;
  status: 'pass' | 'fail' | 'skipped';
  code?: ProblemCode | 'no-secret' | 'unusable-secret' | 'oauth';
  message?: string;
  user?: string;
  checks: Check[];
}

export type CredentialSource = { label: string; credential: ProbeCredential } | { label: string; problem: CredentialVerification };

/** The credentials of an account, as git would get them; `daemon: false` leaves OAuth unchecked. */
export async function accountCredentials(account: Account, store: SecretStore, paths: ProductPaths, daemon: boolean): Promise<CredentialSource[]> {
  const sources: CredentialSource[] = [];
  const host = hostFor(account.kind);
  if (account.oauth) {
    const label = 'OAuth';
    if (!daemon) {
      sources.push({ label, problem: { account: account.name, credential: label, status: 'skipped', message: 'not checked: the daemon is not running', checks: [] } });
    } else {
      const answer = await exchange(paths, { type: 'oauth-token', account: account.name }, { autoStart: true }).catch((error: unknown) => {
        if (error instanceof DaemonUnavailableError) return { type: 'error' as const, message: `not checked: ${error.message}` };
        throw error;
      });
      if (answer.type === 'oauth-token' && answer.ok) {
        sources.push({ label, credential: { kind: 'oauth', username: answer.username, secret: answer.token } });
      } else {
        const message = answer.type === 'oauth-token' && !answer.ok ? answer.problem : answer.type === 'error' ? answer.message : 'unexpected answer from the daemon';
        sources.push({ label, problem: { account: account.name, credential: label, status: 'fail', code: 'oauth', message, checks: [] } });
      }
    }
  }
  if (account.secretKind) {
    const label = describeSecretKind(account.secretKind);
    const unusable = host.unusableSecretReason(account.secretKind);
    const secret = unusable ? undefined : await store.get({ account: account.name, slot: 'static' });
    if (unusable || secret === undefined) {
      const message = unusable ?? `no secret in the ${store.name} store: \`git-credential-bitbucket account set-secret ${account.name} --secret-stdin\``;
      sources.push({ label, problem: { account: account.name, credential: label, status: 'fail', code: unusable ? 'unusable-secret' : 'no-secret', message, checks: [] } });
    } else {
      sources.push({ label, credential: { kind: account.secretKind, username: host.gitUsername(account, account.secretKind), secret } });
    }
  }
  return sources;
}

export async function verifySavedAccount(account: Account, config: Config, store: SecretStore, paths: ProductPaths, daemon: boolean): Promise<CredentialVerification[]> {
  const results: CredentialVerification[] = [];
  for (const source of await accountCredentials(account, store, paths, daemon)) {
    if ('problem' in source) {
      results.push(source.problem);
      continue;
    }
    const result = await verifyCredential({ account, credential: source.credential, hints: routeSpaces(account, config), ...savedAccountHints(account.name) });
    results.push(describeResult(account.name, source.label, result));
  }
  if (results.length === 0) {
    results.push({ account: account.name, credential: 'none', status: 'fail', code: 'no-secret', message: `account ${account.name} has no secret and no OAuth client`, checks: [] });
  }
  return results;
}

export function describeResult(account: string, credential: string, result: VerifyResult): CredentialVerification {
  return {
    account,
    credential,
    status: result.ok ? 'pass' : 'fail',
    ...(!result.ok && { code: result.code, message: result.message }),
    ...(result.ok && result.user !== undefined && { user: result.user }),
    checks: result.checks,
  };
}

/** The workspaces (Cloud) or project keys (Data Center) the account's routes name. */
export function routeSpaces(account: Account, config: Config): string[] {
  const base = basePathOf(account.url).split('/').filter(Boolean).length;
  const spaces = new Set<string>();
  for (const route of config.routes.filter((candidate) => candidate.account === account.name)) {
    const segments = parseRoutePattern(route.pattern).path.split('/').filter(Boolean).slice(base);
    const space = hostFor(account.kind).spaceOfPath(segments);
    if (space && !space.includes('*')) spaces.add(space);
  }
  return [...spaces];
}

/** Lines for people: one headline per credential, then its checks. */
export function describeVerifications(results: CredentialVerification[]): string {
  const lines: string[] = [];
  for (const result of results) {
    const headline = result.status === 'pass' ? 'OK' : result.status === 'skipped' ? 'not checked' : 'FAILED';
    lines.push(`${result.account} — ${result.credential}: ${headline}${result.user ? ` (user ${result.user})` : ''}`);
    for (const check of result.checks) lines.push(`  ${check.status === 'pass' ? 'ok  ' : 'warn'} ${check.name}: ${check.detail}`);
    if (result.message) lines.push(`  ${result.status === 'fail' ? 'FAIL' : 'note'} ${result.message}`);
  }
  return lines.join('\n') + '\n';
}
