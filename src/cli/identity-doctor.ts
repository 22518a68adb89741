// doctor's look at the repository it runs in: which account each Bitbucket remote routes to,
// which author git will put on a commit here (git's own answer, includes and all), and whether
// that is the account's commit identity. A user.email set after install's includes, in the
// repository or a later line of ~/.gitconfig, wins over them; git names the file that did.

import { spawnSync } from 'node:child_process';
import { describeIdentity, type Account, type CommitIdentity } from '../core/accounts.js';
import type { Config } from '../core/config.js';
import { routeRequest } from '../core/router.js';

export interface IdentityCheck {
  check: string;
  pass: boolean;
  detail: string;
  fix?: string;
}

interface RoutedRemote {
  remote: string;
  url: string;
  account?: Account;
  /** Why the account, or why none. */
  reason: string;
}

const CHECK = 'identity (this repository)';

/** No check outside a git work tree or in a repository without a Bitbucket remote of ours. */
export function repositoryIdentityChecks(config: Config, cwd: string = process.cwd()): IdentityCheck[] {
  if (git(cwd, ['rev-parse', '--is-inside-work-tree']).stdout.trim() !== 'true') return [];
  const remotes = routedRemotes(config, cwd);
  if (remotes.length === 0) return [];
  const shown = remotes.map((entry) => `${entry.remote} ${entry.url} → ${entry.account ? `account ${entry.account.name} (${entry.reason})` : `no account: ${entry.reason}`}`);
  const unrouted = remotes.find((entry) => !entry.account);
  if (unrouted) return [{ check: CHECK, pass: false, detail: shown.join('; '), fix: 'add the route the line names, then run this again' }];
  const accounts = [...new Map(remotes.map((entry) => [entry.account!.name, entry.account!])).values()];
  const used = { name: configured(cwd, 'user.name'), email: configured(cwd, 'user.email') };
  const commitsAs = `git commits here as ${describeIdentity({ name: used.name?.value ?? '(no user.name)', email: used.email?.value ?? '(no user.email)' })}`;
  const identities = new Set(accounts.map((account) => (account.identity ? describeIdentity(account.identity) : '')));
  if (identities.size > 1) {
    return [{
      check: CHECK,
      pass: false,
      detail: `${shown.join('; ')}: the remotes route to accounts with different commit identities; ${commitsAs}`,
      fix: 'set the author for this repository yourself: git config user.email ADDRESS (and user.name)',
    }];
  }
  const account = accounts[0]!;
  if (!account.identity) {
    const borrowed = config.accounts.find((other) => other.identity?.email !== undefined && other.identity.email === used.email?.value);
    if (!borrowed) return [{ check: CHECK, pass: true, detail: `${shown.join('; ')}; account ${account.name} has no commit identity; ${commitsAs}${origin(used.email)}` }];
    return [{
      check: CHECK,
      pass: false,
      detail: `${shown.join('; ')}; ${commitsAs}, the identity of account ${borrowed.name}, though account ${account.name} has none`,
      fix: `git-credential-bitbucket account set-identity ${account.name} --name "Full Name" --email ADDRESS`,
    }];
  }
  const wrong = (['name', 'email'] as const).filter((field) => account.identity![field] !== undefined && account.identity![field] !== used[field]?.value);
  if (wrong.length === 0) return [{ check: CHECK, pass: true, detail: `${shown.join('; ')}; ${commitsAs}, the identity of account ${account.name}` }];
  const sources = wrong.map((field) => used[field]?.origin).filter((source): source is string => source !== undefined && !source.includes('/identities/'));
  return [{
    check: CHECK,
    pass: false,
    detail: `${shown.join('; ')}; ${commitsAs}${origin(used[wrong[0]!])}, not ${describeIdentity(account.identity)} of account ${account.name}`,
    fix: sources.length
      ? `remove user.${wrong.join('/user.')} from ${[...new Set(sources)].join(', ')} (it wins over the identity include), or run \`git-credential-bitbucket install\` again to put the includes after it`
      : 'git-credential-bitbucket install (it writes the includes that give repositories their account identity; git 2.36 or newer)',
  }];
}

/** Every remote URL git would talk to over http(s) whose host is one of ours, with its routing decision. */
function routedRemotes(config: Config, cwd: string): RoutedRemote[] {
  const listed = git(cwd, ['config', '--null', '--get-regexp', '^remote\\..*\\.url$']).stdout.split('\0').filter(Boolean);
  const remotes: RoutedRemote[] = [];
  for (const record of listed) {
    const newline = record.indexOf('\n');
    const remote = record.slice('remote.'.length, newline).replace(/\.url$/, '');
    const url = record.slice(newline + 1);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      continue; // scp-like SSH (git@host:path) or a local path: not ours
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') continue;
    const decision = routeRequest(
      { protocol: parsed.protocol.slice(0, -1), host: parsed.host, path: decodeURIComponent(parsed.pathname.replace(/^\/+/, '')), username: parsed.username ? decodeURIComponent(parsed.username) : undefined },
      config,
    );
    // Shown without its user part: CI scripts put tokens there.
    const shown = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
    if (decision.kind === 'account') remotes.push({ remote, url: shown, account: decision.account, reason: decision.reason });
    else if (decision.kind === 'unresolved') remotes.push({ remote, url: shown, reason: decision.message });
  }
  return remotes;
}

/** A value as git resolves it here (includes applied) and the file it comes from. */
function configured(cwd: string, key: `user.${keyof CommitIdentity}`): { value: string; origin: string } | undefined {
  const result = git(cwd, ['config', '--show-origin', '--null', '--get', key]);
  if (result.status !== 0) return undefined;
  const [source, value] = result.stdout.split('\0') as [string, string];
  return { value, origin: source.replace(/^file:/, '') };
}

function origin(entry: { origin: string } | undefined): string {
  return entry ? ` (set in ${entry.origin})` : '';
}

function git(cwd: string, args: string[]): { status: number | null; stdout: string } {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout ?? '' };
}
