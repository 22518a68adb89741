// The per-user daemon, started detached by the helper (or `daemon start`). It claims the
// socket under a start-up lock, so of several daemons started at once exactly one serves and
// the others exit cleanly; a socket file left by a killed daemon is detected and replaced.

import { chmodSync, closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { productPaths, type ProductPaths } from '../shared/paths.js';
import { AccountStateBook } from './account-state.js';
import { ConfigCache, ConfigError, MAX_IDLE_TIMEOUT_SECONDS } from './config.js';
import { CredentialService } from './credential-service.js';
import { ensurePrivateDir, withFileLock } from './files.js';
import { createLogger } from './log.js';
import { openSecretStore } from './secrets/open-store.js';
import { createDaemonServer } from './server.js';
import { productVersion } from './version.js';

const DEFAULT_IDLE_TIMEOUT_SECONDS = 3600;
/** How long a shutdown waits for answers already being worked on. */
const DRAIN_TIMEOUT_MS = 2000;
const isWindows = process.platform === 'win32';

const paths = productPaths();
ensurePrivateDir(paths.stateDir);
closeSync(openSync(paths.logFile, 'a', 0o600));
if (!isWindows) chmodSync(paths.logFile, 0o600);
const log = createLogger(paths.logFile);

try {
  await serve(paths, log);
} catch (error) {
  // Nobody sees a detached daemon's stderr; the helper's message points at this log.
  log.fatal({ err: { message: (error as Error).message, code: (error as NodeJS.ErrnoException).code } }, 'daemon failed to start');
  process.exit(1);
}

async function serve(where: ProductPaths, logger: Logger): Promise<void> {
  if (!isWindows) ensurePrivateDir(where.runtimeDir);
  const version = productVersion();
  const config = new ConfigCache(where.configFile);
  const service = new CredentialService({
    config,
    store: openSecretStore(where),
    states: new AccountStateBook(where.stateFile),
    log: logger,
  });

  const startedAt = new Date();
  let requests = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let socketInode: number | undefined;
  let stopping = false;

  const idleTimeoutSeconds = (): number => {
    const fromEnv = Number(process.env.GIT_CREDENTIAL_BITBUCKET_IDLE_TIMEOUT);
    if (Number.isFinite(fromEnv) && fromEnv > 0) return Math.min(fromEnv, MAX_IDLE_TIMEOUT_SECONDS);
    try {
      return config.current().daemon.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS;
    } catch (error) {
      if (error instanceof ConfigError) return DEFAULT_IDLE_TIMEOUT_SECONDS;
      throw error;
    }
  };

  const armIdleTimer = (): void => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => void shutdown('idle timeout'), idleTimeoutSeconds() * 1000);
    idleTimer.unref();
  };

  const daemon = createDaemonServer({
    service,
    log: logger,
    info: () => ({
      pid: process.pid,
      version,
      startedAt: startedAt.toISOString(),
      requests,
      configDir: where.configDir,
      socketPath: where.socketPath,
      logFile: where.logFile,
    }),
    onActivity: () => {
      requests++;
      armIdleTimer();
    },
    onStopRequested: (reason) => void shutdown(reason),
  });

  const shutdown = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason, requests }, 'daemon stopping');
    // Remove the socket only if it is still ours: a successor may already have replaced it.
    if (!isWindows) {
      try {
        if (statSync(where.socketPath).ino === socketInode) unlinkSync(where.socketPath);
      } catch {
        // already gone
      }
    }
    daemon.server.close();
    await Promise.race([daemon.drained(), new Promise((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS))]);
    process.exit(0);
  };

  const claimSocket = async (): Promise<boolean> => {
    if (isWindows) return listen(daemon.server, where.socketPath).then(() => true, () => false);
    return withFileLock(join(where.runtimeDir, 'daemon'), async () => {
      if (await isAnswering(where.socketPath)) return false;
      try {
        unlinkSync(where.socketPath);
        logger.warn({ socket: where.socketPath }, 'replaced a stale socket left by a daemon that died');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      await listen(daemon.server, where.socketPath);
      chmodSync(where.socketPath, 0o600);
      socketInode = statSync(where.socketPath).ino;
      return true;
    });
  };

  if (!(await claimSocket())) {
    logger.info({ socket: where.socketPath }, 'another daemon already serves this socket; exiting');
    process.exit(0);
  }
  logger.info({ socket: where.socketPath, version, idleTimeoutSeconds: idleTimeoutSeconds() }, 'daemon started');
  armIdleTimer();
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

function listen(target: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    target.once('error', reject);
    target.listen(socketPath, () => {
      target.off('error', reject);
      resolve();
    });
  });
}

function isAnswering(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socketPath);
    const done = (alive: boolean) => {
      probe.destroy();
      resolve(alive);
    };
    probe.setTimeout(2000, () => done(true));
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
  });
}
