// `route add|list|remove` (`route suggest` is route-suggest.ts); their usage is in the command
// table (commands.ts).

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { normaliseRoutePattern } from '../core/accounts.js';
import { readConfig, updateConfig } from '../core/config.js';
import { addRouteTo } from './route-edit.js';
import { keepIdentitiesInStep } from './identity-refresh.js';
import { UserError } from '../core/errors.js';
import { printJson, printTable } from './io.js';

export async function addRoute(args: string[], paths: ProductPaths): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 2) throw new UserError('expected PATTERN ACCOUNT');
  const [rawPattern, accountName] = positionals as [string, string];
  const pattern = normaliseRoutePattern(rawPattern);
  const outcome = await updateConfig(paths.configFile, (config) => addRouteTo(config, pattern, accountName));
  process.stdout.write(outcome === 'added' ? `Added route ${pattern} → ${accountName}.\n` : `Route ${pattern} → ${accountName} exists already.\n`);
  keepIdentitiesInStep(paths, `Route ${pattern} was added`);
  return 0;
}

export async function listRoutes(args: string[], paths: ProductPaths): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const routes = readConfig(paths.configFile).routes;
  if (values.json) printJson(routes);
  else if (routes.length === 0) process.stdout.write('No routes. A host with one account needs none.\n');
  else printTable(['PATTERN', 'ACCOUNT'], routes.map((route) => [route.pattern, route.account]));
  return 0;
}

export async function removeRoute(args: string[], paths: ProductPaths): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UserError('expected PATTERN');
  const pattern = normaliseRoutePattern(positionals[0]!);
  await updateConfig(paths.configFile, (config) => {
    if (!config.routes.some((route) => route.pattern === pattern)) {
      throw new UserError(`no route ${pattern}; see \`git-credential-bitbucket route list\``);
    }
    config.routes = config.routes.filter((route) => route.pattern !== pattern);
  });
  process.stdout.write(`Removed route ${pattern}.\n`);
  keepIdentitiesInStep(paths, `Route ${pattern} was removed`);
  return 0;
}
