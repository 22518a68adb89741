// Private files written so that a crash never leaves half a file: a temporary file in the same
// directory, flushed, then renamed over the target. Cross-process changes go through a
// proper-lockfile lock so the CLI and the daemon never interleave a read-modify-write.

import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
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

/** Runs `task` while holding the lock that guards `path` (the file itself need not exist). */
export async function withFileLock<T>(path: string, task: () => T | Promise<T>): Promise<T> {
  ensurePrivateDir(dirname(path));
  const release = await lockfile.lock(path, {
    realpath: false,
    stale: 10_000,
    retries: { retries: 50, factor: 1.3, minTimeout: 10, maxTimeout: 200 },
  });
  try {
    return await task();
  } finally {
    await release();
  }
}
