// Lock files that name their holder, so that a lock left by a killed process is taken over at
// once, however young it is (issue #12: a stale spawn.lock cost each git call 5 s, a stale
// daemon.lock 10 s, because staleness was judged by age). The record is the holder's pid and,
// on Linux, its start time from /proc/<pid>/stat, so a pid the system gave to a new process
// does not keep a dead holder's lock alive. Where no start time can be read (macOS, Windows, a
// Linux without /proc) a running pid counts as the holder, and a lock older than the longest
// hold its caller allows is stale, so a reused pid cannot keep it forever. Node built-ins only:
// the thin helper uses it.
//
// Race-safety: a lock is created with its record in one step (link of a written temporary
// file, which fails if the lock exists). A dead holder's lock is removed only under a second
// lock, `<lock>.break`, and only if it still holds the record judged dead, so two processes
// that both found it stale cannot remove a lock a third has taken meanwhile.

import { linkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';

/** This process's start time, read once: it never changes, and locks are retried often. */
const OWN_START_TIME = startTime('self');
/** Whether start times can be compared here: Linux with /proc mounted. */
const HAS_START_TIMES = OWN_START_TIME !== undefined;
/** What a lock this process takes says about its holder. */
const OWN_RECORD = `${process.pid} ${OWN_START_TIME ?? ''}\n`;

/**
 * Takes the lock at `path` unless a running process holds it. `maxHoldMs`: no holder keeps it
 * longer, so where start times cannot be compared an older lock is stale whoever runs.
 */
export function tryLock(path: string, maxHoldMs: number): boolean {
  // Each failed round removed a dead holder's lock (or saw one released); a few suffice.
  for (let round = 0; round < 3; round++) {
    if (createWithRecord(path)) return true;
    const record = readRecord(path);
    if (record !== undefined && holderRunning(record) && !heldTooLong(path, maxHoldMs)) return false;
    if (record !== undefined && !removeDeadHolders(path, record)) return false;
  }
  return false;
}

export function releaseLock(path: string): void {
  rmSync(path, { force: true });
}

function createWithRecord(path: string): boolean {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    // Inside the try: a write a full disk cut short must not leave its temporary file behind.
    writeFileSync(temp, OWN_RECORD, { flag: 'wx', mode: 0o600 });
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Only where start times cannot tell a reused pid from the holder: judged by the lock's age. */
function heldTooLong(path: string, maxHoldMs: number): boolean {
  if (HAS_START_TIMES) return false;
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat !== undefined && Date.now() - stat.mtimeMs > maxHoldMs;
}

/** The lock's record; '' for one that cannot be read as a file (an older version's lock directory). */
function readRecord(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR') return '';
    throw error;
  }
}

/**
 * Removes the lock at `path` if it still holds `record` (a dead holder's), under `<path>.break`.
 * False when another process is doing the same right now: the caller counts the lock as busy.
 */
function removeDeadHolders(path: string, record: string): boolean {
  const breaker = `${path}.break`;
  if (!createWithRecord(breaker)) {
    // A breaker holds it for a few system calls; one killed in between left it behind.
    const other = readRecord(breaker);
    if (other === undefined || holderRunning(other)) return false;
    // Still the dead breaker's record: not one a live breaker wrote since.
    if (readRecord(breaker) === other) rmSync(breaker, { force: true });
    return true;
  }
  try {
    if (readRecord(path) === record) rmSync(path, { recursive: true, force: true });
  } finally {
    rmSync(breaker, { force: true });
  }
  return true;
}

/** Whether the process a record names still runs; an unreadable record (no holder named) does not. */
function holderRunning(record: string): boolean {
  const match = /^(\d+) (\d*)\n$/.exec(record);
  if (!match) return false;
  const pid = Number(match[1]);
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it runs, as someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Without /proc a running pid is the holder (heldTooLong covers a reused one); with it, a pid
  // whose /proc entry is gone or a zombie has ended, and one with another start time is reused.
  if (!HAS_START_TIMES) return true;
  const now = startTime(String(pid));
  return now !== undefined && (match[2] === '' || now === match[2]);
}

/**
 * A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined
 * without /proc, or for a process that has ended (gone, or a zombie nobody has reaped yet).
 */
function startTime(pid: string): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count from its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
}
