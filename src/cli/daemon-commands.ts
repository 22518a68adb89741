// `daemon start|stop|status`.

import { readFileSync } from 'node:fs';
import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import type { DaemonInfo } from '../shared/wire.js';
import { DaemonUnavailableError, exchange } from '../client/daemon-client.js';
import { printJson } from './io.js';

export async function startDaemon(args: string[], paths: ProductPaths): Promise<number> {
  parseArgs({ args, options: {} });
  const info = await daemonInfo(paths, true);
  process.stdout.write(`Daemon running: pid ${info!.pid}, socket ${info!.socketPath}.\n`);
  return 0;
}

export async function stopDaemon(args: string[], paths: ProductPaths): Promise<number> {
  parseArgs({ args, options: {} });
  const info = await daemonInfo(paths, false);
  if (!info) {
    process.stdout.write('Daemon not running.\n');
    return 0;
  }
  await exchange(paths, { type: 'stop' }, { autoStart: false });
  if (!(await exited(info.pid))) {
    process.stderr.write(`git-credential-bitbucket: the daemon (pid ${info.pid}) was asked to stop but still runs after ${STOP_WAIT_MS / 1000} s; \`kill ${info.pid}\` ends it\n`);
    return 1;
  }
  process.stdout.write(`Stopped the daemon (pid ${info.pid}).\n`);
  return 0;
}

/** Exit 3 when no daemon runs, so scripts can test for it. */
export async function daemonStatus(args: string[], paths: ProductPaths): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const info = await daemonInfo(paths, false);
  if (values.json) printJson(info ? { running: true, ...info } : { running: false, socketPath: paths.socketPath });
  else process.stdout.write(describeDaemon(info, paths) + '\n');
  return info ? 0 : 3;
}

/** The running daemon's details, or undefined when none runs (and autoStart is false). */
export async function daemonInfo(paths: ProductPaths, autoStart: boolean): Promise<DaemonInfo | undefined> {
  try {
    const response = await exchange(paths, { type: 'ping' }, { autoStart, answerTimeoutMs: 5000 });
    if (response.type !== 'pong') return undefined;
    const { v: _v, type: _type, ...info } = response;
    return info;
  } catch (error) {
    if (error instanceof DaemonUnavailableError && !autoStart) return undefined;
    throw error;
  }
}

export function describeDaemon(info: DaemonInfo | undefined, paths: ProductPaths): string {
  if (!info) return `Daemon: not running (socket ${paths.socketPath}); git starts it on demand.`;
  return `Daemon: running, pid ${info.pid}, version ${info.version}, since ${info.startedAt}, ${info.requests} request(s); socket ${info.socketPath}; log ${info.logFile}`;
}

/** The daemon answers `stop`, then closes its sockets and lets requests under way finish (up to 2 s) before it exits. */
const STOP_WAIT_MS = 10_000;

/** "Stopped" means the process is gone, not only its sockets: whatever runs next finds nothing of it. */
async function exited(pid: number): Promise<boolean> {
  for (const deadline = Date.now() + STOP_WAIT_MS; Date.now() < deadline; ) {
    if (!isRunning(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An exited daemon its parent has not reaped yet (the helper that started it is long gone) is a zombie: it holds nothing.
  try {
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return process.platform !== 'linux';
  }
}
