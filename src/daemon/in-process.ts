// Answers one git request inside the helper's own process with the daemon's credential service
// (the same routing, secrets, refreshes, messages and log lines), for one-shot jobs where a
// background daemon would outlive the job and keep the environment of whichever job started it
// (see shared/daemonless.ts for when). The helper loads this module lazily, only then. Nothing
// here listens or arms a timer: the process ends once the answer is printed.

import { pino, type Logger } from 'pino';
import type { Credential } from '../shared/credential-protocol.js';
import type { ProductPaths } from '../shared/paths.js';
import { SETTINGS, readSetting } from '../shared/settings.js';
import { WIRE_VERSION, type CredentialAction, type DaemonResponse } from '../shared/wire.js';
import { AccountStateBook } from '../core/account-state.js';
import { ConfigCache } from '../core/config.js';
import { ensurePrivateDir } from '../core/files.js';
import { OAuthClient } from '../core/oauth/oauth-client.js';
import { openSecretStore } from '../core/secrets/open-store.js';
import { CredentialService, type CredentialAnswer } from './credential-service.js';
import { createLogger } from './log.js';
import { TokenManager } from './oauth/token-manager.js';

/** The answer as the daemon would send it, so the helper prints it the same way. */
export async function answerInProcess(paths: ProductPaths, action: CredentialAction, credential: Credential): Promise<DaemonResponse> {
  const answered = await answer(paths, action, credential);
  // Armed once answered (a refresh may take a while): a keychain connection left open must not keep git waiting.
  setTimeout(() => process.exit(), 1000).unref();
  return { v: WIRE_VERSION, type: 'credential', ...answered };
}

async function answer(paths: ProductPaths, action: CredentialAction, credential: Credential): Promise<CredentialAnswer> {
  const log = openLog(paths);
  const config = new ConfigCache(paths.configFile);
  const store = openSecretStore(paths, { config });
  const states = new AccountStateBook(paths.stateFile);
  const marginMs = () => readSetting(SETTINGS.refreshMargin, process.env, config.current().oauth.refreshMarginSeconds).value * 1000;
  const tokens = new TokenManager({ store, states, client: new OAuthClient(), log, marginMs });
  const service = new CredentialService({ config, store, states, tokens, log });
  return service.handle(action, credential, 'in-process');
}

/** The daemon's log file when the state directory can be had; a read-only HOME only costs the log. */
function openLog(paths: ProductPaths): Logger {
  try {
    ensurePrivateDir(paths.stateDir);
    return createLogger(paths.logFile);
  } catch {
    return pino({ enabled: false });
  }
}
