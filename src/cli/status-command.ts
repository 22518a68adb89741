// `status`: the daemon, the files, the secret store and every account with what the daemon
// learnt about it. Never a secret. A secret store that cannot be read (a headless machine without
// a keyring, a locked keychain) hides nothing else: the facts that need it are marked, the
// problem is named, and the exit code is 1.

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { describeIdentity } from '../core/accounts.js';
import { readConfig } from '../core/config.js';
import { describeSecretStoreReport, openSecretStore, reportSecretStore } from '../core/secrets/open-store.js';
import { UNKNOWN_MARK, describeAuth, describeState, secretStoreProblemOf, summariseAccounts } from './account-summary.js';
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
  const problem = secretStoreProblemOf(accounts);
  const exitCode = problem === null ? 0 : 1;
  if (values.json) {
    printJson({
      daemon: daemon ? { running: true, ...daemon } : { running: false, socketPath: paths.socketPath },
      configFile: paths.configFile,
      secretStore: storeReport,
      accounts,
      routes: config.routes,
    });
    return exitCode;
  }
  const lines = [
    describeDaemon(daemon, paths),
    `Config: ${paths.configFile}`,
    describeSecretStoreReport(storeReport),
    `Accounts (${accounts.length}):`,
    ...accounts.map((account) => `  ${account.name}: ${account.kind} ${account.url}, user ${account.username}, ${describeAuth(account)}; ${describeState(account)}${account.identity ? `; commits as ${describeIdentity(account.identity)}` : ''}`),
    // The keychain's problem is on the secret store's line already.
    ...(problem === null ? [] : [`  ${UNKNOWN_MARK}: unknown, the secret store cannot be read${storeReport.keychainProblem ? ' (see above)' : `: ${problem}`}`]),
    `Routes (${config.routes.length}):`,
    ...config.routes.map((route) => `  ${route.pattern} → ${route.account}`),
    // A daemon started by an older version lists none.
    ...(daemon ? describeForwards(daemon.forwards ?? []) : []),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return exitCode;
}
