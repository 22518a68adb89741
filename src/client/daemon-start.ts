// Starting the daemon for a helper that found none, and knowing at once when it cannot start.
// Of the helpers that find no daemon at the same moment one starts it (the spawn lock) and the
// others wait for it; every one of them learns of a failed start at its next retry, from the
// daemon's report (shared/start-failure.ts) or, for the helper that started it, from its exit.
// The wait ends as soon as something happens rather than at the next poll: the socket directory
// is watched (inotify on Linux), so the daemon's socket appearing, a start report being written
// or the started daemon exiting wakes the helper at once; a slow poll stays as a safety net.
// daemon-client.ts requires it lazily as a CommonJS bundle of its own (dist/client/daemon-start.cjs,
// see package.json), left out of the helper bundle: only a git operation that finds no daemon loads it.

import { spawn } from 'node:child_process';
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withExtraCaHandedOver } from '../shared/extra-ca.js';
import { releaseLock, tryLock } from '../shared/holder-lock.js';
import { SETTINGS } from '../shared/settings.js';
import type { ProductPaths } from '../shared/paths.js';
import { readStartFailure, startFailureMessage } from '../shared/start-failure.js';

const isWindows = process.platform === 'win32';
/**
 * How often the wait looks again without news: where the socket directory cannot be watched
 * (Windows names its pipes elsewhere; a system out of inotify watches), and, as a safety net, where it is.
 */
const POLL_MS = 20;
const WATCHED_POLL_MS = 100;

export interface DaemonStartOptions {
  /** Replaces the poll interval (tests make it long, to see the watch alone at work). */
  pollMs?: number;
}

export class DaemonStart {
  private ownsSpawnLock = false;
  private watcher: FSWatcher | undefined;
  /** Something happened since the last wait began; the next wait ends at once. */
  private changed = false;
  private wake: (() => void) | undefined;
  /** What went wrong with the start this helper made (its own report aside). */
  private problem: string | undefined;
  /** A report already there is about an earlier start, not the one waited for. */
  private readonly earlierReport: string | undefined;

  constructor(
    private readonly paths: ProductPaths,
    private readonly options: DaemonStartOptions = {},
  ) {
    this.earlierReport = readStartFailure(paths.startFailure);
  }

  /**
   * Starts the daemon unless this helper or another one already has. Twenty git processes
   * started at once would otherwise start twenty daemons that then race for the socket; the
   * daemon copes with that too, but the lock saves the machine the work.
   */
  spawnUnlessStarting(): void {
    if (this.ownsSpawnLock || this.problem) return;
    try {
      // On Windows the sockets are named pipes, but the locks and the start report live here too.
      mkdirSync(this.paths.runtimeDir, { recursive: true, ...(!isWindows && { mode: 0o700 }) });
      // Before the spawn, so that not even a daemon quicker than this helper goes unnoticed.
      this.watchRuntimeDir();
      // No helper waits longer than the largest start timeout allowed.
      if (!tryLock(this.paths.spawnLock, SETTINGS.startTimeout.max)) return;
    } catch (error) {
      this.problem = `cannot create the start lock in ${this.paths.runtimeDir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
      return;
    }
    this.ownsSpawnLock = true;
    // The daemon runs from "/", so it gets the config home already resolved.
    const home = process.env.GIT_CREDENTIAL_BITBUCKET_HOME ? { ...process.env, GIT_CREDENTIAL_BITBUCKET_HOME: this.paths.configDir } : process.env;
    const env = withExtraCaHandedOver(home);
    // No V8 flags here: any flag makes V8 refuse the code cache Node ships for its own modules,
    // and the daemon's start-up would compile net, crypto and streams from source (+12 ms of CPU).
    // The daemon sets its memory flags itself, once its modules are loaded (daemon/memory.ts).
    const child = spawn(process.execPath, [DAEMON_ENTRY], { detached: true, stdio: 'ignore', cwd: '/', env, windowsHide: true });
    child.on('error', (error) => {
      this.problem = `cannot start the daemon: ${error.message}`;
      this.notice();
    });
    // Exit 0 is a daemon that found another one serving: the wait goes on.
    child.on('exit', (code, signal) => {
      const how = code === null ? `signal ${signal}` : `exit code ${code}`;
      if (code !== 0) this.problem = `the daemon ended at start-up (${how}) without saying why; run \`${process.execPath} ${DAEMON_ENTRY}\` to see its error`;
      this.notice();
    });
    child.unref();
  }

  /**
   * Resolves at the next change in the socket directory (a socket bound, listening or removed; a
   * start report written), when the daemon started here exits, or after a poll interval (at
   * most `maxMs`), whichever comes first. A change since the last wait ends this one at once.
   */
  nextChange(maxMs: number): Promise<void> {
    if (this.changed) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.notice(), Math.max(0, Math.min(maxMs, this.options.pollMs ?? (this.watcher ? WATCHED_POLL_MS : POLL_MS))));
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.changed = false;
        resolve();
      };
    });
  }

  /** Why the daemon waited for cannot start, once that is known. */
  failure(): string | undefined {
    const report = readStartFailure(this.paths.startFailure);
    const reported = report !== undefined && report !== this.earlierReport ? startFailureMessage(report) : undefined;
    return reported ?? this.problem;
  }

  release(): void {
    if (this.ownsSpawnLock) releaseLock(this.paths.spawnLock);
    this.ownsSpawnLock = false;
    this.watcher?.close();
    this.watcher = undefined;
  }

  private notice(): void {
    this.changed = true;
    this.wake?.();
  }

  /** Binding the socket, then chmod-ing it once it listens, each shows up here as an event. */
  private watchRuntimeDir(): void {
    if (this.watcher || isWindows) return;
    try {
      this.watcher = watch(this.paths.runtimeDir, { persistent: false }, () => this.notice());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // No watch to be had (inotify's limit reached): the wait polls.
    }
  }
}

const DAEMON_ENTRY = fileURLToPath(new URL('../daemon/daemon.cjs', import.meta.url));
