// `daemon start|stop|status`.

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
  await waitUntilGone(paths);
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

async function waitUntilGone(paths: ProductPaths): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (!(await daemonInfo(paths, false))) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
