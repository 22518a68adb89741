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
import { followDaemon } from '../client/daemon-watch.js';
import { UserError } from '../core/errors.js';
import { catchInterrupt } from './interrupt.js';

const PREFIX = 'git-credential-bitbucket trace: ';

export async function traceCommand(args: string[], paths: ProductPaths): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const print = (event: RequestEvent) => process.stdout.write((values.json ? JSON.stringify(event) : describeEvent(event)) + '\n');
  const interruption = catchInterrupt();
  // On stderr: stdout holds only the decisions (one JSON object per line with --json).
  const follower = followDaemon(paths, {
    onEvent: print,
    onWatching: (again) =>
      process.stderr.write(again ? `${PREFIX}following the daemon again\n` : `${PREFIX}following the daemon's answers to git (through the helper and the fast path) until Ctrl-C; no secret is shown\n`),
    onEnded: () => process.stderr.write(`${PREFIX}the daemon stopped; following the next one\n`),
    onProblem: (error, watchedBefore) => {
      if (!(error instanceof DaemonUnavailableError)) throw error;
      // At the start the command fails; later the daemon may be restarting: keep trying.
      if (!watchedBefore) throw new UserError(`trace cannot follow the daemon: ${error.message}`);
      process.stderr.write(`${PREFIX}cannot follow the daemon: ${error.message}; trying again\n`);
    },
  });
  try {
    await Promise.race([interruption.signalled, follower.done]);
  } finally {
    follower.stop();
    interruption.release();
  }
  await follower.done;
  return 0;
}
