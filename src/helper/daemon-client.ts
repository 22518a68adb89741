// Talks to the per-user daemon: connect, send one request, read one answer. When nothing
// listens it starts the daemon detached and retries for a bounded time. Only node:* imports:
// this runs on every git operation.

import { closeSync, lstatSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ProductPaths } from '../shared/paths.js';
import { SETTINGS, readSetting, type Setting } from '../shared/settings.js';
import { MAX_FRAME_BYTES, WIRE_VERSION, encodeMessage, type DaemonRequest, type DaemonResponse } from '../shared/wire.js';

export class DaemonUnavailableError extends Error {}

export interface ExchangeOptions {
  /** Start the daemon when none answers. */
  autoStart: boolean;
  /** How long to wait for a freshly started daemon. */
  startTimeoutMs?: number;
  /** How long one answer may take (a refresh against Bitbucket can be in the path). */
  answerTimeoutMs?: number;
}

type RequestBody = DaemonRequest extends infer R ? (R extends DaemonRequest ? Omit<R, 'v'> : never) : never;

const RETRY_INTERVAL_MS = 20;
/** A spawn lock older than this was left by a helper that died; take it over. */
const SPAWN_LOCK_STALE_MS = 5000;

export async function exchange(paths: ProductPaths, body: RequestBody, options: ExchangeOptions): Promise<DaemonResponse> {
  const request = { v: WIRE_VERSION, ...body } as DaemonRequest;
  const startTimeoutMs = options.startTimeoutMs ?? setting(SETTINGS.startTimeout);
  const answerTimeoutMs = options.answerTimeoutMs ?? setting(SETTINGS.answerTimeout);

  const unsafe = unsafeRuntimeDir(paths.runtimeDir);
  if (unsafe) throw new DaemonUnavailableError(unsafe);
  const first = await tryExchange(paths.socketPath, request, answerTimeoutMs);
  if (first.kind === 'answer' && !wantsFreshDaemon(first.response)) return first.response;
  if (first.kind === 'failed') throw first.error;
  if (!options.autoStart) {
    if (first.kind === 'answer') return first.response;
    throw new DaemonUnavailableError('the daemon is not running');
  }

  // No daemon, or one that is now exiting (another version, a dead secret store connection): start
  // ours and wait for it. A secret-store-reconnect from the daemon started here is final: one
  // handover per request, never a loop.
  const deadline = Date.now() + startTimeoutMs;
  let ownsSpawnLock = false;
  let last: Attempt = first;
  while (Date.now() < deadline) {
    if (!ownsSpawnLock) ownsSpawnLock = await trySpawnDaemon(paths);
    const unsafeNow = unsafeRuntimeDir(paths.runtimeDir);
    if (unsafeNow) throw new DaemonUnavailableError(unsafeNow);
    await sleep(RETRY_INTERVAL_MS);
    last = await tryExchange(paths.socketPath, request, answerTimeoutMs);
    if (last.kind === 'answer' && !isVersionMismatch(last.response)) {
      if (ownsSpawnLock) releaseSpawnLock(paths);
      return last.response;
    }
    if (last.kind === 'failed') break;
  }
  if (ownsSpawnLock) releaseSpawnLock(paths);
  if (last.kind === 'failed') throw last.error;
  throw new DaemonUnavailableError(
    `the daemon did not start within ${Math.round(startTimeoutMs / 1000)} s (its log: ${paths.logFile})`,
  );
}

/**
 * Whoever owns the socket directory receives every credential git sends. Before sending any,
 * make sure it is a real directory of ours that nobody else can enter (the fallback location
 * under /tmp is predictable, and another user could create it first).
 */
function unsafeRuntimeDir(dir: string): string | undefined {
  if (process.platform === 'win32') return undefined;
  let stat;
  try {
    stat = lstatSync(dir);
  } catch {
    return undefined; // not there yet: the daemon creates it 0700
  }
  const problem = !stat.isDirectory()
    ? 'is not a directory'
    : process.getuid && stat.uid !== process.getuid()
      ? 'belongs to another user'
      : (stat.mode & 0o077) !== 0
        ? 'can be entered by other users'
        : undefined;
  return problem && `refusing to use the daemon socket: ${dir} ${problem}; remove it (the daemon recreates it with mode 0700)`;
}

type Attempt =
  | { kind: 'answer'; response: DaemonResponse }
  | { kind: 'absent' }
  | { kind: 'failed'; error: Error };

function tryExchange(socketPath: string, request: DaemonRequest, answerTimeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let received = '';
    let settled = false;
    const settle = (attempt: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(attempt);
    };
    const timer = setTimeout(
      () => settle({ kind: 'failed', error: new DaemonUnavailableError(`the daemon did not answer within ${answerTimeoutMs / 1000} s`) }),
      answerTimeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(encodeMessage(request)));
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\n');
      if (end >= 0) {
        try {
          settle({ kind: 'answer', response: JSON.parse(received.slice(0, end)) as DaemonResponse });
        } catch {
          settle({ kind: 'failed', error: new DaemonUnavailableError('the daemon sent an unreadable answer') });
        }
      } else if (received.length > MAX_FRAME_BYTES) {
        settle({ kind: 'failed', error: new DaemonUnavailableError('the daemon sent an oversized answer') });
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A missing or dead socket means "no daemon"; a socket we may not use is a real problem.
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET' || error.code === 'EPIPE') {
        settle({ kind: 'absent' });
      } else {
        settle({ kind: 'failed', error: new DaemonUnavailableError(`cannot reach the daemon at ${socketPath}: ${error.code ?? error.message}`) });
      }
    });
    socket.on('close', () => settle({ kind: 'absent' }));
  });
}

function isVersionMismatch(response: DaemonResponse): boolean {
  return response.type === 'error' && response.code === 'version-mismatch';
}

function wantsFreshDaemon(response: DaemonResponse): boolean {
  return isVersionMismatch(response) || (response.type === 'error' && response.code === 'secret-store-reconnect');
}

/**
 * Starts the daemon unless another helper already is. Twenty git processes started at once
 * would otherwise start twenty daemons that then race for the socket; the daemon copes with
 * that too, but the lock saves the machine the work.
 */
async function trySpawnDaemon(paths: ProductPaths): Promise<boolean> {
  if (process.platform !== 'win32') mkdirSync(paths.runtimeDir, { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(paths.spawnLock, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    if (!isStale(paths.spawnLock)) return false;
    try {
      unlinkSync(paths.spawnLock);
    } catch {
      // another helper took it over first
    }
    return false;
  }
  // Loaded only here: most git operations find the daemon running and never spawn.
  const { spawn } = await import('node:child_process');
  const entry = fileURLToPath(new URL('../daemon/main.js', import.meta.url));
  // The daemon runs from "/", so it gets the config home already resolved.
  const env = process.env.GIT_CREDENTIAL_BITBUCKET_HOME ? { ...process.env, GIT_CREDENTIAL_BITBUCKET_HOME: paths.configDir } : process.env;
  // A small young generation: under a burst of requests V8 otherwise grows it for good, and a
  // long-lived daemon should stay small (the bench measures RSS over 10,000 requests).
  const child = spawn(process.execPath, ['--max-semi-space-size=2', entry], { detached: true, stdio: 'ignore', cwd: '/', env, windowsHide: true });
  child.on('error', () => releaseSpawnLock(paths));
  child.unref();
  return true;
}

function isStale(lock: string): boolean {
  try {
    return Date.now() - statSync(lock).mtimeMs > SPAWN_LOCK_STALE_MS;
  } catch {
    return false;
  }
}

function releaseSpawnLock(paths: ProductPaths): void {
  try {
    unlinkSync(paths.spawnLock);
  } catch {
    // already gone
  }
}

/** A helper-side setting; a value outside its range is named once on stderr and not used. */
function setting(definition: Setting): number {
  const { value, problem } = readSetting(definition, process.env);
  if (problem) process.stderr.write(`git-credential-bitbucket: ${problem}\n`);
  return value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
