// Private files written so that neither a crash nor a full disk ever leaves half a file: every
// byte goes to a 0600 temporary file in the same directory (write(2) may take fewer bytes than
// asked, so we loop), which is flushed, renamed over the target, and the directory flushed. Any
// failure removes the temporary file and says, in one line, which file, why, and that it is
// unchanged. Cross-process changes go through a proper-lockfile lock so the CLI and the daemon
// never interleave a read-modify-write; a temporary file a killed process left (it may hold a
// token) is removed at the next write of its target and at daemon start.

import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type lockfile from 'proper-lockfile';

/**
 * A private file or directory could not be written, locked or kept private. The message is for
 * users (the CLI exits 1): the path, the cause in words with its code, and what to do.
 */
export class PrivateFileError extends Error {}

/** The calls a write makes, passed in so tests can simulate short writes and a full disk. */
export interface WriteCalls {
  open(path: string, flags: string, mode: number): number;
  fchmod(fd: number, mode: number): void;
  /** Returns how many bytes were written, which may be fewer than `length`. */
  write(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsync(fd: number): void;
  close(fd: number): void;
  rename(from: string, to: string): void;
  unlink(path: string): void;
}

export const NODE_WRITE_CALLS: WriteCalls = {
  open: openSync,
  fchmod: fchmodSync,
  write: (fd, buffer, offset, length) => writeSync(fd, buffer, offset, length),
  fsync: fsyncSync,
  close: closeSync,
  rename: renameSync,
  unlink: unlinkSync,
};

const isWindows = process.platform === 'win32';

export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (isWindows) return;
  const stat = statSync(dir);
  if (process.getuid && stat.uid !== process.getuid()) {
    throw new PrivateFileError(`${dir} belongs to another user; refusing to keep secrets or sockets there`);
  }
  if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** Replaces `path` with `data` (mode 0600), or throws PrivateFileError and leaves it as it was. */
export function writeFileAtomic(path: string, data: string, calls: WriteCalls = NODE_WRITE_CALLS): void {
  const dir = dirname(path);
  const bytes = Buffer.from(data, 'utf8');
  let temp: string | undefined;
  try {
    ensurePrivateDir(dir);
    removeStaleTempFiles(path);
    temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    const fd = calls.open(temp, 'wx', 0o600);
    try {
      // The umask can only narrow 0600; a narrower file would lock the next writer out.
      if (!isWindows) calls.fchmod(fd, 0o600);
      writeAll(calls, fd, bytes);
      calls.fsync(fd);
    } catch (error) {
      // The write's own error is the one to report, not a close that fails after it.
      quietly(() => calls.close(fd));
      throw error;
    }
    calls.close(fd);
    calls.rename(temp, path);
    temp = undefined;
  } catch (error) {
    // Gone already, or the disk refuses even this: the next write of the target sweeps it.
    const leftover = temp;
    if (leftover !== undefined) quietly(() => calls.unlink(leftover));
    throw asPrivateFileError(error, dir, (cause, fix) => `cannot write ${path}: ${cause}, so it was left unchanged; ${fix}`);
  }
  try {
    syncDirectory(calls, dir);
  } catch (error) {
    throw asPrivateFileError(error, dir, (cause, fix) => `${path} was replaced, but its directory could not be flushed to disk: ${cause}; ${fix}`);
  }
}

function writeAll(calls: WriteCalls, fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) {
    const written = calls.write(fd, bytes, offset, bytes.length - offset);
    if (written <= 0) throw new NoProgressError(offset, bytes.length);
    offset += written;
  }
}

/** write(2) returned 0: the file system took no more bytes and gave no reason. */
class NoProgressError extends Error {
  constructor(
    readonly written: number,
    readonly total: number,
  ) {
    super('short write');
  }
}

/** The rename is durable only once the directory entry is on disk too. */
function syncDirectory(calls: WriteCalls, dir: string): void {
  // Windows cannot open a directory as a file; NTFS journals the rename itself.
  if (isWindows) return;
  const fd = calls.open(dir, 'r', 0);
  try {
    calls.fsync(fd);
  } catch (error) {
    // Some file systems (a few FUSE ones) cannot flush a directory: nothing more can be done there.
    if (!DIRECTORY_SYNC_UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    calls.close(fd);
  }
}

const DIRECTORY_SYNC_UNSUPPORTED: ReadonlySet<string> = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP']);

function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // the caller says why this may fail
  }
}

/** The cause of a file-system failure in words, and what the user can do about it. */
const freeSpace = (): string => 'free some disk space and try again';
const CAUSES: Record<string, { cause: string; fix: (dir: string) => string }> = {
  ENOSPC: { cause: 'no space left on the device', fix: freeSpace },
  EDQUOT: { cause: 'the disk quota is used up', fix: freeSpace },
  EROFS: { cause: 'the file system is read-only', fix: (dir) => `make ${dir} writable and try again` },
  EACCES: { cause: 'permission denied', fix: (dir) => `give your user write access to ${dir} and try again` },
  EPERM: { cause: 'operation not permitted', fix: (dir) => `give your user write access to ${dir} and try again` },
  EIO: { cause: 'an input/output error', fix: () => 'check the disk and try again' },
};

/**
 * A file-system failure in `dir` as a PrivateFileError whose message `describe` builds from the
 * cause (in words, with its code) and the usual fix; anything else (a bug) is passed on as it is.
 */
function asPrivateFileError(error: unknown, dir: string, describe: (cause: string, fix: string) => string): unknown {
  if (error instanceof PrivateFileError) return error;
  if (error instanceof NoProgressError) {
    return new PrivateFileError(describe(`the disk took only ${error.written} of ${error.total} bytes (short write)`, freeSpace()));
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return error;
  const known = CAUSES[code];
  return new PrivateFileError(describe(`${known?.cause ?? 'the file system refused'} (${code})`, known ? known.fix(dir) : `check ${dir} and try again`));
}

/** `.<name>.<12 hex>.tmp`, the temporary files writeFileAtomic makes for `path`. */
function staleTempFiles(path: string): string[] {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.filter((entry) => entry.startsWith(prefix) && /^[0-9a-f]{12}\.tmp$/.test(entry.slice(prefix.length))).map((entry) => join(dir, entry));
}

/**
 * Callers write `path` under its lock or are its only writer (the daemon's state file, one
 * `install` at a time), and a write is synchronous from open to rename, so no live writer owns
 * one of these: each was left by a killed process and may hold a secret.
 */
function removeStaleTempFiles(path: string): string[] {
  const removed: string[] = [];
  for (const temp of staleTempFiles(path)) {
    try {
      unlinkSync(temp);
      removed.push(temp);
    } catch {
      // Another sweep was first, or the disk refuses: the next write tries again.
    }
  }
  return removed;
}

/**
 * At daemon start: removes the temporary files killed processes left next to `files`, each under
 * that file's lock. Never throws (the next write of a file sweeps again); returns what it removed.
 */
export async function sweepStaleTempFiles(files: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const file of files) {
    if (staleTempFiles(file).length === 0) continue;
    try {
      removed.push(...(await withFileLock(file, () => removeStaleTempFiles(file))));
    } catch {
      // busy or unwritable: the next write of this file sweeps it
    }
  }
  return removed;
}

/** A lock still held when we gave up waiting: another process is busy with the file. */
export class LockBusyError extends Error {}

/** A lock whose holder died is taken over after this long (proper-lockfile's minimum is 5 s). */
const LOCK_STALE_MS = 10_000;
/**
 * Waiting for a busy lock: longer than the stale time (about 12 s in all), so a lock left by a
 * killed process is taken over instead of failing the command.
 */
const LOCK_ATTEMPTS = 70;
const LOCK_RETRY_MS = 180;

/** proper-lockfile (and graceful-fs, which patches fs as it loads) on the first lock: a daemon's first answer takes none. */
let properLockfile: Promise<typeof lockfile> | undefined;
const loadLockfile = () => (properLockfile ??= import('proper-lockfile').then((module) => module.default));

/** Runs `task` while holding the lock that guards `path` (the file itself need not exist). */
export async function withFileLock<T>(path: string, task: () => T | Promise<T>): Promise<T> {
  let release: (() => Promise<void>) | undefined;
  // Our own loop, not proper-lockfile's `retries`: that one retries every error, so a read-only
  // or full directory would only be reported after the whole wait.
  for (let attempt = 1; release === undefined; attempt++) {
    try {
      ensurePrivateDir(dirname(path));
      release = await (await loadLockfile()).lock(path, { realpath: false, stale: LOCK_STALE_MS, retries: 0 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw asPrivateFileError(error, dirname(path), (cause, fix) => `cannot lock ${path} to change it: ${cause}, so it was left unchanged; ${fix}`);
      }
      if (attempt === LOCK_ATTEMPTS) throw new LockBusyError(`${path} is locked by another git-credential-bitbucket process; try again in a few seconds`);
      await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
    }
  }
  try {
    return await task();
  } finally {
    await release();
  }
}

/**
 * A file re-read only when it changed (inode, size or mtime), so the long-running daemon sees
 * the CLI's atomic rewrites at once without parsing the file on every request. A private one
 * has its mode checked on every read too: a chmod changes neither inode, size nor mtime, and a
 * file widened while the daemon holds it parsed must not stay readable by others.
 */
export class ChangeAwareFile<T> {
  private identity = '';
  private cached: T | undefined;

  constructor(
    readonly path: string,
    private readonly parse: (text: string) => T,
    private readonly whenMissing: () => T,
    private readonly options: { private?: boolean } = {},
  ) {}

  read(): T {
    const found = fileIdentity(this.path);
    if (!found) return this.whenMissing();
    if (this.options.private) keepPrivate(this.path, found.mode);
    if (found.identity !== this.identity || this.cached === undefined) {
      this.cached = this.parse(readFileSync(this.path, 'utf8'));
      this.identity = found.identity;
    }
    return this.cached;
  }
}

/**
 * What "this file changed" means wherever a cache depends on a file: another inode (an atomic
 * rewrite), size or mtime (in nanoseconds: two writes within a millisecond differ too). Also the
 * mode, which none of these show a chmod in. Undefined when the file does not exist.
 */
export function fileIdentity(path: string): { identity: string; mode: number } | undefined {
  const stat = statSync(path, { throwIfNoEntry: false, bigint: true });
  return stat && { identity: `${stat.ino}:${stat.size}:${stat.mtimeNs}`, mode: Number(stat.mode) };
}

/** A copy or an editor may have widened the mode; the file is the user's alone. */
function keepPrivate(path: string, mode: number): void {
  if (isWindows || (mode & 0o077) === 0) return;
  try {
    chmodSync(path, 0o600);
  } catch (error) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw asPrivateFileError(error, dirname(path), (cause) => `${path} is readable by other users (mode ${octal}) and cannot be made private: ${cause}; run \`chmod 600 ${path}\``);
  }
}
