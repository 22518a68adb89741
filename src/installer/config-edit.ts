// The `git config` commands that change one file, built against what the file holds now: an edit
// keeps track of what the file will hold after its commands, so that a section is removed only
// when nothing is left in it (git leaves an empty `[section]` header behind otherwise). Shared by
// the credential keys (plan.ts) and the identity includes (identities.ts), which both compare
// their keys with what `git config --list` prints.

import type { GitCommand, GitConfigEntry, Scope } from './git.js';

/** How git lists a key: section and variable lower-cased, the subsection as written. */
export function listedName(key: string): string {
  const first = key.indexOf('.');
  const last = key.lastIndexOf('.');
  return key.slice(0, first).toLowerCase() + key.slice(first, last) + key.slice(last).toLowerCase();
}

/** Whether the key `name` (`<section>.<subsection>.<variable>`) belongs to `section` (`<section>.<subsection>`). */
export function inSection(name: string, section: string): boolean {
  const first = section.indexOf('.');
  const prefix = section.slice(0, first).toLowerCase() + section.slice(first) + '.';
  const listed = listedName(name);
  return listed.startsWith(prefix) && !listed.slice(prefix.length).includes('.');
}

/** The values of `key` in file order. */
export function valuesOf(entries: readonly GitConfigEntry[], key: string): string[] {
  const name = listedName(key);
  return entries.filter((entry) => entry.name === name).map((entry) => entry.value);
}

export class ConfigEdit {
  readonly commands: GitCommand[] = [];
  private readonly flag: string;
  /** What the file holds once the commands so far have run. */
  private remaining: GitConfigEntry[];

  constructor(scope: Scope, entries: readonly GitConfigEntry[]) {
    this.flag = `--${scope}`;
    this.remaining = [...entries];
  }

  /** Whether the file still holds `value` for `key`. */
  holds(key: string, value: string): boolean {
    const name = listedName(key);
    return this.remaining.some((entry) => entry.name === name && entry.value === value);
  }

  /** Writes `values` in order, after the key's present values or (`replace`) instead of them. */
  set(key: string, values: readonly string[], replace: boolean): void {
    values.forEach((value, i) => this.commands.push(['config', this.flag, i === 0 && replace ? '--replace-all' : '--add', key, value]));
    const name = listedName(key);
    if (replace) this.remaining = this.remaining.filter((entry) => entry.name !== name);
    this.remaining.push(...values.map((value) => ({ name, value })));
  }

  /** Removes every value of `key`. */
  unsetAll(key: string): void {
    this.commands.push(['config', this.flag, '--unset-all', key]);
    const name = listedName(key);
    this.remaining = this.remaining.filter((entry) => entry.name !== name);
  }

  /** Removes `value` from `key` and leaves its other values (the user's). */
  unsetValue(key: string, value: string): void {
    this.commands.push(['config', this.flag, '--fixed-value', '--unset-all', key, value]);
    const name = listedName(key);
    this.remaining = this.remaining.filter((entry) => entry.name !== name || entry.value !== value);
  }

  /** Removes `section` when the commands so far leave nothing in it. */
  removeSectionIfEmpty(section: string): void {
    if (!this.remaining.some((entry) => inSection(entry.name, section))) this.commands.push(['config', this.flag, '--remove-section', section]);
  }
}
