// `route suggest [ACCOUNT] [--apply] [--json]`: asks Bitbucket which workspaces (Cloud) or
// projects (Data Center) each account reaches and proposes one route per workspace or project.
// Where two accounts on one host reach the same one, it shows the conflict and the commands to
// choose, and applies nothing for it: guessing would send pushes with the wrong identity.

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { originOf, type Account } from '../core/accounts.js';
import { readConfig, updateConfig, type Config } from '../core/config.js';
import { hostFor } from '../core/hosts/host.js';
import { openSecretStore } from '../core/secrets/open-store.js';
import { NetworkProblem } from '../core/hosts/rest/http.js';
import { DaemonUnavailableError } from '../client/daemon-client.js';
import { VerifyFailure } from '../core/hosts/rest/verification.js';
import { accountCredentials } from './account-verification.js';
import { findAccount } from './account-commands.js';
import { printJson, printTable } from './io.js';
import { addRouteTo } from './route-edit.js';
import { keepIdentitiesInStep } from './identity-refresh.js';
import { UserError } from '../core/errors.js';

export interface Suggestion {
  /** The workspace slug or project key. */
  space: string;
  pattern: string;
  /** Every account that reaches it. */
  accounts: string[];
  /** unverified: another account on the host could not be listed, so a conflict cannot be ruled out. */
  status: 'new' | 'applied' | 'exists' | 'conflict' | 'routed-elsewhere' | 'unverified';
  /** For conflicts and routes that lead elsewhere: what to run. */
  choose?: string[];
}

export interface SuggestReport {
  suggestions: Suggestion[];
  /** Accounts whose spaces could not be listed, with the reason. */
  unlisted: Array<{ account: string; reason: string }>;
  /** Accounts alone on their host: git needs no route for them. */
  alone: string[];
}

export async function routeSuggest(args: string[], paths: ProductPaths): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { apply: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length > 1) throw new UserError('expected at most one ACCOUNT');
  const config = readConfig(paths.configFile);
  const wanted = positionals.length === 1 ? [findAccount(config.accounts, positionals[0]!)] : config.accounts;
  if (wanted.length === 0) throw new UserError('no accounts; add one with `git-credential-bitbucket account add`');

  const report = await suggest(config, wanted, paths);
  if (values.apply) {
    const fresh = report.suggestions.filter((suggestion) => suggestion.status === 'new');
    await updateConfig(paths.configFile, (latest) => {
      for (const suggestion of fresh) if (addRouteTo(latest, suggestion.pattern, suggestion.accounts[0]!) === 'added') suggestion.status = 'applied';
    });
    keepIdentitiesInStep(paths, 'The routes were added', (text) => (values.json ? process.stderr : process.stdout).write(text));
  }
  if (values.json) printJson(report);
  else printReport(report, values.apply);
  return report.unlisted.length === 0 ? 0 : 1;
}

async function suggest(config: Config, wanted: Account[], paths: ProductPaths): Promise<SuggestReport> {
  const store = openSecretStore(paths);
  const report: SuggestReport = { suggestions: [], unlisted: [], alone: [] };
  // A conflict is judged against every account on the host, not only the one asked about.
  const onHost = (account: Account) => config.accounts.filter((other) => hostKey(other) === hostKey(account));
  const involved = new Set<Account>();
  for (const account of wanted) {
    if (onHost(account).length === 1) report.alone.push(account.name);
    else for (const other of onHost(account)) involved.add(other);
  }

  const reach = new Map<string, { space: string; pattern: string; accounts: Account[] }>();
  for (const account of involved) {
    let spaces: string[];
    try {
      spaces = await listSpaces(account, store, paths);
    } catch (error) {
      if (!(error instanceof VerifyFailure || error instanceof NetworkProblem || error instanceof UserError || error instanceof DaemonUnavailableError)) throw error;
      report.unlisted.push({ account: account.name, reason: error.message });
      continue;
    }
    for (const space of spaces) {
      const pattern = hostFor(account.kind).routePattern(account, space);
      const key = pattern.toLowerCase();
      const entry = reach.get(key) ?? { space, pattern, accounts: [] };
      entry.accounts.push(account);
      reach.set(key, entry);
    }
  }

  const wantedNames = new Set(wanted.map((account) => account.name));
  const unlistedHosts = new Set(report.unlisted.map((entry) => hostKey(config.accounts.find((account) => account.name === entry.account)!)));
  for (const { space, pattern, accounts } of [...reach.values()].sort((a, b) => a.pattern.localeCompare(b.pattern))) {
    if (!accounts.some((account) => wantedNames.has(account.name))) continue;
    const names = accounts.map((account) => account.name);
    const existing = config.routes.find((route) => route.pattern.toLowerCase() === pattern.toLowerCase());
    const chooseCommands = names.map((name) => `git-credential-bitbucket route add '${pattern}' ${name}`);
    let suggestion: Suggestion;
    const unknownReach = unlistedHosts.has(hostKey(accounts[0]!));
    if (existing && names.includes(existing.account)) suggestion = { space, pattern: existing.pattern, accounts: [existing.account], status: 'exists' };
    else if (existing) suggestion = { space, pattern, accounts: names, status: 'routed-elsewhere', choose: [`git-credential-bitbucket route remove '${existing.pattern}'`, ...chooseCommands] };
    else if (names.length > 1) suggestion = { space, pattern, accounts: names, status: 'conflict', choose: chooseCommands };
    else suggestion = { space, pattern, accounts: names, status: unknownReach ? 'unverified' : 'new' };
    report.suggestions.push(suggestion);
  }
  return report;
}

async function listSpaces(account: Account, store: ReturnType<typeof openSecretStore>, paths: ProductPaths): Promise<string[]> {
  const sources = await accountCredentials(account, store, paths, true);
  const usable = sources.find((source) => 'credential' in source);
  if (!usable || 'problem' in usable) {
    const reasons = sources.map((source) => ('problem' in source ? `${source.label}: ${source.problem.message}` : '')).filter(Boolean);
    throw new UserError(reasons.join('; ') || 'no credential');
  }
  return hostFor(account.kind).listSpaces(account, usable.credential);
}

/** The router picks among all accounts of one origin (context paths only narrow with useHttpPath). */
function hostKey(account: Account): string {
  const { protocol, host } = originOf(account.url);
  return `${protocol}://${host}`;
}

function printReport(report: SuggestReport, applied: boolean): void {
  const out: string[] = [];
  if (report.suggestions.length > 0) {
    const label: Record<Suggestion['status'], string> = {
      new: applied ? 'not applied' : 'proposed (--apply adds it)',
      applied: 'added',
      exists: 'exists',
      conflict: 'CONFLICT: choose one',
      'routed-elsewhere': 'routed to another account',
      unverified: 'not applied: another account here could not be listed',
    };
    printTable(
      ['ROUTE', 'ACCOUNTS', 'STATUS'],
      report.suggestions.map((suggestion) => [suggestion.pattern, suggestion.accounts.join(', '), label[suggestion.status]]),
    );
  }
  for (const suggestion of report.suggestions.filter((candidate) => candidate.choose)) {
    out.push(`${suggestion.space} is reachable by ${suggestion.accounts.join(' and ')}; pick the account for it:`);
    out.push(...suggestion.choose!.map((command) => `  ${command}`));
  }
  for (const name of report.alone) out.push(`${name} is the only account on its host: git needs no route for it.`);
  for (const { account, reason } of report.unlisted) out.push(`${account}: cannot list its workspaces or projects: ${reason}`);
  if (report.suggestions.length === 0 && report.alone.length === 0 && report.unlisted.length === 0) out.push('Nothing to suggest.');
  if (out.length) process.stdout.write(out.join('\n') + '\n');
}
