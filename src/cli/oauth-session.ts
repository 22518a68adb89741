// The CLI's side of the rule that the daemon is the only writer of OAuth tokens: `login` hands the
// grant to the daemon, `logout`, `account set-oauth` and `account remove` ask it to drop the
// tokens. The tokens cross only the daemon's socket (0600 in a 0700 directory); nothing here
// prints them or puts them in an error.

import type { ProductPaths } from '../shared/paths.js';
import type { DaemonResponse, OAuthTokens } from '../shared/wire.js';
import { DaemonUnavailableError, exchange } from '../client/daemon-client.js';
import { UserError } from '../core/errors.js';

/** Starts the daemon if needed; `failed` says what did not happen, e.g. "login of account work failed". */
export async function requireDaemon(paths: ProductPaths, failed: string): Promise<void> {
  await ask(paths, { type: 'ping' }, failed);
}

/** Has the daemon store a new grant. Returns whether it replaced an earlier one. */
export async function storeLogin(paths: ProductPaths, account: string, tokens: OAuthTokens, failed: string): Promise<boolean> {
  return hadTokens(await ask(paths, { type: 'oauth-login', account, tokens }, failed), failed);
}

/** Has the daemon drop the account's OAuth tokens (starting it if needed). Returns whether there were any. */
export async function dropLogin(paths: ProductPaths, account: string, failed: string): Promise<boolean> {
  return hadTokens(await ask(paths, { type: 'oauth-logout', account }, failed), failed);
}

/**
 * After `account remove`: a running daemon drops the tokens and forgets them (a refresh under way
 * finishes first). With none running nobody else writes them, and the caller deletes them itself.
 */
export async function dropLoginIfDaemonRuns(paths: ProductPaths, account: string): Promise<void> {
  await exchange(paths, { type: 'oauth-logout', account }, { autoStart: false }).catch((error: unknown) => {
    if (!(error instanceof DaemonUnavailableError)) throw error;
  });
}

async function ask(paths: ProductPaths, request: Parameters<typeof exchange>[1], failed: string): Promise<DaemonResponse> {
  let response: DaemonResponse;
  try {
    response = await exchange(paths, request, { autoStart: true });
  } catch (error) {
    if (error instanceof DaemonUnavailableError) throw new UserError(`${failed}: ${error.message}`);
    throw error;
  }
  if (response.type === 'error') throw new UserError(`${failed}: the daemon answered: ${response.message}`);
  return response;
}

function hadTokens(response: DaemonResponse, failed: string): boolean {
  if (response.type !== 'oauth-session') throw new Error(`unexpected answer from the daemon: ${response.type}`);
  if (!response.ok) throw new UserError(`${failed}: ${response.problem}`);
  return response.hadTokens;
}
