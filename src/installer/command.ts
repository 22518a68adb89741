// `install` and `uninstall`: point git at this helper for every configured account URL, and undo
// exactly that. Shared by the product's CLI and `npm run install-helper` (scripts/install-helper.ts).

import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { readConfig } from '../core/config.js';
import { UserError } from '../core/errors.js';
import type { GitVersion } from '../core/git-version.js';
import { shellSingleQuote } from '../shared/shell-quote.js';
import { Git, SCOPES, formatCommand, type GitCommand, type Scope } from './git.js';
import { helperChainFor } from './helper-value.js';
import { desiredKeys, planInstall, planUninstall } from './plan.js';
import { describeIdentities, desiredIncludes, gitHasRemoteIncludes, oldGitNote, planIdentities, planIncludeRemoval, syncIdentityFiles } from './identities.js';
import { installRecordFile, readInstallRecord, writeInstallRecord, type InstallRecord, type InstalledFile } from './record.js';

/** The published entry point, next to this module once compiled (dist/installer → dist/helper). */
export function defaultHelperPath(): string {
  return fileURLToPath(new URL('../helper/git-credential-bitbucket.cjs', import.meta.url));
}

export interface InstallerContext {
  paths: ProductPaths;
  /** Absolute path of the helper git should run. */
  helperPath?: string;
  git?: Git;
  out?: (text: string) => void;
}

function parseScope(value: string | undefined): Scope {
  if (value === undefined) return 'global';
  if (!(SCOPES as readonly string[]).includes(value)) throw new UserError(`--scope must be one of ${SCOPES.join(', ')}`);
  return value as Scope;
}

/** The options both commands take. */
const COMMON_OPTIONS = {
  scope: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
} as const;

/** What both commands do before their own work: where to print, the scope, and a git that is recent enough (its version). */
function prepare(values: { scope?: string }, context: InstallerContext): { out: (text: string) => void; scope: Scope; git: Git; version: GitVersion } {
  const out = context.out ?? ((text: string) => process.stdout.write(text));
  const scope = parseScope(values.scope);
  const git = context.git ?? new Git();
  return { out, scope, git, version: git.checkVersion() };
}

/** What `--dry-run` prints: the commands as one would type them, or `nothing` when there are none. */
function dryRunText(commands: readonly GitCommand[], nothing: string): string {
  return commands.length === 0 ? `${nothing}\n` : `Would run (dry run, nothing changed):\n${commands.map((command) => '  ' + formatCommand(command) + '\n').join('')}`;
}

export async function installCommand(args: string[], context: InstallerContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON_OPTIONS,
      'keep-other-helpers': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      'fast-path': { type: 'boolean', default: false },
      'no-fast-path': { type: 'boolean', default: false },
    },
  });
  const { out, scope, git, version } = prepare(values, context);
  const dryRun = values['dry-run'];

  const helperPath = context.helperPath ?? defaultHelperPath();
  const helperStat = statSync(helperPath, { throwIfNoEntry: false });
  if (!helperStat?.isFile()) throw new UserError(`the helper ${helperPath} does not exist; build it first (npm run build)`);
  if (process.platform !== 'win32' && (helperStat.mode & 0o111) === 0) throw new UserError(`the helper ${helperPath} is not executable; run chmod +x on it`);
  if (values['fast-path'] && values['no-fast-path']) throw new UserError('give --fast-path or --no-fast-path, not both');
  const chain = helperChainFor({ helperPath, choice: values['fast-path'] ? 'on' : values['no-fast-path'] ? 'off' : 'default', paths: context.paths });
  if (chain.note) out(chain.note + '\n');

  const config = readConfig(context.paths.configFile);
  const file = git.configFile(scope);
  const recordFile = installRecordFile(context.paths);
  const record = readInstallRecord(recordFile);
  // With no account left, install still takes out what it added earlier (the plan's leftovers).
  if (config.accounts.length === 0 && !record.files[file]) {
    throw new UserError(`no accounts in ${context.paths.configFile}; add one first (git-credential-bitbucket account add --help), then run install`);
  }
  const entries = git.list(scope);
  const plan = planInstall({
    scope,
    entries,
    desired: desiredKeys(config, chain.helper, values['keep-other-helpers']),
    previous: record.files[file],
    force: values.force,
    existingSections: credentialSections(file),
  });
  if (plan.conflicts.length > 0) {
    const shown = plan.conflicts.flatMap((conflict) => conflict.values.map((value) => `  ${conflict.key} = ${shellSingleQuote(value)}`));
    throw new UserError(
      `${file} already has a credential setting of yours for the same URL:\n${shown.join('\n')}\n` +
        'Nothing was changed. Run install with --force to replace it (uninstall puts it back), or remove it yourself.',
    );
  }

  const leftovers = [
    ...plan.leftovers.removed.map((key) => `  removed    ${key} (no account needs it any more)`),
    ...plan.leftovers.restored.map(({ key, values: restored }) => `  restored   ${key} = ${restored.map(shellSingleQuote).join(', then ')} (no account needs ours any more)`),
    ...plan.leftovers.notes.map((note) => `  note: ${note}`),
  ];
  const withIdentities = gitHasRemoteIncludes(version);
  if (!withIdentities && config.accounts.some((account) => account.identity)) out(oldGitNote(version) + '\n');
  const identities = withIdentities ? desiredIncludes(config, context.paths) : [];
  const identityPlan = planIdentities(scope, entries, identities, record.files[file]?.includes);
  const commands = [...plan.commands, ...identityPlan.commands];

  if (dryRun) {
    out(dryRunText(commands, `Nothing to change in ${file} (${scope}): git already uses the helper for every account URL.`));
    return 0;
  }
  if (commands.length > 0) git.checkWritable(file);
  // Recorded first, with the leftovers being removed still in it: if a command fails half-way,
  // uninstall (or the next install) still knows what may be ours.
  // `includes` present (even empty) marks the file as one whose includes later changes keep in step.
  const installed = { ...plan.record, includes: identityPlan.includes };
  const pending = withFile(record, file, { ...installed, keys: [...plan.record.keys, ...plan.released] });
  if (JSON.stringify(pending) !== JSON.stringify(record)) writeInstallRecord(recordFile, pending);
  // The files first: git never sees an include of a file that is not there yet.
  syncIdentityFiles(context.paths, config, pending);
  runAll(git, commands);
  if (plan.released.length > 0) writeInstallRecord(recordFile, withFile(record, file, installed));

  const lines = plan.changes.map((change) => {
    const shownValues = change.values.map(shellSingleQuote).join(', then ');
    switch (change.outcome) {
      case 'set':
        return `  set        ${change.key} = ${shownValues}`;
      case 'updated':
        return `  updated    ${change.key} = ${shownValues}`;
      case 'replaced':
        return `  replaced   ${change.key} = ${shownValues} (was ${change.previous!.map(shellSingleQuote).join(', ')}; uninstall restores it)`;
      case 'unchanged':
        return `  unchanged  ${change.key} = ${shownValues}`;
    }
  });
  if (withIdentities) lines.push(...describeIdentities(config, identities));
  const header =
    commands.length === 0
      ? `Nothing to change in ${file} (${scope}); already installed:`
      : lines.length === 0
        ? `Removed git-credential-bitbucket from ${file} (${scope}): no account is left:`
        : `Installed git-credential-bitbucket in ${file} (${scope}):`;
  out(`${[header, ...lines, ...leftovers].join('\n')}\n`);
  return 0;
}

export async function uninstallCommand(args: string[], context: InstallerContext): Promise<number> {
  const { values } = parseArgs({ args, options: COMMON_OPTIONS });
  const { out, scope, git } = prepare(values, context);
  const file = git.configFile(scope);
  const recordFile = installRecordFile(context.paths);
  const record = readInstallRecord(recordFile);
  const installed = record.files[file];
  if (!installed) {
    out(`Nothing to uninstall: install has not changed ${file} (${scope}).\n`);
    for (const [other, entry] of Object.entries(record.files)) out(`It changed ${other}: run uninstall --scope ${entry.scope}${entry.scope === 'local' ? ' in that repository' : ''}.\n`);
    return 0;
  }
  const entries = git.list(scope);
  const plan = planUninstall(scope, entries, installed);
  const includes = planIncludeRemoval(scope, entries, installed.includes ?? []);
  const commands = [...plan.commands, ...includes.commands];
  if (values['dry-run']) {
    out(dryRunText(commands, `Nothing to run for ${file} (${scope}).`));
    for (const note of plan.notes) out(`Note: ${note}.\n`);
    return 0;
  }
  const config = installed.includes?.length ? readConfig(context.paths.configFile) : undefined;
  if (commands.length > 0) git.checkWritable(file);
  runAll(git, commands);
  const next = { ...record, files: { ...record.files } };
  delete next.files[file];
  writeInstallRecord(recordFile, next);
  if (config) syncIdentityFiles(context.paths, config, next);
  const lines = [
    ...[...plan.removed, ...includes.removed].map((key) => `  removed    ${key}`),
    ...plan.restored.map(({ key, values: restored }) => `  restored   ${key} = ${restored.map(shellSingleQuote).join(', then ')}`),
    ...plan.notes.map((note) => `  note: ${note}`),
  ];
  out(`Uninstalled git-credential-bitbucket from ${file} (${scope}):\n${lines.join('\n')}\n`);
  return 0;
}

/** The record with `installed` for `file` (none when it holds no key and no include). */
function withFile(record: InstallRecord, file: string, installed: InstalledFile): InstallRecord {
  const next = { ...record, files: { ...record.files } };
  if (installed.keys.length > 0 || (installed.includes?.length ?? 0) > 0) next.files[file] = installed;
  else delete next.files[file];
  return next;
}

function runAll(git: Git, commands: readonly GitCommand[]): void {
  for (const command of commands) git.apply(command);
}

/** The `[credential "<url>"]` section headers in a git config file, including empty ones (read only). */
function credentialSections(file: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Set();
  }
  const sections = new Set<string>();
  for (const match of text.matchAll(/^[ \t]*\[[ \t]*credential[ \t]+"((?:[^"\\\n]|\\.)*)"[ \t]*\]/gim)) {
    sections.add(match[1]!.replace(/\\(.)/g, '$1'));
  }
  return sections;
}
