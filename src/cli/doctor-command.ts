// `doctor [--json]`: one line per check with pass or fail and the fix. Exit 0 only when every
// check passes. The helper chain is read from git itself: `git credential fill` under GIT_TRACE
// shows every helper git runs, in order, so a helper that would answer before ours is seen as
// git sees it (whatever file or scope it comes from). The credential it fills is discarded.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { basePathOf, isBearerOnly, originOf, type Account } from '../core/accounts.js';
import { readConfig, type Config } from '../core/config.js';
import { WARN_DAYS, expiryNotice } from '../core/expiry.js';
import { isAtLeast, parseGitVersion, type GitRelease, type GitVersion } from '../core/git-version.js';
import { describeConnection } from '../core/network/fetch-like-git.js';
import { hostNeedsPath } from '../core/router.js';
import { openSecretStore } from '../core/secrets/open-store.js';
import type { SecretStore } from '../core/secrets/secret-store.js';
import { productVersion } from '../core/version.js';
import { verifySavedAccount, type CredentialVerification } from './account-verification.js';
import { hostFor } from '../core/hosts/host.js';
import { isNetworkProblem } from '../core/hosts/rest/http.js';
import { daemonInfo } from './daemon-commands.js';
import { repositoryIdentityChecks } from './identity-doctor.js';
import { printJson } from './io.js';
import { MIN_GIT_VERSION } from '../installer/git.js';
import { fastPathSocketArgument } from '../installer/helper-value.js';

interface Check {
  check: string;
  pass: boolean;
  detail: string;
  fix?: string;
}

const ENTRY_NAME = 'git-credential-bitbucket';

export async function doctorCommand(args: string[], paths: ProductPaths): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const git = gitVersion();
  const checks: Check[] = [checkGit(git)];
  let config: Config | undefined;
  try {
    config = readConfig(paths.configFile);
    checks.push({ check: 'config', pass: true, detail: `${paths.configFile}: ${config.accounts.length} account(s), ${config.routes.length} route(s)` });
  } catch (error) {
    checks.push({ check: 'config', pass: false, detail: (error as Error).message, fix: `fix or move ${paths.configFile}` });
  }
  const secretStore = openSecretStore(paths);
  const store = await checkSecretStore(secretStore);
  checks.push(store);
  const daemon = await checkDaemon(paths);
  checks.push(daemon);
  if (config) {
    if (config.accounts.length === 0) checks.push({ check: 'accounts', pass: false, detail: 'no accounts', fix: 'git-credential-bitbucket account add --help' });
    for (const url of [...new Set(config.accounts.map((account) => account.url))]) checks.push(...checkHost(url, config, paths, daemon.pass), await checkNetwork(url));
    for (const account of config.accounts) checks.push(await checkAccount(account, config, paths, store.pass ? secretStore : undefined, daemon.pass));
    for (const account of config.accounts.filter((candidate) => isBearerOnly(candidate.secretKind))) checks.push(checkBearerGit(account, git));
    for (const account of config.accounts.filter((candidate) => candidate.secretExpiresAt)) {
      const notice = expiryNotice(account, WARN_DAYS);
      checks.push(
        notice
          ? { check: `expiry ${account.name}`, pass: false, detail: notice.problem, fix: notice.fix }
          : { check: `expiry ${account.name}`, pass: true, detail: `expires ${account.secretExpiresAt!.slice(0, 10)}` },
      );
    }
    checks.push(...repositoryIdentityChecks(config));
  }

  const ok = checks.every((check) => check.pass);
  if (values.json) {
    printJson({ ok, checks });
  } else {
    for (const check of checks) {
      process.stdout.write(`${check.pass ? 'PASS' : 'FAIL'}  ${check.check}: ${check.detail}${check.fix ? `\n      fix: ${check.fix}` : ''}\n`);
    }
    process.stdout.write(ok ? 'All checks passed.\n' : `${checks.filter((check) => !check.pass).length} check(s) failed.\n`);
  }
  return ok ? 0 : 1;
}

/** Verifies the account's credentials with Bitbucket, as `account verify` does. */
/** `store` is undefined when it cannot be used. */
async function checkAccount(account: Account, config: Config, paths: ProductPaths, store: SecretStore | undefined, daemonRunning: boolean): Promise<Check> {
  const check = `account ${account.name}`;
  // A credential that could not be checked (store or daemon down) is already one failed line above.
  if (!store) return { check, pass: true, detail: 'not checked: the secret store cannot be used (see its line)' };
  const results = await verifySavedAccount(account, config, store, paths, daemonRunning);
  const failed = results.filter((result) => result.status === 'fail');
  if (failed.length === 0) {
    const users = [...new Set(results.map((result) => result.user).filter(Boolean))];
    const verified = results.filter((result) => result.status === 'pass').map((result) => result.credential);
    const skipped = results.filter((result) => result.status === 'skipped').map((result) => `${result.credential} ${result.message ?? 'not checked'}`);
    return {
      check,
      pass: true,
      detail: [verified.length ? `${verified.join(' and ')} verified with Bitbucket${users.length ? ` (user ${users.join(', ')})` : ''}` : '', ...skipped].filter(Boolean).join('; '),
    };
  }
  return {
    check,
    pass: false,
    detail: failed.map((result) => `${result.credential}: ${result.message ?? result.status}`).join('; '),
    fix: [...new Set(failed.map((result) => fixFor(account, result)))].join('; '),
  };
}

/** Problems with the answer or the name, not with the secret: a new secret would not help. */
const NOT_THE_SECRET: ReadonlySet<string> = new Set(['unexpected-answer', 'no-repository-access', 'wrong-username', 'email-as-username', 'unverified-username']);

/** The command that fixes one failed credential: a new login, a new secret, the e-mail, or the way to the host. */
function fixFor(account: Account, result: CredentialVerification): string {
  const verify = `git-credential-bitbucket account verify ${account.name}`;
  if (isNetworkProblem(result.code)) return `check the URL of account ${account.name} (${account.url}) and the network, VPN, proxy or certificate the line above names; then: ${verify}`;
  if (result.credential === 'OAuth') return `git-credential-bitbucket login ${account.name}`;
  if (result.code === 'needs-email') return `git-credential-bitbucket account set-email ${account.name} ADDRESS`;
  if (result.code !== undefined && NOT_THE_SECRET.has(result.code)) return `change what the line above names, then: ${verify}`;
  const secretKind = result.code === 'unusable-secret' || result.code === 'app-password' ? ` --secret-kind ${hostFor(account.kind).defaultSecretKind}` : '';
  return `printf %s "$TOKEN" | git-credential-bitbucket account set-secret ${account.name} --secret-stdin${secretKind}`;
}

/** git sends password_expiry_utc (so it drops an OAuth token in time) and wwwauth[] from 2.41 on. */
const EXPIRY_GIT: GitRelease = [2, 41];
/** git sends capability[]/authtype, so a token can go out as Bearer, from 2.46 on. */
const BEARER_GIT: GitRelease = [2, 46];

/** The version of git on PATH, or undefined when there is none (or it names no version). */
function gitVersion(): GitVersion | undefined {
  const result = spawnSync('git', ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? parseGitVersion(result.stdout ?? '') : undefined;
}

/** A project/repository token needs git to send Bearer. */
function checkBearerGit(account: Account, git: GitVersion | undefined): Check {
  const check = `bearer ${account.name}`;
  if (git && isAtLeast(git, BEARER_GIT)) return { check, pass: true, detail: `git ${git.text} sends the project/repository token as Bearer` };
  return {
    check,
    pass: false,
    detail: `account ${account.name} has a project/repository access token, which Bitbucket takes only as Bearer; git ${git?.text ?? '(not found)'} cannot send that`,
    fix: `upgrade git to ${BEARER_GIT.join('.')} or later, or use a personal access token (account set-secret --secret-kind access-token)`,
  };
}

function checkGit(git: GitVersion | undefined): Check {
  if (!git) return { check: 'git', pass: false, detail: 'git was not found on PATH', fix: 'install git (Debian: apt-get install git)' };
  const features = [
    isAtLeast(git, EXPIRY_GIT) ? 'password_expiry_utc (drops OAuth tokens in time), wwwauth[]' : `no password_expiry_utc (before ${EXPIRY_GIT.join('.')}: the daemon refreshes ahead instead)`,
    isAtLeast(git, BEARER_GIT) ? 'capability[]/authtype (Bearer)' : `no authtype (before ${BEARER_GIT.join('.')})`,
  ];
  if (!isAtLeast(git, MIN_GIT_VERSION)) return { check: 'git', pass: false, detail: `git ${git.text} is older than ${MIN_GIT_VERSION.join('.')}`, fix: 'upgrade git' };
  return { check: 'git', pass: true, detail: `git ${git.text}: ${features.join('; ')}` };
}

async function checkSecretStore(store: SecretStore): Promise<Check> {
  try {
    await store.list();
  } catch (error) {
    return { check: 'secret store', pass: false, detail: (error as Error).message, fix: 'unlock or start the keychain, or choose the file store: git-credential-bitbucket secrets --help' };
  }
  return { check: 'secret store', pass: true, detail: `${store.name} (${store.location})${store.plaintext ? ' — PLAINTEXT, chosen explicitly' : ''}` };
}

async function checkDaemon(paths: ProductPaths): Promise<Check> {
  try {
    const info = await daemonInfo(paths, true);
    if (!info) return { check: 'daemon', pass: false, detail: 'no answer', fix: `see its log: ${paths.logFile}` };
    const mine = productVersion();
    if (info.version !== mine) {
      return { check: 'daemon', pass: false, detail: `running version ${info.version}, this command is ${mine}`, fix: 'git-credential-bitbucket daemon stop (the next git operation starts the new one)' };
    }
    return { check: 'daemon', pass: true, detail: `pid ${info.pid}, version ${info.version}, socket ${info.socketPath}` };
  } catch (error) {
    // A daemon that died before opening its log left none: the detail then says it all.
    return { check: 'daemon', pass: false, detail: (error as Error).message, fix: existsSync(paths.logFile) ? `see its log: ${paths.logFile}` : 'fix what the line above names' };
  }
}

/** The helper chain git runs for `url`, whether path routing can work, and the fast path. */
function checkHost(url: string, config: Config, paths: ProductPaths, daemonRunning: boolean): Check[] {
  const { protocol, host } = originOf(url);
  const base = basePathOf(url);
  const chain = helperChain(protocol, host, base ? `${base}/doctor/probe.git` : 'doctor/probe.git');
  const fastPathIn = (command: string) => command.includes(fastPathSocketArgument(paths.cacheSocketPath));
  const isOurs = (command: string) => command.includes(ENTRY_NAME) || fastPathIn(command);
  // Our helper with the fast path is a long shell function (installer/helper-value.ts): named by what it does.
  const shown = (command: string) => (command.includes(ENTRY_NAME) && fastPathIn(command) ? `git-credential-bitbucket behind the fast path (git credential-cache --socket ${paths.cacheSocketPath})` : quote(command));
  const firstOurs = chain.findIndex(isOurs);
  const foreignFirst = chain.slice(0, firstOurs < 0 ? chain.length : firstOurs);
  const checks: Check[] = [];
  if (firstOurs < 0) {
    checks.push({
      check: `helpers ${url}`,
      pass: false,
      detail: foreignFirst.length ? `git runs ${foreignFirst.map(shown).join(', ')} and never git-credential-bitbucket` : 'git runs no credential helper of ours for this URL',
      fix: 'git-credential-bitbucket install',
    });
  } else if (foreignFirst.length > 0) {
    checks.push({
      check: `helpers ${url}`,
      pass: false,
      detail: `${foreignFirst.map(shown).join(', ')} run${foreignFirst.length === 1 ? 's' : ''} before git-credential-bitbucket and could answer first`,
      fix: `git config --show-origin --get-all credential.helper; git config --show-origin --get-regexp '^credential\\..*helper$' (git-credential-bitbucket install puts an empty helper value first)`,
    });
  } else {
    checks.push({ check: `helpers ${url}`, pass: true, detail: chain.slice(0, firstOurs + 1).map(shown).join(' → ') });
  }

  const needsPath = hostNeedsPath(config, url);
  if (needsPath) {
    const value = spawnSync('git', ['config', '--get-urlmatch', 'credential.useHttpPath', url], { encoding: 'utf8' }).stdout.trim();
    checks.push(
      value === 'true'
        ? { check: `useHttpPath ${url}`, pass: true, detail: 'git sends the repository path (routes can choose the account)' }
        : { check: `useHttpPath ${url}`, pass: false, detail: 'several accounts or routes on this host, but git sends no repository path', fix: `git config --global credential.${protocol}://${host}.useHttpPath true` },
    );
  }

  const fastPathConfigured = chain.some(fastPathIn);
  if (process.platform !== 'win32') {
    if (!fastPathConfigured) {
      checks.push({ check: `fast path ${url}`, pass: true, detail: 'not installed (git-credential-bitbucket install --fast-path answers without starting Node)' });
    } else {
      const listening = daemonRunning && existsSync(paths.cacheSocketPath);
      checks.push(
        listening
          ? { check: `fast path ${url}`, pass: true, detail: `git's credential-cache client asks the daemon at ${paths.cacheSocketPath}` }
          : { check: `fast path ${url}`, pass: false, detail: `configured, but nothing of ours listens on ${paths.cacheSocketPath}`, fix: 'git-credential-bitbucket daemon stop; the next git operation starts the daemon with its fast-path socket' },
      );
    }
  }
  return checks;
}

/** The proxy and CA certificates our requests to `url` use: git's settings for it. */
async function checkNetwork(url: string): Promise<Check> {
  const { line, problem } = await describeConnection(url);
  return problem ? { check: `network ${url}`, pass: false, detail: `${line}; but ${problem}` } : { check: `network ${url}`, pass: true, detail: line };
}

/** The commands git runs for a `get` of this URL, in order, read from GIT_TRACE. */
function helperChain(protocol: string, host: string, path: string): string[] {
  const result = spawnSync('git', ['credential', 'fill'], {
    input: `protocol=${protocol}\nhost=${host}\npath=${path}\n\n`,
    env: { ...process.env, GIT_TRACE: '1', GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', SSH_ASKPASS: '' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  // stdout holds whatever credential was filled: never read, never printed.
  const commands: string[] = [];
  for (const match of (result.stderr ?? '').matchAll(/trace: run_command: '(.*) get'$/gm)) commands.push(match[1]!);
  return commands;
}

function quote(command: string): string {
  return `'${command}'`;
}
