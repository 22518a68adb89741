// The page's picture of accounts and routes, built by the same functions `status` uses (the
// account summary and its two descriptions) and the router's own ranking (core/route-table.ts).
// Read afresh for each request: the CLI in a terminal may have changed config.json meanwhile.

import type { ProductPaths } from '../../shared/paths.js';
import { STATIC_SECRET_KINDS } from '../../core/accounts.js';
import { ConfigError, readConfig } from '../../core/config.js';
import { routeTable } from '../../core/route-table.js';
import { openSecretStore } from '../../core/secrets/open-store.js';
import { describeAuth, describeState, summariseAccounts } from '../account-summary.js';
import { daemonInfo, describeDaemon } from '../daemon-commands.js';
import type { StatePayload } from './payload.js';

export async function pageState(paths: ProductPaths): Promise<StatePayload> {
  const daemon = describeDaemon(await daemonInfo(paths, false), paths);
  let config;
  try {
    config = readConfig(paths.configFile);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { daemon, configFile: paths.configFile, problem: error.message, accounts: [], routes: [], hosts: [], secretKinds: STATIC_SECRET_KINDS };
  }
  const summaries = await summariseAccounts(config, openSecretStore(paths), paths);
  const { routes, hosts } = routeTable(config);
  return {
    daemon,
    configFile: paths.configFile,
    problem: null,
    accounts: summaries.map((summary) => ({ ...summary, auth: describeAuth(summary), state: describeState(summary) })),
    routes,
    hosts,
    secretKinds: STATIC_SECRET_KINDS,
  };
}
