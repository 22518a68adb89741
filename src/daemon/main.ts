// The per-user daemon, started detached by the helper (or `daemon start`). It claims the
// socket under a start-up lock, so of several daemons started at once exactly one serves and
// the others exit cleanly; a socket file left by a killed daemon is detected and replaced.

import { closeSync, openSync, readFileSync, statSync, unlinkSync, chmodSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { join } from 'node:path';
import { productPaths, type ProductPaths } from '../shared/paths.js';
import { AccountStateBook } from './account-state.js';
import { ConfigCache, ConfigError } from './config.js';
import { CredentialService } from './credential-service.js';
import { ensurePrivateDir, withFileLock } from './files.js';
import { createLogger } from './log.js';
import { openSecretStore } from './secrets/open-store.js';
import { createDaemonServer } from './server.js';

const DEFAULT_IDLE_TIMEOUT_SECONDS = 3600;

const paths = productPaths();
const isWindows = process.platform === 'win32';
if (!isWindows) ensurePrivateDir(paths.runtimeDir);
ensurePrivateDir(paths.stateDir);
closeSync(openSync(paths.logFile, 'a', 0o600));
const log = createLogger(paths.logFile);
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const config = new ConfigCache(paths.configFile);
const service = new CredentialService({
  config,
  store: openSecretStore(paths),
  states: new AccountStateBook(paths.stateFile),
  log,
});

const startedAt = new Date();
let requests = 0;
let idleTimer: NodeJS.Timeout | undefined;
let socketInode: number | undefined;
let stopping = false;

const server = createDaemonServer({
  service,
  log,
  info: () => ({
    pid: process.pid,
    version,
    startedAt: startedAt.toISOString(),
    requests,
    configDir: paths.configDir,
    socketPath: paths.socketPath,
    logFile: paths.logFile,
  }),
  onActivity: () => {
    requests++;
    armIdleTimer();
  },
  onStopRequested: (reason) => shutdown(reason),
});

const claimed = await claimSocket(server, paths);
if (!claimed) {
  log.info({ socket: paths.socketPath }, 'another daemon already serves this socket; exiting');
  process.exit(0);
}
log.info({ socket: paths.socketPath, version, idleTimeoutSeconds: idleTimeoutSeconds() }, 'daemon started');
armIdleTimer();
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

async function claimSocket(target: Server, where: ProductPaths): Promise<boolean> {
  if (isWindows) return listen(target, where.socketPath).then(() => true, () => false);
  return withFileLock(join(where.runtimeDir, 'daemon'), async () => {
    if (await isAnswering(where.socketPath)) return false;
    try {
      unlinkSync(where.socketPath);
      log.warn({ socket: where.socketPath }, 'replaced a stale socket left by a daemon that died');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await listen(target, where.socketPath);
    chmodSync(where.socketPath, 0o600);
    socketInode = statSync(where.socketPath).ino;
    return true;
  });
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

function idleTimeoutSeconds(): number {
  const fromEnv = Number(process.env.GIT_CREDENTIAL_BITBUCKET_IDLE_TIMEOUT);
  if (Number.isFinite(fromEnv) && fromEnv > 0) return fromEnv;
  try {
    return config.current().daemon.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS;
  } catch (error) {
    if (error instanceof ConfigError) return DEFAULT_IDLE_TIMEOUT_SECONDS;
    throw error;
  }
}

function armIdleTimer(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => shutdown('idle timeout'), idleTimeoutSeconds() * 1000);
  idleTimer.unref();
}

function shutdown(reason: string): void {
  if (stopping) return;
  stopping = true;
  log.info({ reason, requests }, 'daemon stopping');
  // Remove the socket only if it is still ours; a successor may already have replaced it.
  if (!isWindows) {
    try {
      if (statSync(paths.socketPath).ino === socketInode) unlinkSync(paths.socketPath);
    } catch {
      // already gone
    }
  }
  server.close();
  // Let answers already written reach their helpers, then leave even if a client lingers.
  setTimeout(() => process.exit(0), 50).unref();
  setTimeout(() => process.exit(0), 2000);
}
