// Moving every secret from one store to the other, safe against kill -9 at any point.
//
// Protocol (`secrets migrate --to T`, from the other store F):
//   1. write the marker secrets-migration.json {from: F, to: T} next to config.json (atomic);
//      from now on openSecretStore serves a MigratingSecretStore: reads T then F, writes T (and
//      drop F's copy), so nothing is unreadable and nothing new lands in F;
//   2. set config.json "secretStore" to T;
//   3. for each secret in F, under the migration lock: copy to T, read back and compare, then
//      delete from F (a mismatch stops the migration with F's copy intact);
//   4. remove the marker (and an emptied secrets.json).
// Killed anywhere: the marker stays, every secret is in F or T (or both, with equal values), and
// running the command again resumes at step 1 and completes it.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ProductPaths } from '../../shared/paths.js';
import { updateConfig } from '../config.js';
import { withFileLock, writeFileAtomic } from '../files.js';
import { SECRET_STORE_KINDS, SecretStoreError, type SecretRef, type SecretStore, type SecretStoreKind } from './secret-store.js';

/** How often one secret is copied again because its source changed meanwhile before giving up. */
const MAX_COPIES = 5;

export interface MigrationMarker {
  from: SecretStoreKind;
  to: SecretStoreKind;
  startedAt: string;
}

export function migrationMarkerFile(paths: ProductPaths): string {
  return join(paths.configDir, 'secrets-migration.json');
}

export function readMigrationMarker(paths: ProductPaths): MigrationMarker | undefined {
  const file = migrationMarkerFile(paths);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SecretStoreError(`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const raw = JSON.parse(text) as Partial<MigrationMarker>;
    if (isKind(raw.from) && isKind(raw.to) && raw.from !== raw.to) return { from: raw.from, to: raw.to, startedAt: String(raw.startedAt) };
  } catch {
    // reported below
  }
  throw new SecretStoreError(`${file} is damaged; it records an unfinished secrets migration: fix or remove it, then run \`git-credential-bitbucket secrets migrate\` again`);
}

function isKind(value: unknown): value is SecretStoreKind {
  return (SECRET_STORE_KINDS as readonly unknown[]).includes(value);
}

/** Serialises a migration step with writes made while a migration is unfinished. */
export function withMigrationLock<T>(paths: ProductPaths, task: () => Promise<T>): Promise<T> {
  return withFileLock(migrationMarkerFile(paths), task);
}

/** The store while a migration is unfinished: reads find every secret, writes go to the target. */
export class MigratingSecretStore implements SecretStore {
  constructor(
    private readonly target: SecretStore,
    private readonly source: SecretStore,
    private readonly lock: <T>(task: () => Promise<T>) => Promise<T>,
  ) {}

  get name(): string {
    return this.target.name;
  }

  get plaintext(): boolean {
    return this.target.plaintext || this.source.plaintext;
  }

  get location(): string {
    return `${this.target.location}; until the unfinished migration completes also ${this.source.name} (${this.source.location})`;
  }

  async get(ref: SecretRef): Promise<string | undefined> {
    return (await this.target.get(ref)) ?? (await this.source.get(ref));
  }

  async set(ref: SecretRef, value: string): Promise<void> {
    await this.lock(async () => {
      await this.target.set(ref, value);
      // Otherwise resuming the migration would copy the older value over this one.
      await this.source.delete(ref);
    });
  }

  async delete(ref: SecretRef): Promise<boolean> {
    return this.lock(async () => {
      const fromTarget = await this.target.delete(ref);
      const fromSource = await this.source.delete(ref);
      return fromTarget || fromSource;
    });
  }

  async list(): Promise<SecretRef[]> {
    const seen = new Map<string, SecretRef>();
    for (const ref of [...(await this.target.list()), ...(await this.source.list())]) seen.set(`${ref.account}/${ref.slot}`, ref);
    return [...seen.values()];
  }
}

export interface MigrationDeps {
  paths: ProductPaths;
  stores: Record<SecretStoreKind, SecretStore>;
  /** Called after each secret is moved (tests pause here to kill the process). */
  onMoved?: (moved: number) => Promise<void> | void;
}

export interface MigrationResult {
  from: SecretStoreKind;
  to: SecretStoreKind;
  moved: number;
  resumed: boolean;
}

export async function migrateSecrets(to: SecretStoreKind, deps: MigrationDeps): Promise<MigrationResult> {
  const { paths, stores } = deps;
  const from: SecretStoreKind = to === 'keychain' ? 'file' : 'keychain';
  const existing = readMigrationMarker(paths);
  if (existing && existing.to !== to) {
    throw new SecretStoreError(
      `a migration of the secrets to the ${existing.to} store was interrupted; finish it first with \`git-credential-bitbucket secrets migrate --to ${existing.to}\``,
    );
  }
  const source = stores[from];
  const target = stores[to];
  // Both stores must work before anything changes (an unreachable keychain fails here).
  const refs = await source.list();
  await target.list();

  // 1. the marker, 2. the setting.
  if (!existing) {
    writeFileAtomic(migrationMarkerFile(paths), JSON.stringify({ from, to, startedAt: new Date().toISOString() }, null, 2) + '\n');
  }
  await updateConfig(paths.configFile, (config) => {
    config.secretStore = to;
  });

  // 3. copy, read back, compare, delete (only if the source still holds what was copied).
  let moved = 0;
  for (const ref of refs) {
    const didMove = await withMigrationLock(paths, async () => {
      let value = await source.get(ref);
      for (let copies = 0; value !== undefined; copies++) {
        if (copies === MAX_COPIES) {
          throw new SecretStoreError(`the ${ref.slot} secret of account ${ref.account} kept changing in the ${from} store; nothing was deleted from it. Run the migration again`);
        }
        await target.set(ref, value);
        const back = await target.get(ref);
        if (back !== value) {
          throw new SecretStoreError(
            `the ${to} store did not return the ${ref.slot} secret of account ${ref.account} as written; nothing was deleted from the ${from} store. Run the migration again`,
          );
        }
        // A writer that chose the source just before the marker appeared (a daemon storing a
        // rotated refresh token) may have written since the copy: delete only what was copied.
        const now = await source.get(ref);
        if (now === value) {
          await source.delete(ref);
          return true;
        }
        value = now;
      }
      return false; // deleted, or replaced through the target meanwhile
    });
    if (didMove) {
      moved++;
      await deps.onMoved?.(moved);
    }
  }
  const left = await source.list();
  if (left.length > 0) {
    throw new SecretStoreError(`${left.length} secret(s) appeared in the ${from} store during the migration; run it again`);
  }

  // 4. done.
  if (from === 'file' && existsSync(paths.secretsFile)) rmSync(paths.secretsFile, { force: true });
  rmSync(migrationMarkerFile(paths), { force: true });
  return { from, to, moved, resumed: existing !== undefined };
}
