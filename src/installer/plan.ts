// From the accounts in config.json, what git needs (desiredKeys), and from what a git config file
// holds now, which `git config` commands get it there (planInstall) or undo exactly what the
// installer did (planUninstall). Install also takes out what it added earlier and no account
// needs any more (the last account on a host removed): our empty `helper =` value left there
// would keep the user's own helpers from answering for that host. Pure functions: the commands
// run (or are printed) elsewhere.

import type { Config } from '../core/config.js';
import { hostNeedsPath } from '../core/router.js';
import { ConfigEdit, inSection, valuesOf } from './config-edit.js';
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
  /**
   * Keys of the earlier record that `record` no longer holds (leftovers taken out, keys the user
   * now has the same values in): recorded until the commands have run, so a failure half-way
   * still leaves them known as possibly ours.
   */
  released: InstalledKey[];
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
  const edit = new ConfigEdit(scope, entries);
  const changes: KeyChange[] = [];
  const conflicts: Conflict[] = [];
  const recordKeys = new Map<string, InstalledKey>((previous?.keys ?? []).map((entry) => [entry.key, entry]));
  const sections = new Set(previous?.sections ?? []);

  for (const want of desired) {
    const current = valuesOf(entries, want.key);
    const ours = recordKeys.get(want.key);
    const hasSection = options.existingSections.has(want.url) || entries.some((entry) => inSection(entry.name, sectionOf(want.url)));
    if (satisfies(want, current)) {
      changes.push({ key: want.key, values: want.values, outcome: 'unchanged' });
      // Already there because the user put it there: not ours to remove later.
      if (ours && !sameValues(current, ours.added)) recordKeys.delete(want.key);
      continue;
    }
    if (current.length === 0) {
      if (!hasSection) sections.add(want.url);
      edit.set(want.key, want.values, false);
      recordKeys.set(want.key, { key: want.key, added: [...want.values], replaced: ours?.replaced ?? [] });
      changes.push({ key: want.key, values: want.values, outcome: 'set' });
    } else if (ours && sameValues(current, ours.added)) {
      // Ours from an earlier install (the helper moved, or --keep-other-helpers changed).
      edit.set(want.key, want.values, true);
      recordKeys.set(want.key, { key: want.key, added: [...want.values], replaced: ours.replaced });
      changes.push({ key: want.key, values: want.values, outcome: 'updated' });
    } else {
      const userValues = ours ? current.filter((value) => !ours.added.includes(value)) : current;
      if (!force) {
        conflicts.push({ key: want.key, values: current });
        continue;
      }
      edit.set(want.key, want.values, true);
      recordKeys.set(want.key, { key: want.key, added: [...want.values], replaced: [...(ours?.replaced ?? []), ...userValues] });
      changes.push({ key: want.key, values: want.values, outcome: 'replaced', previous: current });
    }
  }
  const wantedKeys = new Set(desired.map((want) => want.key));
  const wantedUrls = new Set(desired.map((want) => want.url));
  const leftoverKeys = [...recordKeys.values()].filter((entry) => !wantedKeys.has(entry.key));
  // A section that still holds keys we want stays, even if a leftover in it goes.
  const { commands: removals, removed, restored, notes } = planRemoval(scope, entries, leftoverKeys, [...sections].filter((url) => !wantedUrls.has(url)));
  for (const entry of leftoverKeys) recordKeys.delete(entry.key);
  return {
    commands: [...edit.commands, ...removals],
    changes,
    leftovers: { removed, restored, notes },
    conflicts,
    record: { scope, keys: [...recordKeys.values()], sections: [...sections].filter((url) => isStillOurs(url, recordKeys)) },
    released: (previous?.keys ?? []).filter((entry) => !recordKeys.has(entry.key)),
  };
}

/** The scopes in which an earlier install configured git for `url`. */
export function scopesInstalledFor(record: InstallRecord, url: string): Scope[] {
  return Object.values(record.files)
    .filter((file) => file.keys.some(({ key }) => inSection(key, sectionOf(url))))
    .map((file) => file.scope);
}

function isStillOurs(url: string, keys: ReadonlyMap<string, InstalledKey>): boolean {
  return [...keys.keys()].some((key) => inSection(key, sectionOf(url)));
}

/** The `credential.<url>` section of an account URL. */
function sectionOf(url: string): string {
  return `credential.${url}`;
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
  const edit = new ConfigEdit(scope, entries);
  const plan: Omit<UninstallPlan, 'commands'> = { removed: [], restored: [], notes: [] };
  for (const { key, added, replaced } of keys) {
    const current = valuesOf(entries, key);
    if (current.length === 0) {
      plan.notes.push(`${key} was already removed by someone else`);
      continue;
    }
    if (sameValues(current, added)) {
      if (replaced.length > 0) {
        edit.set(key, replaced, true);
        plan.restored.push({ key, values: replaced });
      } else {
        edit.unsetAll(key);
        plan.removed.push(key);
      }
      continue;
    }
    // Changed since install: remove only the values the installer wrote.
    for (const value of new Set(added)) if (current.includes(value)) edit.unsetValue(key, value);
    plan.removed.push(key);
    const kept = current.filter((value) => !added.includes(value));
    plan.notes.push(`${key} was changed after install; kept ${kept.map((value) => JSON.stringify(value)).join(', ') || 'nothing'}` +
      (replaced.length > 0 ? ` and did not restore ${replaced.map((value) => JSON.stringify(value)).join(', ')}` : ''));
  }
  for (const url of sections) {
    const touched = keys.some(({ key }) => inSection(key, sectionOf(url)) && valuesOf(entries, key).length > 0);
    if (touched) edit.removeSectionIfEmpty(sectionOf(url));
  }
  return { commands: edit.commands, ...plan };
}
