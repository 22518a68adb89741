// `status`: the daemon, the files, the secret store and every account with what the daemon
// learnt about it. Never a secret.

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { describeIdentity } from '../core/accounts.js';
import { readConfig } from '../core/config.js';
import { describeSecretStoreReport, openSecretStore, reportSecretStore } from '../core/secrets/open-store.js';
import { describeAuth, describeState, summariseAccounts } from './account-summary.js';
import { daemonInfo, describeDaemon } from './daemon-commands.js';
import { describeForwards } from './forward-list.js';
import { printJson } from './io.js';

export async function statusCommand(args: string[], paths: ProductPaths): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const config = readConfig(paths.configFile);
  const store = openSecretStore(paths);
  const storeReport = await reportSecretStore(store);
  const daemon = await daemonInfo(paths, false);
  const accounts = await summariseAccounts(config, store, paths);
  if (values.json) {
    printJson({
      daemon: daemon ? { running: true, ...daemon } : { running: false, socketPath: paths.socketPath },
      configFile: paths.configFile,
      secretStore: storeReport,
      accounts,
      routes: config.routes,
    });
    return 0;
  }
  const lines = [
    describeDaemon(daemon, paths),
    `Config: ${paths.configFile}`,
    describeSecretStoreReport(storeReport),
    `Accounts (${accounts.length}):`,
    ...accounts.map((account) => `  ${account.name}: ${account.kind} ${account.url}, user ${account.username}, ${describeAuth(account)}; ${describeState(account)}${account.identity ? `; commits as ${describeIdentity(account.identity)}` : ''}`),
    `Routes (${config.routes.length}):`,
    ...config.routes.map((route) => `  ${route.pattern} → ${route.account}`),
    // A daemon started by an older version lists none.
    ...(daemon ? describeForwards(daemon.forwards ?? []) : []),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
