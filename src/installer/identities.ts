// Commit identities: a repository whose remote routes to an account gets that account's
// user.name and user.email. git has no per-remote identity, but it has conditional includes
// (`includeIf "hasconfig:remote.*.url:GLOB"`, git 2.36+): `install` writes one small file per
// account ($CONFIG_DIR/identities/NAME.gitconfig) and includes it for every remote URL glob that
// routing sends to the account. The globs follow router.ts: a route covers everything below its
// path, matching ignores case and a trailing `.git`, a username in the URL wins over routes, and
// the only account on a host needs no route. git reads includes in file order and the last
// user.email wins, so the includes are written in routing's order of precedence: the only
// account on a host first, then routes from least to most specific, usernames last.
//
// Routes change after install: `route add/remove`, `account add/remove` and `account
// set-identity` call refreshIdentities, which redoes this step in every git config file that
// install wrote includes to (and rewrites the identity files), so they never drift apart.

import { readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ProductPaths } from '../shared/paths.js';
import { TOKEN_USERNAMES, basePathOf, describeIdentity, originOf, parseRoutePattern, type Account } from '../core/accounts.js';
import { readConfig, type Config } from '../core/config.js';
import { writeFileAtomic } from '../core/files.js';
import { isAtLeast, releaseOf, type GitRelease, type GitVersion } from '../core/git-version.js';
import { compareSpecificity, originKey, pathSegments, patternSegments, routeIndexFor, specificityOf, type Specificity } from '../core/route-index.js';
import { ConfigEdit, listedName } from './config-edit.js';
import { Git, type GitCommand, type GitConfigEntry, type Scope } from './git.js';
import { installRecordFile, readInstallRecord, writeInstallRecord, type InstallRecord, type InstalledInclude } from './record.js';

/** `hasconfig:remote.*.url:` arrived in git 2.36; older git ignores the include without a word. */
const MIN_IDENTITY_GIT: GitRelease = [2, 36];

const CONDITION = 'hasconfig:remote.*.url:';

export interface IdentityInclude extends InstalledInclude {
  account: string;
  /** Why routing sends these URLs to the account: a route, a username, or being the only account there. */
  reason: string;
}

function identityDir(paths: Pick<ProductPaths, 'configDir'>): string {
  return join(paths.configDir, 'identities');
}

function identityFileOf(paths: Pick<ProductPaths, 'configDir'>, account: string): string {
  return join(identityDir(paths), `${account}.gitconfig`);
}

/** The include key for remote URLs matching `glob`. */
function includeKey(glob: string): string {
  return `includeIf.${CONDITION}${glob}.path`;
}

/** Tier of precedence (routing's order), then specificity within it. */
interface Ranked {
  tier: number;
  specificity: Specificity;
  include: IdentityInclude;
}

/** Every include git needs for the accounts' identities, in the order they must appear in the file. */
export function desiredIncludes(config: Config, paths: Pick<ProductPaths, 'configDir'>): IdentityInclude[] {
  const index = routeIndexFor(config);
  const ranked: Ranked[] = [];
  const add = (tier: number, specificity: Specificity, account: Account, reason: string, globs: string[]) => {
    for (const glob of globs) ranked.push({ tier, specificity, include: { key: includeKey(glob), value: identityFileOf(paths, account.name), account: account.name, reason } });
  };
  for (const account of config.accounts) {
    if (!account.identity) continue;
    const origin = originKey(account.url);
    const base = pathSegments(basePathOf(account.url));
    const neighbours = index.accountsOn(origin).filter((entry) => entry.account.name !== account.name && overlaps(entry.basePath, base));
    if (neighbours.length === 0) add(0, specificityOf(base), account, `only account on ${account.url}`, urlGlobs(origin, base, false));
    for (const route of config.routes) {
      if (route.account !== account.name) continue;
      const { path } = parseRoutePattern(route.pattern);
      const segments = patternSegments(path);
      // A route naming a repository (no final `*`) also matches a remote URL that is exactly its path.
      const exact = segments.length > 0 && !/(^|\/)\*$/.test(path);
      add(1, specificityOf(segments), account, `route ${route.pattern}`, urlGlobs(origin, segments, exact));
    }
    const username = account.username.toLowerCase();
    const sameUsername = neighbours.some((entry) => entry.account.username.toLowerCase() === username);
    if (!TOKEN_USERNAMES.has(username) && !sameUsername) {
      const { protocol, host } = originOf(origin);
      const user = foldCase(escapeGlob(encodeURIComponent(account.username)));
      add(2, specificityOf(base), account, `username ${account.username} in the URL`, [withPath(`${protocol}://${user}@${escapeGlob(host)}`, base) + '/**']);
    }
  }
  // Stable: equally ranked includes keep config order.
  ranked.sort((a, b) => a.tier - b.tier || compareSpecificity(a.specificity, b.specificity));
  const unique = new Map<string, IdentityInclude>();
  for (const { include } of ranked) if (!unique.has(include.key + '\0' + include.value)) unique.set(include.key + '\0' + include.value, include);
  return [...unique.values()];
}

/** Whether two context paths share requests: one is a prefix of the other. */
function overlaps(a: readonly string[], b: readonly string[]): boolean {
  const shorter = a.length <= b.length ? a : b;
  const longer = shorter === a ? b : a;
  return shorter.every((segment, i) => longer[i] === segment);
}

/** Globs for remote URLs under `segments` on `origin`, with and without a username (`https://alice@host/…`). */
function urlGlobs(origin: string, segments: readonly string[], exact: boolean): string[] {
  const { protocol, host } = originOf(origin);
  const globs: string[] = [];
  for (const prefix of [`${protocol}://${escapeGlob(host)}`, `${protocol}://*@${escapeGlob(host)}`]) {
    const below = withPath(prefix, segments);
    globs.push(`${below}/**`);
    if (exact) globs.push(below, `${below}.git`);
  }
  return globs;
}

function withPath(prefix: string, segments: readonly string[]): string {
  return segments.length === 0 ? prefix : `${prefix}/${segments.map((segment) => foldCase(escapeGlob(segment))).join('/')}`;
}

/** git's wildmatch is case-sensitive and Bitbucket paths are not: each letter becomes `[aA]`. */
function foldCase(glob: string): string {
  return glob.replace(/[a-z]/gi, (letter) => `[${letter.toLowerCase()}${letter.toUpperCase()}]`);
}

/** Escapes what wildmatch would read as a pattern, except `*`, which means in a route what it means there. */
function escapeGlob(text: string): string {
  return text.replace(/[?[\]\\]/g, '\\$&');
}

/** The identity file of an account: git config syntax, values quoted so any character but a line break survives. */
function identityFileText(account: Account): string {
  const quote = (value: string) => `"${value.replace(/[\\"]/g, '\\$&').replace(/\t/g, '\\t')}"`;
  const lines = [`# The commit identity of account ${account.name} (git-credential-bitbucket account set-identity); rewritten by install.`, '[user]'];
  if (account.identity?.name !== undefined) lines.push(`\tname = ${quote(account.identity.name)}`);
  if (account.identity?.email !== undefined) lines.push(`\temail = ${quote(account.identity.email)}`);
  return lines.join('\n') + '\n';
}

function sectionOf(key: string): string {
  return key.slice(0, -'.path'.length);
}

export interface IdentityPlan {
  commands: GitCommand[];
  /** What the record holds afterwards. */
  includes: InstalledInclude[];
}

/**
 * The commands that make the file hold exactly `desired` as our includes, in order and after every
 * user.name/user.email of the file's own (an include before them would be overridden). When that
 * is not already so, our includes are removed and written again in order: git appends a new key
 * at the end of the file, so this is the one way to put them in a given order.
 */
export function planIdentities(scope: Scope, entries: readonly GitConfigEntry[], desired: readonly InstalledInclude[], previous: readonly InstalledInclude[] | undefined): IdentityPlan {
  const isOurs = (entry: GitConfigEntry) => (previous ?? []).some((include) => listedName(include.key) === entry.name && include.value === entry.value);
  const current = entries.filter(isOurs);
  const firstOurs = entries.findIndex(isOurs);
  const userAfter = firstOurs >= 0 && entries.slice(firstOurs).some((entry) => entry.name === 'user.name' || entry.name === 'user.email');
  const inOrder = current.length === desired.length && desired.every((include, i) => listedName(include.key) === current[i]!.name && include.value === current[i]!.value);
  const includes = desired.map(({ key, value }) => ({ key, value }));
  if (inOrder && !userAfter) return { commands: [], includes };
  const edit = new ConfigEdit(scope, entries);
  removeIncludes(edit, previous ?? []);
  for (const include of desired) edit.set(include.key, [include.value], false);
  return { commands: edit.commands, includes };
}

export interface IncludeRemoval {
  commands: GitCommand[];
  /** The include keys taken out, one per value removed, in order. */
  removed: string[];
}

/** What uninstall runs for our includes: each that is still there goes, and each section left empty. */
export function planIncludeRemoval(scope: Scope, entries: readonly GitConfigEntry[], installed: readonly InstalledInclude[]): IncludeRemoval {
  const edit = new ConfigEdit(scope, entries);
  const removed = removeIncludes(edit, installed);
  return { commands: edit.commands, removed };
}

/** Removes our includes that are still there, and each section that holds nothing else afterwards; returns their keys. */
function removeIncludes(edit: ConfigEdit, installed: readonly InstalledInclude[]): string[] {
  const removed: string[] = [];
  const sections = new Set<string>();
  for (const { key, value } of installed) {
    if (!edit.holds(key, value)) continue;
    edit.unsetValue(key, value);
    removed.push(key);
    sections.add(sectionOf(key));
  }
  for (const section of sections) edit.removeSectionIfEmpty(section);
  return removed;
}

/** One line per account with an identity: what it is and which URLs get it. */
export function describeIdentities(config: Config, desired: readonly IdentityInclude[]): string[] {
  return config.accounts
    .filter((account) => account.identity)
    .map((account) => {
      const who = describeIdentity(account.identity!);
      const mine = desired.filter((include) => include.account === account.name);
      if (mine.length === 0) return `  identity   ${account.name}: ${who}, for no repository yet (no route leads to it; \`git-credential-bitbucket route add PATTERN ${account.name}\`)`;
      const reasons = [...new Set(mine.map((include) => include.reason))];
      return `  identity   ${account.name}: ${who} for remotes by ${reasons.join(', ')} (${mine.length} includeIf keys, ${mine[0]!.value})`;
    });
}

/** Whether this git version applies `hasconfig:remote.*.url` includes. */
export function gitHasRemoteIncludes(version: GitVersion): boolean {
  return isAtLeast(version, MIN_IDENTITY_GIT);
}

/** The note install prints when git is too old for identities (they are then left out). */
export function oldGitNote(version: GitVersion): string {
  return `Commit identities left out: git ${releaseOf(version)} ignores \`includeIf "hasconfig:remote.*.url:…"\` (git ${MIN_IDENTITY_GIT.join('.')} or newer applies them); upgrade git and run install again.`;
}

/**
 * Writes the identity file of every account that an include in any recorded git config file
 * names, and removes every other file from the identities directory (an account removed, an
 * identity cleared, an uninstall): an include whose file is gone is ignored by git.
 */
export function syncIdentityFiles(paths: Pick<ProductPaths, 'configDir'>, config: Config, record: InstallRecord): void {
  const wanted = new Map<string, string>();
  const included = new Set(Object.values(record.files).flatMap((entry) => (entry.includes ?? []).map((include) => include.value)));
  for (const account of config.accounts) {
    const file = identityFileOf(paths, account.name);
    if (account.identity && included.has(file)) wanted.set(file, identityFileText(account));
  }
  for (const [file, text] of wanted) if (readOrUndefined(file) !== text) writeFileAtomic(file, text);
  const dir = identityDir(paths);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (name.endsWith('.gitconfig') && !wanted.has(join(dir, name))) rmSync(join(dir, name), { force: true });
  if (wanted.size === 0) {
    try {
      rmdirSync(dir);
    } catch {
      // something else is in it: not ours to remove
    }
  }
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Redoes the identity step in every git config file install manages identities in, after a
 * change to accounts, routes or identities. Returns the lines to print (none when nothing
 * changed), or undefined when install has not written identities anywhere yet.
 */
export function refreshIdentities(paths: ProductPaths, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const recordFile = installRecordFile(paths);
  const record = readInstallRecord(recordFile);
  const managed = Object.entries(record.files).filter(([, entry]) => entry.includes !== undefined);
  if (managed.length === 0) return undefined;
  const config = readConfig(paths.configFile);
  const lines: string[] = [];
  // The same for every file (one git, one config): worked out at the first file git can reach.
  let desired: ReturnType<typeof desiredIncludes> | undefined;
  for (const [file, entry] of managed) {
    // A repository's config is reached from its git directory, where `git config --local` works.
    const git = new Git(env, entry.scope === 'local' ? dirname(file) : process.cwd());
    // Installed under another HOME or GIT_CONFIG_GLOBAL than this command runs with: not reachable now.
    if (git.configFile(entry.scope) !== file) continue;
    desired ??= gitHasRemoteIncludes(git.checkVersion()) ? desiredIncludes(config, paths) : [];
    const plan = planIdentities(entry.scope, git.list(entry.scope), desired, entry.includes);
    if (plan.commands.length === 0) continue;
    git.checkWritable(file);
    record.files[file] = { ...entry, includes: plan.includes };
    writeInstallRecord(recordFile, record);
    syncIdentityFiles(paths, config, record);
    for (const command of plan.commands) git.apply(command);
    lines.push(`Updated the commit identity includes in ${file} (${entry.scope}):`, ...describeIdentities(config, desired));
  }
  // A changed name or e-mail changes only the files (an updated include above synced them already).
  if (lines.length === 0) syncIdentityFiles(paths, config, record);
  return lines;
}
