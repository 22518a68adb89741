// The one way a route enters config.json, for `route add` and `route suggest --apply`.

import { basePathOf, originOf, parseRoutePattern } from '../core/accounts.js';
import type { Config } from '../core/config.js';
import { findAccount } from './account-commands.js';
import { UserError } from '../core/errors.js';

/** Adds one route to a config being updated; refuses a route the account cannot serve or one taken by another account. */
export function addRouteTo(config: Config, pattern: string, accountName: string): 'added' | 'unchanged' {
  const account = findAccount(config.accounts, accountName);
  const { origin, path } = parseRoutePattern(pattern);
  const accountOrigin = originOf(account.url);
  if (origin.host === accountOrigin.host && origin.protocol !== accountOrigin.protocol) {
    const fixed = `${accountOrigin.protocol}://${accountOrigin.host}${path ? `/${path}` : ''}`;
    throw new UserError(`account ${account.name} is on ${accountOrigin.protocol}://${accountOrigin.host}, but the route says ${origin.protocol}://: the scheme differs; write it as '${fixed}'`);
  }
  if (origin.host !== accountOrigin.host) {
    throw new UserError(`account ${account.name} is on ${accountOrigin.protocol}://${accountOrigin.host}; a route for it must be on the same host`);
  }
  const base = basePathOf(account.url).toLowerCase();
  if (base && !(path.toLowerCase() + '/').startsWith(base + '/')) {
    throw new UserError(`account ${account.name} lives under ${account.url}; the route must start with it`);
  }
  const existing = config.routes.find((route) => route.pattern === pattern);
  if (existing?.account === account.name) return 'unchanged';
  if (existing) throw new UserError(`route ${pattern} already leads to ${existing.account}; remove it first`);
  config.routes.push({ pattern, account: account.name });
  return 'added';
}
