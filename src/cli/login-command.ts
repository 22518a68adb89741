// `login NAME [--no-browser] [--timeout SECONDS]`: the OAuth authorization-code flow. Nothing is
// stored until Bitbucket has issued tokens, so a failed or cancelled login changes nothing; the
// tokens then go to the daemon, which stores them (it is the only writer of OAuth tokens). The
// daemon is started before the browser opens, so a daemon that cannot start fails the login
// before anyone grants access. The answer comes from the loopback listener or, always, pasted on
// stdin: on a server the browser is on another machine (or none opens), and the person should not
// have to know that in advance and start again with --no-browser.

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { readConfig } from '../core/config.js';
import { hostFor } from '../core/hosts/host.js';
import { OAuthClient, OAuthRejectedError, OAuthUnavailableError } from '../core/oauth/oauth-client.js';
import { openSecretStore } from '../core/secrets/open-store.js';
import { findAccount, onePositional } from './account-commands.js';
import { requireDaemon, storeLogin } from './oauth-session.js';
import { UserError } from '../core/errors.js';
import { listenForRedirect } from './loopback-redirect.js';
import { browserUnavailable, openBrowser } from './open-browser.js';
import { waitForPaste, type PastedRedirect } from './pasted-redirect.js';

const DEFAULT_TIMEOUT_SECONDS = 300;

export async function loginCommand(args: string[], paths: ProductPaths): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'no-browser': { type: 'boolean', default: false }, timeout: { type: 'string' } },
  });
  const account = findAccount(readConfig(paths.configFile).accounts, onePositional(positionals, 'NAME'));
  if (!account.oauth) {
    throw new UserError(`account ${account.name} has no OAuth client; set one with \`git-credential-bitbucket account set-oauth ${account.name} --oauth-client-id ID\` (and --oauth-client-secret-stdin)`);
  }
  const timeoutSeconds = values.timeout === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(values.timeout);
  if (!(timeoutSeconds > 0)) throw new UserError('--timeout takes a number of seconds');

  const store = openSecretStore(paths);
  const clientSecret = await store.get({ account: account.name, slot: 'oauth-client-secret' });
  if (clientSecret === undefined && hostFor(account.kind).oauth.requiresClientSecret) {
    throw new UserError(`account ${account.name} has no OAuth client secret in the ${store.name} store; pipe it to \`git-credential-bitbucket account set-oauth ${account.name} --oauth-client-id ${account.oauth.clientId} --oauth-client-secret-stdin\``);
  }
  const failed = `login of account ${account.name} failed (nothing was stored)`;
  await requireDaemon(paths, failed);
  const client = new OAuthClient();
  const request = await client.authorizationRequest(account);

  let answer: PastedRedirect;
  if (values['no-browser']) {
    process.stdout.write(
      `Open this URL in a browser, log in and grant access:\n  ${request.url}\n` +
        `The browser is then sent to ${request.redirectUri}?code=… (the page may fail to load: that is fine).\n` +
        'Paste that whole address (or just the code) here and press Enter:\n',
    );
    answer = await waitForPaste(request, 'only').pasted;
  } else {
    const wait = await listenForRedirect(account.oauth.redirectPort, request.state, timeoutSeconds * 1000, account.name);
    const paste = waitForPaste(request, 'alongside');
    const unavailable = browserUnavailable();
    process.stdout.write(
      (unavailable
        ? `No browser can be opened here (${unavailable}). To log in account ${account.name}, open this address in a browser on any machine:\n`
        : `Opening Bitbucket in your browser to log in account ${account.name}. If nothing opens, visit this address (on any machine):\n`) +
        `  ${request.url}\n` +
        `After "Grant access" the browser comes back here by itself. From another machine it shows ${request.redirectUri}?code=… instead (the page may fail to load): ` +
        `paste that whole address (or just the code) here and press Enter. Waiting up to ${timeoutSeconds} s.\n`,
    );
    if (!unavailable) {
      openBrowser(request.url, (problem) =>
        process.stderr.write(`git-credential-bitbucket: could not open a browser (${problem}); open the address above in a browser and paste the address it is sent to here\n`),
      );
    }
    try {
      answer = await Promise.race([wait.redirect.then((redirect) => ({ redirect, expectedState: request.state })), paste.pasted]);
    } finally {
      wait.close();
      paste.close();
    }
  }
  const { redirect, expectedState } = answer;

  let tokens;
  try {
    tokens = await client.exchangeCode(account, clientSecret, request, redirect, expectedState);
  } catch (error) {
    if (error instanceof OAuthRejectedError || error instanceof OAuthUnavailableError) {
      throw new UserError(`login of account ${account.name} failed: ${error.message}; nothing was stored`);
    }
    throw error;
  }
  if (tokens.refreshToken === undefined) {
    throw new UserError(`Bitbucket issued no refresh token for account ${account.name}; check the OAuth client's settings. Nothing was stored`);
  }
  await storeLogin(paths, account.name, { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresAt: tokens.expiresAt }, failed);
  process.stdout.write(`Logged in account ${account.name} with OAuth; access token valid until ${new Date(tokens.expiresAt).toISOString()}.\n`);
  return 0;
}
