// `account set-identity NAME --name N --email E | --clear`: the commit author for the
// repositories routed to an account. Stored in config.json; git applies it through the includes
// `install` writes (installer/identities.ts), kept in step here when install has written them.

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { describeIdentity, validateIdentity, type CommitIdentity } from '../core/accounts.js';
import { updateConfig } from '../core/config.js';
import { UserError } from '../core/errors.js';
import { findAccount, onePositional } from './account-commands.js';
import { keepIdentitiesInStep } from './identity-refresh.js';

export async function setIdentity(args: string[], paths: ProductPaths): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { name: { type: 'string' }, email: { type: 'string' }, clear: { type: 'boolean', default: false } },
  });
  const accountName = onePositional(positionals, 'NAME');
  if (values.clear && (values.name !== undefined || values.email !== undefined)) throw new UserError('give --clear alone, or --name and --email without it');
  if (!values.clear && values.name === undefined && values.email === undefined) {
    throw new UserError(`give the commit author: account set-identity ${accountName} --name "Full Name" --email ADDRESS (or --clear)`);
  }
  const identity = await updateConfig(paths.configFile, (config) => {
    const account = findAccount(config.accounts, accountName);
    if (values.clear) {
      delete account.identity;
      return undefined;
    }
    // A flag left out keeps its value: changing the e-mail alone keeps the name.
    const given: CommitIdentity = { ...account.identity };
    if (values.name !== undefined) given.name = values.name;
    if (values.email !== undefined) given.email = values.email;
    account.identity = validateIdentity(given, '--name/--email');
    return account.identity;
  });
  process.stdout.write(
    identity
      ? `Account ${accountName}: commits in the repositories routed to it are by ${describeIdentity(identity)}.\n`
      : `Account ${accountName}: no commit identity; its repositories use git's own user.name and user.email.\n`,
  );
  const applied = keepIdentitiesInStep(paths, `The identity of account ${accountName} was saved`);
  if (!applied && identity) process.stdout.write('Run `git-credential-bitbucket install` to hand it to git (it writes one includeIf key per route of the account).\n');
  return 0;
}
