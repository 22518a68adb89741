// The per-user daemon, started detached by the helper (or `daemon start`). It claims the
// socket under a start-up lock, so of several daemons started at once exactly one serves and
// the others exit cleanly; a socket file left by a killed daemon is detected and replaced.
// Nobody sees a detached daemon's stderr, so a start that fails says why in one line where
// the waiting helpers read it (shared/start-failure.ts), naming only paths that exist.
// It runs as one CommonJS bundle (dist/daemon/daemon.cjs, see package.json): the first git
// operation after an idle exit waits for this start, and a bundle costs no module resolution.

import { chmodSync, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { releaseLock, tryLock } from '../shared/holder-lock.js';
import { productPaths, type ProductPaths } from '../shared/paths.js';
import { nonSocketProblem, runtimeDirProblem } from '../shared/runtime-dir.js';
import { clearStartFailure, writeStartFailure } from '../shared/start-failure.js';
import { wireCredentialService } from './credential-wiring.js';
import { onNetworkWarning } from '../core/network/fetch-like-git.js';
import { OAuthSessions } from './oauth/sessions.js';
import { ensurePrivateDir, sweepStaleTempFiles } from '../core/files.js';
import { createLogger } from './log.js';
import { createCacheProtocolServer } from './cache-protocol-server.js';
import { SecretCache } from './secret-cache.js';
import { createDaemonServer } from './server.js';
import { Forwards } from './forwards.js';
import { listen } from './listen.js';
import { SocketGuard } from './socket-guard.js';
import { RequestEvents } from './ui/request-events.js';
import { favourMemory } from './memory.js';
import { productVersion } from '../core/version.js';

/** How long a shutdown waits for answers already being worked on. */
const DRAIN_TIMEOUT_MS = 2000;
/**
 * How long a daemon waits for another one that is claiming the sockets. Its holder needs a few
 * seconds at most (a probe and a git cache daemon asked to exit, 2 s each); a holder that has
 * died is noticed at once, whatever this says.
 */
const CLAIM_WAIT_MS = 30_000;
const isWindows = process.platform === 'win32';

const paths = productPaths();
let runtimeDirClaimed = false;
let log: Logger | undefined;
// No top-level await: the daemon runs as a CommonJS bundle (see the build in package.json).
void start();

async function start(): Promise<void> {
  favourMemory();
  try {
    if (!isWindows) claimRuntimeDir(paths.runtimeDir);
    runtimeDirClaimed = true;
    log = openLog(paths);
    await serve(paths, log);
  } catch (error) {
    failStart(error);
  }
}

/** Says why in the log (once there is one), on stderr, and to the waiting helpers; then exits. */
function failStart(error: unknown): never {
  const cause = error instanceof Error ? error.message : String(error);
  log?.fatal({ err: { message: cause, code: (error as NodeJS.ErrnoException).code } }, 'daemon failed to start');
  const message = `the daemon could not start: ${cause}${log ? ` (its log: ${paths.logFile})` : ''}`;
  // Never through a runtime directory that is itself the problem (a link could point anywhere).
  if (runtimeDirClaimed) {
    try {
      writeStartFailure(paths.startFailure, message);
    } catch {
      // the helper that started us still sees the exit code
    }
  }
  process.stderr.write(`git-credential-bitbucket: ${message}\n`);
  process.exit(1);
}

/**
 * The socket directory, created 0700 and checked through a descriptor opened without following
 * links: a link planted at a predictable /tmp name must not get a victim directory chmod-ed or
 * sockets put into it (issue #12).
 */
function claimRuntimeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new Error(`cannot create ${dir}: ${fsCause(dir, error)}`);
  }
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    // A link or a file there (ELOOP or ENOTDIR, depending on the system): lstat says which.
    const stat = lstatSync(dir, { throwIfNoEntry: false });
    const what = (stat && runtimeDirProblem(stat)) ?? `cannot be opened (${(error as NodeJS.ErrnoException).code})`;
    throw new Error(`refusing the socket directory ${dir}: it ${what}; remove it`);
  }
  try {
    const problem = runtimeDirProblem(fstatSync(fd));
    if (problem) throw new Error(`refusing the socket directory ${dir}: it ${problem}; remove it (the daemon recreates it with mode 0700)`);
  } finally {
    closeSync(fd);
  }
}

/** The state directory and the log in it; before this succeeds there is no log to point at. */
function openLog(where: ProductPaths): Logger {
  try {
    ensurePrivateDir(where.stateDir);
  } catch (error) {
    if (!(error as NodeJS.ErrnoException).code) throw error; // already says what and where
    throw new Error(`cannot create ${where.stateDir}: ${fsCause(where.stateDir, error)}`);
  }
  try {
    closeSync(openSync(where.logFile, 'a', 0o600));
    if (!isWindows) chmodSync(where.logFile, 0o600);
  } catch (error) {
    throw new Error(`cannot open ${where.logFile}: ${fsCause(where.logFile, error)}`);
  }
  return createLogger(where.logFile);
}

/** Why creating or opening `path` failed, and what to do about the causes people meet. */
function fsCause(path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return `${code} (permission denied); make ${dirname(path)} writable for you`;
  if (code === 'EEXIST' || code === 'ENOTDIR') return `${code} (a file stands where a directory must be); move it away`;
  if (code === 'EROFS') return `${code} (read-only file system); set GIT_CREDENTIAL_BITBUCKET_HOME to a writable place`;
  return code ?? (error as Error).message;
}

async function serve(where: ProductPaths, logger: Logger): Promise<void> {
  const version = productVersion();
  onNetworkWarning((warning) => logger.warn({ warning }, 'network'));
  const events = new RequestEvents(logger);
  let secretCache: SecretCache | undefined;
  const { config, store, tokens, service, setting } = wireCredentialService(where, logger, {
    serveKeychainThrough: (keychain) => (secretCache = new SecretCache(keychain, { ttlMs: () => setting('secretCache') })),
    onSecretRefused: (account) => secretCache?.drop(account),
    events,
  });

  const startedAt = new Date();
  let requests = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let socketInode: number | undefined;
  let cacheSocketInode: number | undefined;
  let stopping = false;

  const idleTimeoutSeconds = () => setting('idleTimeout');

  const armIdleTimer = (): void => {
    if (idleTimer) clearTimeout(idleTimer);
    // An open page or an open forward is in use for as long as it lasts, requests or not.
    idleTimer = setTimeout(() => (events.keepsAlive() || forwards.size > 0 ? armIdleTimer() : void shutdown('idle timeout')), idleTimeoutSeconds() * 1000);
    idleTimer.unref();
  };

  /** A request on either socket: count it and restart the idle clock. */
  const onActivity = (): void => {
    requests++;
    armIdleTimer();
  };

  const guard = new SocketGuard({ runtimeDir: where.runtimeDir, sockets: [where.socketPath, where.cacheSocketPath], log: logger, onUnsafe: (reason) => void shutdown(reason) });
  const admit = () => guard.admit();
  const connectionTimeoutMs = setting('connectionTimeout');

  const forwards = new Forwards({ service, log: logger, events, accountNames: () => config.current().accounts.map((account) => account.name), onActivity, connectionTimeoutMs });
  const daemon = createDaemonServer({
    service,
    log: logger,
    events,
    info: () => ({
      pid: process.pid,
      version,
      startedAt: startedAt.toISOString(),
      requests,
      configDir: where.configDir,
      socketPath: where.socketPath,
      logFile: where.logFile,
      forwards: forwards.list(),
    }),
    onActivity,
    admit,
    connectionTimeoutMs,
    oauth: new OAuthSessions({ config, tokens, log: logger }),
    onSecretsChanged: (account) => {
      secretCache?.drop(account);
      // Without an account: a migration ended (or secrets.json came or went).
      if (account === undefined) store.reselect();
    },
    onStopRequested: (reason) => void shutdown(reason),
    forwards,
  });

  const fastPath = isWindows ? undefined : createCacheProtocolServer({ service, log: logger, onActivity, admit, connectionTimeoutMs });

  const shutdown = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason, requests }, 'daemon stopping');
    // Remove the socket only if it is still ours: a successor may already have replaced it.
    if (!isWindows) {
      for (const [path, inode] of [[where.socketPath, socketInode], [where.cacheSocketPath, cacheSocketInode]] as const) {
        try {
          if (statSync(path).ino === inode) unlinkSync(path);
        } catch {
          // already gone
        }
      }
    }
    daemon.server.close();
    fastPath?.close();
    events.close();
    forwards.closeAll(`the daemon stops: ${reason}`);
    await Promise.race([daemon.drained(), new Promise((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS))]);
    process.exit(0);
  };

  const claimSocket = async (): Promise<boolean> => {
    if (isWindows) return listen(daemon.server, where.socketPath).then(() => true, () => false);
    await lockForClaim(where.daemonLock);
    try {
      // A directory or file at a socket path is someone's: say so, touch nothing.
      const blocked = nonSocketProblem(where.socketPath) ?? nonSocketProblem(where.cacheSocketPath);
      if (blocked) throw new Error(blocked);
      if (await isAnswering(where.socketPath)) return false;
      try {
        unlinkSync(where.socketPath);
        logger.warn({ socket: where.socketPath }, 'replaced a stale socket left by a daemon that died');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      // The fast path first: a daemon that answers on its main socket is ready, both sockets ours.
      cacheSocketInode = await claimFastPath();
      await listen(daemon.server, where.socketPath);
      chmodSync(where.socketPath, 0o600);
      socketInode = statSync(where.socketPath).ino;
      clearStartFailure(where.startFailure);
      return true;
    } finally {
      releaseLock(where.daemonLock);
    }
  };

  /**
   * When our daemon is down, git's `store` through the cache client starts git's own cache
   * daemon on this path. The helper value the installer writes gives it `--timeout 1`, so it
   * exits within seconds anyway; if it still holds the path, it is told to exit (its own
   * `action=exit`) and the socket is taken over.
   */
  const claimFastPath = async (): Promise<number | undefined> => {
    if (!fastPath) return undefined;
    const path = where.cacheSocketPath;
    if (await isAnswering(path)) {
      await askToExit(path);
      for (let i = 0; i < 100 && (await isAnswering(path)); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      logger.warn({ socket: path }, 'fast path: stopped a git credential-cache daemon that held the socket');
    }
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await listen(fastPath, path);
    chmodSync(path, 0o600);
    return statSync(path).ino;
  };

  if (!(await claimSocket())) {
    logger.info({ socket: where.socketPath }, 'another daemon already serves this socket; exiting');
    process.exit(0);
  }
  logger.info({ socket: where.socketPath, fastPath: fastPath ? where.cacheSocketPath : null, version, idleTimeoutSeconds: idleTimeoutSeconds() }, 'daemon started');
  armIdleTimer();
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  for (const file of await sweepStaleTempFiles([where.configFile, where.secretsFile, where.stateFile])) logger.warn({ file }, 'removed a temporary file a killed process left behind');
}

/** Waits while another daemon claims the sockets; a lock whose holder died is taken at once. */
async function lockForClaim(lock: string): Promise<void> {
  const deadline = Date.now() + CLAIM_WAIT_MS;
  while (!tryLock(lock, CLAIM_WAIT_MS)) {
    if (Date.now() > deadline) {
      throw new Error(`${lock} has been held for ${CLAIM_WAIT_MS / 1000} s by another daemon that is starting; if none is, remove the file`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** git-credential-cache's own "exit" request. */
function askToExit(socketPath: string): Promise<void> {
  return new Promise((resolve) => {
    const client = connect(socketPath, () => client.end('action=exit\ntimeout=0\n'));
    client.setTimeout(2000, () => client.destroy());
    client.on('close', () => resolve());
    client.on('error', () => resolve());
    client.resume();
  });
}

/** Whether something listens at `socketPath`; with nothing there (every cold start) no connection is tried. */
function isAnswering(socketPath: string): Promise<boolean> {
  if (!isWindows && lstatSync(socketPath, { throwIfNoEntry: false }) === undefined) return Promise.resolve(false);
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
