// Talks to the per-user daemon: connect, send one request, read one answer. When nothing
// listens it starts the daemon detached and retries for a bounded time. Only node:* imports:
// this runs on every git operation.

import { existsSync, lstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ProductPaths } from '../shared/paths.js';
import { nonSocketProblem, runtimeDirProblem } from '../shared/runtime-dir.js';
import { SETTINGS, readSetting, type Setting } from '../shared/settings.js';
import { WIRE_VERSION, type DaemonRequest, type DaemonResponse } from '../shared/wire.js';
import { firstAnswer } from './first-answer.js';

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

export async function exchange(paths: ProductPaths, body: RequestBody, options: ExchangeOptions): Promise<DaemonResponse> {
  const request = { v: WIRE_VERSION, ...body } as DaemonRequest;
  const startTimeoutMs = options.startTimeoutMs ?? setting(SETTINGS.startTimeout);
  const answerTimeoutMs = options.answerTimeoutMs ?? setting(SETTINGS.answerTimeout);

  const dir = checkRuntimeDir(paths.runtimeDir);
  if (typeof dir === 'string') throw new DaemonUnavailableError(dir);
  // No directory, no daemon. Connecting anyway would let another user who creates the directory
  // (under the shared /tmp fallback) between this check and the connect receive the request; the
  // start path below creates it 0700 and checks it before every connect.
  const first: Attempt = dir.missing ? { kind: 'absent' } : await tryExchange(paths.socketPath, request, answerTimeoutMs);
  if (first.kind === 'answer' && !isVersionMismatch(first.response)) return first.response;
  if (first.kind === 'failed') throw first.error;
  // Nothing answers: something that is not a socket in the way would stop every start.
  const blocked = first.kind === 'absent' && process.platform !== 'win32' ? (nonSocketProblem(paths.socketPath) ?? nonSocketProblem(paths.cacheSocketPath)) : undefined;
  if (blocked) throw new DaemonUnavailableError(blocked);
  if (!options.autoStart) {
    if (first.kind === 'answer') return first.response;
    throw new DaemonUnavailableError('the daemon is not running');
  }

  // No daemon, or one of another wire version (an upgrade) that is now exiting: start ours and
  // wait for it.
  const deadline = Date.now() + startTimeoutMs;
  // Loaded only here: most git operations find the daemon running and never start one. A
  // CommonJS bundle of its own (package.json), required rather than imported: an import() would
  // start Node's ESM loader and load four modules, on the path of every cold start.
  // Written from the helper bundle's point of view too: '../client/' names the same file from
  // dist/helper/ and from dist/client/.
  const { DaemonStart } = createRequire(import.meta.url)('../client/daemon-start.cjs') as typeof import('./daemon-start.js');
  const start = new DaemonStart(paths);
  let last: Attempt = first;
  try {
    while (Date.now() < deadline) {
      start.spawnUnlessStarting();
      const failure = start.failure();
      if (failure) throw new DaemonUnavailableError(failure);
      const now = checkRuntimeDir(paths.runtimeDir);
      if (typeof now === 'string') throw new DaemonUnavailableError(now);
      await start.nextChange(deadline - Date.now());
      last = await tryExchange(paths.socketPath, request, answerTimeoutMs);
      if (last.kind === 'answer' && !isVersionMismatch(last.response)) return last.response;
      if (last.kind === 'failed') throw last.error;
    }
  } finally {
    start.release();
  }
  // Only a log that exists is worth naming: a daemon that died before opening it left none.
  const log = existsSync(paths.logFile) ? ` (its log: ${paths.logFile})` : '';
  throw new DaemonUnavailableError(`the daemon did not start within ${Math.round(startTimeoutMs / 1000)} s${log}`);
}

/**
 * Whoever owns the socket directory receives every credential git sends. Before sending any,
 * make sure it is a real directory of ours that nobody else can enter (the fallback location
 * under /tmp is predictable, and another user could create it first).
 */
function checkRuntimeDir(dir: string): { missing: boolean } | string {
  if (process.platform === 'win32') return { missing: false };
  let stat;
  try {
    stat = lstatSync(dir);
  } catch {
    return { missing: true }; // not there yet: the start path creates it 0700
  }
  const problem = runtimeDirProblem(stat);
  return problem ? `refusing to use the daemon socket: ${dir} ${problem}; remove it (the daemon recreates it with mode 0700)` : { missing: false };
}

const NO_DAEMON: ReadonlySet<string> = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

type Attempt =
  | { kind: 'answer'; response: DaemonResponse }
  | { kind: 'absent' }
  | { kind: 'failed'; error: Error };

async function tryExchange(socketPath: string, request: DaemonRequest, answerTimeoutMs: number): Promise<Attempt> {
  const first = await firstAnswer(socketPath, request, { ms: answerTimeoutMs, problem: `the daemon did not answer within ${answerTimeoutMs / 1000} s` });
  switch (first.kind) {
    case 'answer':
      first.socket.destroy();
      return { kind: 'answer', response: first.response };
    case 'closed':
      return { kind: 'absent' };
    case 'unreachable':
      // A missing or dead socket means "no daemon"; a socket we may not use is a real problem.
      if (NO_DAEMON.has(first.code)) return { kind: 'absent' };
      return { kind: 'failed', error: new DaemonUnavailableError(`cannot reach the daemon at ${socketPath}: ${first.code}`) };
    case 'failed':
      return { kind: 'failed', error: new DaemonUnavailableError(first.problem) };
  }
}

function isVersionMismatch(response: DaemonResponse): boolean {
  return response.type === 'error' && response.code === 'version-mismatch';
}

/** A helper-side setting; a value outside its range is named once on stderr and not used. */
function setting(definition: Setting): number {
  const { value, problem } = readSetting(definition, process.env);
  if (problem) process.stderr.write(`git-credential-bitbucket: ${problem}\n`);
  return value;
}
