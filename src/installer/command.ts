// `install` and `uninstall`: point git at this helper for every configured account URL, and undo
// exactly that. Shared by the product's CLI and `npm run install-helper` (scripts/install-helper.ts).

import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ProductPaths } from '../shared/paths.js';
import { readConfig } from '../core/config.js';
import { UserError } from '../core/errors.js';
import { Git, SCOPES, formatCommand, shellWord, type GitCommand, type Scope } from './git.js';
import { helperChainFor } from './helper-value.js';
import { desiredKeys, planInstall, planUninstall } from './plan.js';
import { installRecordFile, readInstallRecord, writeInstallRecord } from './record.js';

export const INSTALL_USAGE = `Usage:
  git-credential-bitbucket install [--scope global|system|local] [--dry-run] [--keep-other-helpers] [--force] [--no-fast-path]
  git-credential-bitbucket uninstall [--scope global|system|local] [--dry-run]

install tells git to ask this helper, by absolute path, for every account's base URL:
  credential.<url>.helper       an empty value (so helpers configured earlier do not answer first),
                                then, on Linux and macOS, the fast path, then the path of
                                git-credential-bitbucket
  credential.<url>.useHttpPath  true, when the host has several accounts or any route
Run it again after \`account add\` for a new host: it adds just what is missing.

  --scope S             which git config file: global (default, ~/.gitconfig), system, local (this repository)
  --dry-run             print the exact git config commands and change nothing
  --keep-other-helpers  do not add the empty helper value: helpers configured earlier answer first
  --force               replace a credential helper you configured for the same URL (uninstall restores it)
  --no-fast-path        leave out the fast path, \`cache --socket <daemon's cache socket> --timeout 1\` before
                        the helper, through which git's own C client gets answers from the daemon
                        without starting Node (the helper after it skips git's \`store\`, which the
                        daemon already got). It goes in by default on Linux and macOS, except where
                        the daemon's sockets are in the shared temporary directory (install says so)
  --fast-path           insist on the fast path: refused where it cannot be set up safely

uninstall removes exactly the keys install added and restores what --force replaced.`;

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

/**
 * What both commands do before their own work: --help (undefined: printed, nothing to do),
 * refuse stray arguments, the scope, and a git that is recent enough.
 */
function prepare(
  command: 'install' | 'uninstall',
  positionals: string[],
  values: { help?: boolean; scope?: string },
  context: InstallerContext,
  out: (text: string) => void,
): { scope: Scope; git: Git } | undefined {
  if (values.help || positionals[0] === 'help') {
    out(INSTALL_USAGE + '\n');
    return undefined;
  }
  if (positionals.length > 0) throw new UserError(`${command} takes no arguments (got ${positionals.join(' ')}); see --help`);
  const scope = parseScope(values.scope);
  const git = context.git ?? new Git();
  git.checkVersion();
  return { scope, git };
}

export async function installCommand(args: string[], context: InstallerContext): Promise<number> {
  const out = context.out ?? ((text: string) => process.stdout.write(text));
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      scope: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'keep-other-helpers': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      'fast-path': { type: 'boolean', default: false },
      'no-fast-path': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const prepared = prepare('install', positionals, values, context, out);
  if (!prepared) return 0;
  const { scope, git } = prepared;
  const dryRun = values['dry-run'];

  const helperPath = context.helperPath ?? defaultHelperPath();
  const helperStat = statSync(helperPath, { throwIfNoEntry: false });
  if (!helperStat?.isFile()) throw new UserError(`the helper ${helperPath} does not exist; build it first (npm run build)`);
  if (process.platform !== 'win32' && (helperStat.mode & 0o111) === 0) throw new UserError(`the helper ${helperPath} is not executable; run chmod +x on it`);
  if (values['fast-path'] && values['no-fast-path']) throw new UserError('give --fast-path or --no-fast-path, not both');
  const chain = helperChainFor({ helperPath, choice: values['fast-path'] ? 'on' : values['no-fast-path'] ? 'off' : 'default', paths: context.paths });
  if (chain.note) out(chain.note + '\n');

  const config = readConfig(context.paths.configFile);
  if (config.accounts.length === 0) {
    throw new UserError(`no accounts in ${context.paths.configFile}; add one first (git-credential-bitbucket account add --help), then run install`);
  }
  const file = git.configFile(scope);
  const entries = git.list(scope);
  const recordFile = installRecordFile(context.paths);
  const record = readInstallRecord(recordFile);
  const plan = planInstall({
    scope,
    entries,
    desired: desiredKeys(config, chain.helper, values['keep-other-helpers'], chain.fastPath),
    previous: record.files[file],
    force: values.force,
    existingSections: credentialSections(file),
  });
  if (plan.conflicts.length > 0) {
    const shown = plan.conflicts.flatMap((conflict) => conflict.values.map((value) => `  ${conflict.key} = ${shellWord(value)}`));
    throw new UserError(
      `${file} already has a credential setting of yours for the same URL:\n${shown.join('\n')}\n` +
        'Nothing was changed. Run install with --force to replace it (uninstall puts it back), or remove it yourself.',
    );
  }

  if (dryRun) {
    if (plan.commands.length === 0) out(`Nothing to change in ${file} (${scope}): git already uses the helper for every account URL.\n`);
    else out(`Would run (dry run, nothing changed):\n${plan.commands.map((command) => '  ' + formatCommand(command) + '\n').join('')}`);
    return 0;
  }
  if (plan.commands.length > 0) git.checkWritable(file);
  // Recorded first: if a command fails half-way, uninstall still knows what may be ours.
  const next = { ...record, files: { ...record.files } };
  if (plan.record.keys.length > 0) next.files[file] = plan.record;
  else delete next.files[file];
  if (JSON.stringify(next) !== JSON.stringify(record)) writeInstallRecord(recordFile, next);
  runAll(git, plan.commands);

  const lines = plan.changes.map((change) => {
    const shownValues = change.values.map(shellWord).join(', then ');
    switch (change.outcome) {
      case 'set':
        return `  set        ${change.key} = ${shownValues}`;
      case 'updated':
        return `  updated    ${change.key} = ${shownValues}`;
      case 'replaced':
        return `  replaced   ${change.key} = ${shownValues} (was ${change.previous!.map(shellWord).join(', ')}; uninstall restores it)`;
      case 'unchanged':
        return `  unchanged  ${change.key} = ${shownValues}`;
    }
  });
  const header = plan.commands.length === 0 ? `Nothing to change in ${file} (${scope}); already installed:` : `Installed git-credential-bitbucket in ${file} (${scope}):`;
  out(`${header}\n${lines.join('\n')}\n`);
  return 0;
}

export async function uninstallCommand(args: string[], context: InstallerContext): Promise<number> {
  const out = context.out ?? ((text: string) => process.stdout.write(text));
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      scope: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const prepared = prepare('uninstall', positionals, values, context, out);
  if (!prepared) return 0;
  const { scope, git } = prepared;
  const file = git.configFile(scope);
  const recordFile = installRecordFile(context.paths);
  const record = readInstallRecord(recordFile);
  const installed = record.files[file];
  if (!installed) {
    out(`Nothing to uninstall: install has not changed ${file} (${scope}).\n`);
    for (const [other, entry] of Object.entries(record.files)) out(`It changed ${other}: run uninstall --scope ${entry.scope}${entry.scope === 'local' ? ' in that repository' : ''}.\n`);
    return 0;
  }
  const plan = planUninstall(scope, git.list(scope), installed);
  if (values['dry-run']) {
    out(plan.commands.length === 0 ? `Nothing to run for ${file} (${scope}).\n` : `Would run (dry run, nothing changed):\n${plan.commands.map((command) => '  ' + formatCommand(command) + '\n').join('')}`);
    for (const note of plan.notes) out(`Note: ${note}.\n`);
    return 0;
  }
  if (plan.commands.length > 0) git.checkWritable(file);
  runAll(git, plan.commands);
  const next = { ...record, files: { ...record.files } };
  delete next.files[file];
  writeInstallRecord(recordFile, next);
  const lines = [
    ...plan.removed.map((key) => `  removed    ${key}`),
    ...plan.restored.map(({ key, values: restored }) => `  restored   ${key} = ${restored.map(shellWord).join(', then ')}`),
    ...plan.notes.map((note) => `  note: ${note}`),
  ];
  out(`Uninstalled git-credential-bitbucket from ${file} (${scope}):\n${lines.join('\n')}\n`);
  return 0;
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
