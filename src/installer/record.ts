// What the installer changed, per git config file, so that `uninstall` removes exactly that and
// restores what `--force` replaced. Kept in the product's state directory.

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ProductPaths } from '../shared/paths.js';
import { writeFileAtomic } from '../core/files.js';
import { UserError } from '../core/errors.js';
import type { Scope } from './git.js';

export interface InstalledKey {
  /** e.g. credential.https://bitbucket.org.helper */
  key: string;
  /** The values the installer wrote, in order: the key holds exactly these while it is ours. */
  added: string[];
  /** The user's values `--force` replaced; `uninstall` puts them back. */
  replaced: string[];
}

export interface InstalledFile {
  scope: Scope;
  keys: InstalledKey[];
  /** `credential.<url>` sections the installer created (removed again once empty). */
  sections: string[];
  /**
   * The `includeIf.hasconfig:remote.*.url:…` keys giving accounts' commit identities, in file
   * order (see identities.ts); present once install manages them for this file, even when empty.
   */
  includes?: InstalledInclude[];
}

export interface InstalledInclude {
  key: string;
  /** The identity file it includes. */
  value: string;
}

export interface InstallRecord {
  version: 1;
  /** By absolute path of the git config file. */
  files: Record<string, InstalledFile>;
}

export function installRecordFile(paths: ProductPaths): string {
  return join(paths.stateDir, 'git-install.json');
}

export function readInstallRecord(file: string): InstallRecord {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, files: {} };
    throw new UserError(`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const record = JSON.parse(text) as InstallRecord;
    if (record.version !== 1 || typeof record.files !== 'object' || record.files === null) throw new Error('unexpected layout');
    for (const entry of Object.values(record.files)) {
      if (!Array.isArray(entry.keys) || !Array.isArray(entry.sections)) throw new Error('unexpected layout');
      for (const key of entry.keys) {
        if (typeof key.key !== 'string' || !isStrings(key.added) || !isStrings(key.replaced)) throw new Error('unexpected layout');
      }
      if (entry.includes !== undefined && !(Array.isArray(entry.includes) && entry.includes.every((include) => typeof include.key === 'string' && typeof include.value === 'string'))) {
        throw new Error('unexpected layout');
      }
    }
    return record;
  } catch (error) {
    throw new UserError(`${file} is damaged (${(error as Error).message}); it records what \`install\` added to your git config. Move it away and remove the credential.<url> keys by hand`);
  }
}

export function writeInstallRecord(file: string, record: InstallRecord): void {
  if (Object.keys(record.files).length === 0) rmSync(file, { force: true });
  else writeFileAtomic(file, JSON.stringify(record, null, 2) + '\n');
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
