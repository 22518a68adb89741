// From the accounts in config.json, what git needs (desiredKeys), and from what a git config file
// holds now, which `git config` commands get it there (planInstall) or undo exactly what the
// installer did (planUninstall). Install also takes out what it added earlier and no account
// needs any more (the last account on a host removed): our empty `helper =` value left there
// would keep the user's own helpers from answering for that host. Pure functions: the commands
// run (or are printed) elsewhere.

import type { Config } from '../core/config.js';
import { hostNeedsPath } from '../core/router.js';
import type { GitCommand, GitConfigEntry, Scope } from './git.js';
import type { InstalledFile, InstalledKey, InstallRecord } from './record.js';

export interface DesiredKey {
  /** The account base URL: the `credential.<url>` subsection. */
  url: string;
  variable: 'helper' | 'useHttpPath';
  key: string;
  values: string[];
}

/**
 * For each account base URL: the helper (after an empty reset value unless keepOtherHelpers), and
 * useHttpPath when needed.
 */
export function desiredKeys(config: Config, helperValue: string, keepOtherHelpers: boolean): DesiredKey[] {
  const urls = [...new Set(config.accounts.map((account) => account.url))].sort();
  const keys: DesiredKey[] = [];
  for (const url of urls) {
    keys.push({ url, variable: 'helper', key: `credential.${url}.helper`, values: keepOtherHelpers ? [helperValue] : ['', helperValue] });
    if (hostNeedsPath(config, url)) keys.push({ url, variable: 'useHttpPath', key: `credential.${url}.useHttpPath`, values: ['true'] });
  }
  return keys;
}

/** The values of `key` in file order; git prints section and variable names in lower case. */
export function valuesOf(entries: readonly GitConfigEntry[], key: string): string[] {
  const name = lowerVariable(key);
  return entries.filter((entry) => entry.name === name).map((entry) => entry.value);
}

function lowerVariable(key: string): string {
  const dot = key.lastIndexOf('.');
  return key.slice(0, dot).replace(/^credential\./i, 'credential.') + key.slice(dot).toLowerCase();
}

export interface Conflict {
  key: string;
  values: string[];
}

export interface KeyChange {
  key: string;
  values: string[];
  outcome: 'set' | 'updated' | 'replaced' | 'unchanged';
  /** For `replaced`: the user's values it replaced. */
  previous?: string[];
}

export interface InstallPlan {
  commands: GitCommand[];
  changes: KeyChange[];
  /** Keys of an earlier install that no account needs any more: removed, or restored to the user's values. */
  leftovers: Pick<UninstallPlan, 'removed' | 'restored' | 'notes'>;
  /** The user's own values for our keys; install refuses unless forced. */
  conflicts: Conflict[];
  record: InstalledFile;
}

export function planInstall(options: {
  scope: Scope;
  entries: readonly GitConfigEntry[];
  desired: readonly DesiredKey[];
  previous: InstalledFile | undefined;
  force: boolean;
  /** Sections with a `[credential "<url>"]` header in the file (possibly without entries). */
  existingSections: ReadonlySet<string>;
}): InstallPlan {
  const { scope, entries, desired, previous, force } = options;
  const flag = `--${scope}`;
  const commands: GitCommand[] = [];
  const changes: KeyChange[] = [];
  const conflicts: Conflict[] = [];
  const recordKeys = new Map<string, InstalledKey>((previous?.keys ?? []).map((entry) => [entry.key, entry]));
  const sections = new Set(previous?.sections ?? []);
  const write = (key: string, values: readonly string[], replace: boolean) => {
    values.forEach((value, i) => commands.push(['config', flag, i === 0 && replace ? '--replace-all' : '--add', key, value]));
  };

  for (const want of desired) {
    const current = valuesOf(entries, want.key);
    const ours = recordKeys.get(want.key);
    const hasSection = options.existingSections.has(want.url) || entries.some((entry) => inSection(entry.name, want.url));
    if (satisfies(want, current)) {
      changes.push({ key: want.key, values: want.values, outcome: 'unchanged' });
      // Already there because the user put it there: not ours to remove later.
      if (ours && !sameValues(current, ours.added)) recordKeys.delete(want.key);
      continue;
    }
    if (current.length === 0) {
      if (!hasSection) sections.add(want.url);
      write(want.key, want.values, false);
      recordKeys.set(want.key, { key: want.key, added: [...want.values], replaced: ours?.replaced ?? [] });
      changes.push({ key: want.key, values: want.values, outcome: 'set' });
    } else if (ours && sameValues(current, ours.added)) {
      // Ours from an earlier install (the helper moved, or --keep-other-helpers changed).
      write(want.key, want.values, true);
      recordKeys.set(want.key, { key: want.key, added: [...want.values], replaced: ours.replaced });
      changes.push({ key: want.key, values: want.values, outcome: 'updated' });
    } else {
      const userValues = ours ? current.filter((value) => !ours.added.includes(value)) : current;
      if (!force) {
        conflicts.push({ key: want.key, values: current });
        continue;
      }
      write(want.key, want.values, true);
      recordKeys.set(want.key, { key: want.key, added: [...want.values], replaced: [...(ours?.replaced ?? []), ...userValues] });
      changes.push({ key: want.key, values: want.values, outcome: 'replaced', previous: current });
    }
  }
  const wantedKeys = new Set(desired.map((want) => want.key));
  const wantedUrls = new Set(desired.map((want) => want.url));
  const leftoverKeys = [...recordKeys.values()].filter((entry) => !wantedKeys.has(entry.key));
  // A section that still holds keys we want stays, even if a leftover in it goes.
  const { commands: removals, removed, restored, notes } = planRemoval(scope, entries, leftoverKeys, [...sections].filter((url) => !wantedUrls.has(url)));
  commands.push(...removals);
  for (const entry of leftoverKeys) recordKeys.delete(entry.key);
  return {
    commands,
    changes,
    leftovers: { removed, restored, notes },
    conflicts,
    record: { scope, keys: [...recordKeys.values()], sections: [...sections].filter((url) => isStillOurs(url, recordKeys)) },
  };
}

/** The scopes in which an earlier install configured git for `url`. */
export function scopesInstalledFor(record: InstallRecord, url: string): Scope[] {
  return Object.values(record.files)
    .filter((file) => file.keys.some(({ key }) => inSection(key, url)))
    .map((file) => file.scope);
}

function isStillOurs(url: string, keys: ReadonlyMap<string, InstalledKey>): boolean {
  return [...keys.keys()].some((key) => inSection(key, url));
}

/** Whether a key `credential.<subsection>.<variable>` belongs to the `credential.<url>` section. */
function inSection(name: string, url: string): boolean {
  const prefix = `credential.${url}.`;
  return name.startsWith(prefix) && !name.slice(prefix.length).includes('.');
}

/** helper: exactly our values; useHttpPath: git reads the last value, any spelling of true will do. */
function satisfies(want: DesiredKey, current: readonly string[]): boolean {
  if (want.variable === 'useHttpPath') return current.length > 0 && isGitTrue(current[current.length - 1]!);
  return sameValues(current, want.values);
}

function isGitTrue(value: string): boolean {
  return ['true', 'yes', 'on', '1'].includes(value.trim().toLowerCase());
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

export interface UninstallPlan {
  commands: GitCommand[];
  /** Keys restored to the user's earlier values, keys removed, and keys left alone because the user changed them. */
  removed: string[];
  restored: Array<{ key: string; values: string[] }>;
  notes: string[];
}

export function planUninstall(scope: Scope, entries: readonly GitConfigEntry[], installed: InstalledFile): UninstallPlan {
  return planRemoval(scope, entries, installed.keys, installed.sections);
}

/**
 * Takes out installed keys: removes what the installer wrote, restores what --force replaced,
 * leaves the user's later changes, and removes `sections` (ones the installer created) left empty.
 */
function planRemoval(scope: Scope, entries: readonly GitConfigEntry[], keys: readonly InstalledKey[], sections: readonly string[]): UninstallPlan {
  const flag = `--${scope}`;
  const plan: UninstallPlan = { commands: [], removed: [], restored: [], notes: [] };
  // What stays in the file after these commands, to know which sections end up empty.
  let remaining = entries.map((entry) => ({ ...entry }));
  for (const { key, added, replaced } of keys) {
    const current = valuesOf(entries, key);
    const name = lowerVariable(key);
    if (current.length === 0) {
      plan.notes.push(`${key} was already removed by someone else`);
      continue;
    }
    if (sameValues(current, added)) {
      if (replaced.length > 0) {
        replaced.forEach((value, i) => plan.commands.push(['config', flag, i === 0 ? '--replace-all' : '--add', key, value]));
        plan.restored.push({ key, values: replaced });
        remaining = remaining.filter((entry) => entry.name !== name).concat(replaced.map((value) => ({ name, value })));
      } else {
        plan.commands.push(['config', flag, '--unset-all', key]);
        plan.removed.push(key);
        remaining = remaining.filter((entry) => entry.name !== name);
      }
      continue;
    }
    // Changed since install: remove only the values the installer wrote.
    for (const value of new Set(added)) {
      if (!current.includes(value)) continue;
      plan.commands.push(['config', flag, '--fixed-value', '--unset-all', key, value]);
      remaining = remaining.filter((entry) => entry.name !== name || entry.value !== value);
    }
    plan.removed.push(key);
    const kept = current.filter((value) => !added.includes(value));
    plan.notes.push(`${key} was changed after install; kept ${kept.map((value) => JSON.stringify(value)).join(', ') || 'nothing'}` +
      (replaced.length > 0 ? ` and did not restore ${replaced.map((value) => JSON.stringify(value)).join(', ')}` : ''));
  }
  for (const url of sections) {
    const touched = keys.some(({ key }) => inSection(key, url) && valuesOf(entries, key).length > 0);
    if (touched && !remaining.some((entry) => inSection(entry.name, url))) plan.commands.push(['config', flag, '--remove-section', `credential.${url}`]);
  }
  return plan;
}
