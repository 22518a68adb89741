// Why the daemon could not start, told to the helpers waiting for it. A detached daemon has no
// terminal, and one that fails before it can open its log (issue #12: an unwritable state
// directory) left every git call waiting out the start timeout and naming a log that did not
// exist. Instead it writes one line into the private runtime directory before it exits; every
// helper waiting for it reads that at its next retry. The record carries the daemon's pid, so a
// helper can tell a new report from one it found already there. Node built-ins only.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/** The report as stored, to compare with a later read; undefined when there is none. */
export function readStartFailure(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The one line a report holds. */
export function startFailureMessage(report: string): string | undefined {
  try {
    const { message } = JSON.parse(report) as { message?: unknown };
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

/** The daemon's last word: written whole (temporary file, then rename), so a reader never sees half. */
export function writeStartFailure(path: string, message: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify({ pid: process.pid, message }) + '\n', { flag: 'wx', mode: 0o600 });
  renameSync(temp, path);
}

/** A daemon that started removes the last failure's report: it no longer says anything true. */
export function clearStartFailure(path: string): void {
  rmSync(path, { force: true });
}
