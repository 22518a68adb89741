// `status`: the daemon, the files, the secret store and every account with what the daemon
// learnt about it. Never a secret.

import { parseArgs } from 'node:util';
import type { ProductPaths } from '../shared/paths.js';
import { readAccountStates } from '../daemon/account-state.js';
import { readConfig } from '../daemon/config.js';
import { describeSecretKind } from '../daemon/hosts/host.js';
import { openSecretStore } from '../daemon/secrets/open-store.js';
import { daemonInfo, describeDaemon } from './daemon-commands.js';
import { printJson } from './io.js';

export async function statusCommand(args: string[], paths: ProductPaths): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const config = readConfig(paths.configFile);
  const states = readAccountStates(paths.stateFile);
  const store = openSecretStore(paths);
  const stored = new Set((await store.list()).map((ref) => `${ref.account}/${ref.slot}`));
  const daemon = await daemonInfo(paths, false);
  const accounts = config.accounts.map((account) => ({
    name: account.name,
    kind: account.kind,
    url: account.url,
    username: account.username,
    auth: account.secretKind ?? null,
    secretStored: stored.has(`${account.name}/static`),
    rejectedAt: states.get(account.name)?.rejectedAt ?? null,
    rejectedPath: states.get(account.name)?.rejectedPath ?? null,
    lastSuccessAt: states.get(account.name)?.lastSuccessAt ?? null,
  }));
  if (values.json) {
    printJson({
      daemon: daemon ? { running: true, ...daemon } : { running: false, socketPath: paths.socketPath },
      configFile: paths.configFile,
      secretStore: { name: store.name, plaintext: store.plaintext, location: store.location },
      accounts,
      routes: config.routes,
    });
    return 0;
  }
  const lines = [
    describeDaemon(daemon, paths),
    `Config: ${paths.configFile}`,
    `Secret store: ${store.name} (${store.location})${store.plaintext ? ' — PLAINTEXT: readable by anyone who can read your files' : ''}`,
    `Accounts (${accounts.length}):`,
    ...accounts.map((account) => {
      const secret = account.auth ? `${describeSecretKind(account.auth)}${account.secretStored ? '' : ' (MISSING from the store)'}` : 'no secret';
      const state = account.rejectedAt
        ? `REJECTED at ${account.rejectedAt}${account.rejectedPath ? ` for ${account.rejectedPath}` : ''}`
        : account.lastSuccessAt
          ? `last success ${account.lastSuccessAt}`
          : 'not used yet';
      return `  ${account.name}: ${account.kind} ${account.url}, user ${account.username}, ${secret}; ${state}`;
    }),
    `Routes (${config.routes.length}):`,
    ...config.routes.map((route) => `  ${route.pattern} → ${route.account}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
