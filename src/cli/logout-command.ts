// `logout NAME`: drop an account's OAuth tokens and keep everything else (the account, its routes,
// its OAuth client, its static secret), as `gh auth logout` does. The daemon deletes the tokens:
// it is the only writer of OAuth tokens and holds them in memory, so it is started if it is not
// running, and a daemon that cannot start fails the logout with nothing changed.

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { readConfig } from '../core/config.js';
import { describeSecretKind } from '../core/hosts/host.js';
import type { Account } from '../core/accounts.js';
import { UserError } from '../core/errors.js';
import { findAccount, onePositional } from './account-commands.js';
import { dropLogin } from './oauth-session.js';

export async function logoutCommand(args: string[], paths: ProductPaths): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const account = findAccount(readConfig(paths.configFile).accounts, onePositional(positionals, 'NAME'));
  if (!account.oauth) {
    throw new UserError(`account ${account.name} has no OAuth client, so it has no OAuth tokens to drop; \`git-credential-bitbucket account remove ${account.name}\` deletes an account with its secret`);
  }
  const dropped = await dropLogin(paths, account.name, `logout of account ${account.name} failed (nothing was deleted)`);
  const head = dropped ? `Logged out account ${account.name}: its OAuth tokens are deleted.` : `Account ${account.name} was not logged in with OAuth; nothing to delete.`;
  process.stdout.write(`${head} ${whatGitGetsNext(account)}\n`);
  return 0;
}

/** After a logout: the static secret, or nothing until the next login. */
function whatGitGetsNext(account: Account): string {
  const login = `\`git-credential-bitbucket login ${account.name}\``;
  return account.secretKind
    ? `git now gets its ${describeSecretKind(account.secretKind)}; ${login} uses OAuth again.`
    : `git gets no credential from this account until ${login}.`;
}
