// `account set-oauth NAME --oauth-client-id ID …` and `account set-oauth NAME --remove`: give an
// existing account an OAuth client, change it or take it away, keeping the account and its routes
// (before, that took `account remove`, which deletes the routes, and `account add`). Tokens belong
// to the client that was granted them: a new client or --remove drops them, through the daemon
// (the only writer of OAuth tokens); the client secret is the account's setting and written here,
// as `account add` does.

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { validateOAuthSettings, type Account, type OAuthSettings } from '../core/accounts.js';
import { readConfig, updateConfig } from '../core/config.js';
import { UserError } from '../core/errors.js';
import { describeSecretKind, hostFor } from '../core/hosts/host.js';
import { openSecretStore } from '../core/secrets/open-store.js';
import { findAccount, onePositional } from './account-commands.js';
import { readSecretsFromStdin } from './io.js';
import { dropLogin } from './oauth-session.js';

/** --redirect-port and --scopes as `account add` and `account set-oauth` spell them. */
export function oauthSettingsFromFlags(clientId: string, flags: { 'redirect-port'?: string; scopes?: string }, previous?: OAuthSettings): OAuthSettings {
  const port = flags['redirect-port'] === undefined ? previous?.redirectPort : Number(flags['redirect-port']);
  const scopes = flags.scopes === undefined ? previous?.scopes : flags.scopes.split(/[\s,]+/).filter(Boolean);
  return validateOAuthSettings({ clientId, redirectPort: port, scopes });
}

export async function setOAuth(args: string[], paths: ProductPaths): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'oauth-client-id': { type: 'string' },
      'oauth-client-secret-stdin': { type: 'boolean', default: false },
      'redirect-port': { type: 'string' },
      scopes: { type: 'string' },
      remove: { type: 'boolean', default: false },
    },
  });
  const name = onePositional(positionals, 'NAME');
  const clientId = values['oauth-client-id'];
  if (values.remove) {
    if (clientId !== undefined || values['oauth-client-secret-stdin'] || values['redirect-port'] !== undefined || values.scopes !== undefined) {
      throw new UserError('--remove takes no other option');
    }
    return removeClient(findAccount(readConfig(paths.configFile).accounts, name), paths);
  }
  if (clientId === undefined) throw new UserError('pass --oauth-client-id ID to set the OAuth client, or --remove to take it away');
  const account = findAccount(readConfig(paths.configFile).accounts, name);
  const sameClient = account.oauth?.clientId === clientId;
  const settings = oauthSettingsFromFlags(clientId, values, sameClient ? account.oauth : undefined);
  const store = openSecretStore(paths);
  const secretRef = { account: name, slot: 'oauth-client-secret' } as const;
  if (hostFor(account.kind).oauth.requiresClientSecret && !values['oauth-client-secret-stdin'] && !(sameClient && (await store.get(secretRef)) !== undefined)) {
    throw new UserError('a Bitbucket Cloud OAuth consumer has a secret: pipe it and pass --oauth-client-secret-stdin');
  }
  const [clientSecret] = values['oauth-client-secret-stdin'] ? await readSecretsFromStdin(1) : [];

  const dropped = account.oauth && !sameClient ? await dropLogin(paths, name, `changing the OAuth client of account ${name} failed (nothing was changed)`) : false;
  if (clientSecret !== undefined) await store.set(secretRef, clientSecret);
  else if (!sameClient) await store.delete(secretRef); // the old client's, if any
  await updateConfig(paths.configFile, (config) => {
    findAccount(config.accounts, name).oauth = settings;
  });
  const what = `Account ${name}: OAuth client ${clientId}, callback http://127.0.0.1:${settings.redirectPort}/`;
  const tokens = sameClient
    ? '; its OAuth tokens were kept'
    : `${dropped ? "; the old client's tokens are deleted" : ''}. Run \`git-credential-bitbucket login ${name}\` to log in`;
  process.stdout.write(`${what}${tokens}.\n`);
  return 0;
}

async function removeClient(account: Account, paths: ProductPaths): Promise<number> {
  const name = account.name;
  if (!account.oauth) throw new UserError(`account ${name} has no OAuth client; nothing was changed`);
  if (!account.secretKind) {
    throw new UserError(
      `account ${name} has no static secret, so without its OAuth client git would get nothing from it; nothing was changed. Add one first with \`git-credential-bitbucket account set-secret ${name} --secret-stdin\`, or remove the account`,
    );
  }
  const dropped = await dropLogin(paths, name, `removing the OAuth client of account ${name} failed (nothing was changed)`);
  await openSecretStore(paths).delete({ account: name, slot: 'oauth-client-secret' });
  await updateConfig(paths.configFile, (config) => {
    delete findAccount(config.accounts, name).oauth;
  });
  process.stdout.write(
    `Removed the OAuth client ${account.oauth.clientId} of account ${name}${dropped ? ' and its tokens' : ''}; git now gets its ${describeSecretKind(account.secretKind)}.\n`,
  );
  return 0;
}
