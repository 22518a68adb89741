// Private files written so that a crash never leaves half a file: a temporary file in the same
// directory, flushed, then renamed over the target. Cross-process changes go through a
// proper-lockfile lock so the CLI and the daemon never interleave a read-modify-write.

import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';

export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') return;
  const stat = statSync(dir);
  if (process.getuid && stat.uid !== process.getuid()) {
    throw new Error(`${dir} belongs to another user; refusing to keep secrets or sockets there`);
  }
  if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  ensurePrivateDir(dirname(path));
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** A lock still held when we gave up waiting: another process is busy with the file. */
export class LockBusyError extends Error {}

/** A lock whose holder died is taken over after this long (proper-lockfile's minimum is 5 s). */
const LOCK_STALE_MS = 10_000;

/** Runs `task` while holding the lock that guards `path` (the file itself need not exist). */
export async function withFileLock<T>(path: string, task: () => T | Promise<T>): Promise<T> {
  ensurePrivateDir(dirname(path));
  let release: () => Promise<void>;
  try {
    // Retry for longer than the stale time (about 12 s in all), so a lock left by a killed
    // process is taken over instead of failing the command.
    release = await lockfile.lock(path, {
      realpath: false,
      stale: LOCK_STALE_MS,
      retries: { retries: 70, factor: 1, minTimeout: 180, maxTimeout: 180 },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new LockBusyError(`${path} is locked by another git-credential-bitbucket process; try again in a few seconds`);
    }
    throw error;
  }
  try {
    return await task();
  } finally {
    await release();
  }
}

/**
 * A file re-read only when it changed (inode, size or mtime), so the long-running daemon sees
 * the CLI's atomic rewrites at once without parsing the file on every request.
 */
export class ChangeAwareFile<T> {
  private identity = '';
  private cached: T | undefined;

  constructor(
    readonly path: string,
    private readonly parse: (text: string) => T,
    private readonly whenMissing: () => T,
  ) {}

  read(): T {
    let identity: string;
    try {
      const stat = statSync(this.path);
      identity = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.whenMissing();
      throw error;
    }
    if (identity !== this.identity || this.cached === undefined) {
      this.cached = this.parse(readFileSync(this.path, 'utf8'));
      this.identity = identity;
    }
    return this.cached;
  }
}
