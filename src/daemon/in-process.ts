// Answers one git request inside the helper's own process with the daemon's credential service
// (the same routing, secrets, refreshes, messages and log lines), for one-shot jobs where a
// background daemon would outlive the job and keep the environment of whichever job started it
// (see shared/daemonless.ts for when). The helper loads this module lazily, only then. Nothing
// here listens or holds the process open: it ends once the answer is printed. The wiring is the
// daemon's own (credential-wiring.ts).

import { pino, type Logger } from 'pino';
import type { Credential } from '../shared/credential-protocol.js';
import type { ProductPaths } from '../shared/paths.js';
import { WIRE_VERSION, type CredentialAction, type DaemonResponse } from '../shared/wire.js';
import { ensurePrivateDir } from '../core/files.js';
import { wireCredentialService } from './credential-wiring.js';
import { createLogger } from './log.js';

/** The answer as the daemon would send it, so the helper prints it the same way. */
export async function answerInProcess(paths: ProductPaths, action: CredentialAction, credential: Credential): Promise<DaemonResponse> {
  const { service } = wireCredentialService(paths, openLog(paths));
  const answered = await service.handle(action, credential, 'in-process');
  // Armed once answered (a refresh may take a while): a keychain connection left open must not keep git waiting.
  setTimeout(() => process.exit(), 1000).unref();
  return { v: WIRE_VERSION, type: 'credential', ...answered };
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
