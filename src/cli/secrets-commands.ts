// `secrets migrate --to keychain|file`: move every secret to the other store and make it the
// chosen one. Interrupted (even by kill -9), running it again completes it (see
// core/secrets/migration.ts). The daemon may keep running: it stays the only writer of OAuth
// tokens (a refresh during the move goes to the new store, under the migration lock), and this
// command only moves their values unchanged, deleting an old copy only if it is still what it copied.

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { migrateSecrets } from '../core/secrets/migration.js';
import { SECRET_STORE_ENV, openSecretStore } from '../core/secrets/open-store.js';
import { SECRET_STORE_KINDS, type SecretStoreKind } from '../core/secrets/secret-store.js';
import { UserError } from '../core/errors.js';
import { tellDaemonSecretsChanged } from './secrets-changed.js';

export async function migrate(args: string[], paths: ProductPaths): Promise<number> {
  const { values } = parseArgs({ args, options: { to: { type: 'string' } } });
  if (!values.to || !(SECRET_STORE_KINDS as readonly string[]).includes(values.to)) {
    throw new UserError(`--to must be one of ${SECRET_STORE_KINDS.join(', ')}`);
  }
  if (process.env[SECRET_STORE_ENV]) {
    throw new UserError(`${SECRET_STORE_ENV} is set and overrides the recorded choice; unset it to migrate (the migration records the store in config.json)`);
  }
  const to = values.to as SecretStoreKind;
  const selected = openSecretStore(paths);
  const current = selected.selection();
  if (current.kind === to && !current.migration && current.reason !== 'default') {
    const left = await selected.store(to === 'keychain' ? 'file' : 'keychain').list().catch(() => []);
    if (left.length === 0) {
      process.stdout.write(`The secrets are already in the ${to} store; nothing to move.\n`);
      return 0;
    }
  }
  const pauseAfter = Number(process.env.GIT_CREDENTIAL_BITBUCKET_TEST_PAUSE_AFTER_MOVES);
  const result = await migrateSecrets(to, {
    paths,
    stores: { keychain: selected.store('keychain'), file: selected.store('file') },
    onMoved: async (moved) => {
      // For the interrupted-migration test only: stop here until killed.
      if (Number.isInteger(pauseAfter) && moved === pauseAfter) {
        process.stderr.write(`paused after ${moved} secret(s)\n`);
        await new Promise(() => setInterval(() => undefined, 60_000));
      }
    },
  });
  await tellDaemonSecretsChanged(paths);
  const target = selected.store(to);
  process.stdout.write(
    `${result.resumed ? 'Completed the interrupted migration' : 'Migrated'}: ${result.moved} secret(s) moved from the ${result.from} store to the ${to} store (${target.location}).` +
      (target.plaintext ? ' The file store is PLAINTEXT: anyone who can read your files can read it.' : '') +
      '\n',
  );
  return 0;
}
