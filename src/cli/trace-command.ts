// `trace [--json]`: prints each decision of the daemon as it happens, until interrupted. git's own
// cache client (the fast path) carries no environment and shows no stderr, so the helper's
// GIT_CREDENTIAL_BITBUCKET_TRACE cannot cover it; the daemon sees every request, through either
// socket, and already streams one RequestEvent per answer to watchers (the `ui` page): this is
// one more watcher. A daemon that stops (idle exit, `daemon stop`) is followed by the next one.

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { describeEvent } from '../shared/request-decision.js';
import type { RequestEvent } from '../shared/wire.js';
import { DaemonUnavailableError } from '../client/daemon-client.js';
import { watchDaemon, type DaemonWatch } from '../client/daemon-watch.js';
import { UserError } from '../core/errors.js';

const PREFIX = 'git-credential-bitbucket trace: ';
/** Between attempts to follow a daemon that went away (the attempt starts the next one). */
const RETRY_MS = 1000;

export async function traceCommand(args: string[], paths: ProductPaths): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const print = (event: RequestEvent) => process.stdout.write((values.json ? JSON.stringify(event) : describeEvent(event)) + '\n');
  let interrupted = false;
  let watch: DaemonWatch | undefined;
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      interrupted = true;
      watch?.close();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

  const pause = () => Promise.race([new Promise((resolve) => setTimeout(resolve, RETRY_MS)), stopped]);
  let following = false;
  while (!interrupted) {
    try {
      watch = await watchDaemon(paths, print);
    } catch (error) {
      if (!(error instanceof DaemonUnavailableError)) throw error;
      // At the start the command fails; later the daemon may be restarting: keep trying.
      if (!following) throw new UserError(`trace cannot follow the daemon: ${error.message}`);
      process.stderr.write(`${PREFIX}cannot follow the daemon: ${error.message}; trying again\n`);
      await pause();
      continue;
    }
    // On stderr: stdout holds only the decisions (one JSON object per line with --json).
    process.stderr.write(
      following ? `${PREFIX}following the daemon again\n` : `${PREFIX}following the daemon's answers to git (through the helper and the fast path) until Ctrl-C; no secret is shown\n`,
    );
    following = true;
    await Promise.race([watch.ended, stopped]);
    watch.close();
    if (interrupted) break;
    process.stderr.write(`${PREFIX}the daemon stopped; following the next one\n`);
    await pause();
  }
  return 0;
}
