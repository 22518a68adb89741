// The CLI writes secrets into the store itself, under a running daemon that keeps copies of them
// in memory (daemon/secret-cache.ts) and has chosen a store: telling it makes the next git
// operation see the change at once. No daemon running: nothing to tell. A daemon that cannot be
// told (busy, gone meanwhile) serves its copy until the secret cache's lifetime ends.

import type { ProductPaths } from '../shared/paths.js';
import { exchange } from '../client/daemon-client.js';

/** `account`: that account's secrets changed; absent: any may have, and the store with them (a migration). */
export async function tellDaemonSecretsChanged(paths: ProductPaths, account?: string): Promise<void> {
  const body = account === undefined ? { type: 'secrets-changed' as const } : { type: 'secrets-changed' as const, account };
  await exchange(paths, body, { autoStart: false, answerTimeoutMs: 5000 }).catch(() => undefined);
}
