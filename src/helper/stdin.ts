// Reads git's request synchronously: a helper starts on every git operation, and a plain
// read loop is cheaper than setting up a stream. Reading stops at the first blank line,
// at EOF, or one byte past the limit so that oversized input can be refused. A standard input
// that cannot be read at all (a directory, a descriptor open only for writing) is not a request
// from git: it is reported as one line, never as a stack trace.

import { readSync } from 'node:fs';

const CHUNK = 16 * 1024;

/** What a read error says about standard input, for the one line the user sees. */
const UNREADABLE: Readonly<Record<string, string>> = {
  EISDIR: 'is a directory',
  EBADF: 'is not open for reading',
};

export class UnreadableInputError extends Error {}

export function readRequest(limit: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total <= limit) {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let n: number;
    try {
      n = readSync(0, chunk, 0, CHUNK, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (code === 'EOF') break;
      const what = (code !== undefined && UNREADABLE[code]) || 'could not be read';
      throw new UnreadableInputError(`standard input ${what}${code ? ` (${code})` : ''}`);
    }
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
    if (endsRequest(chunks, total)) break;
  }
  return Buffer.concat(chunks, total);
}

/** True once the input holds a blank line (git's end-of-request marker). */
function endsRequest(chunks: Buffer[], total: number): boolean {
  const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  return all[0] === 0x0a || all.includes('\n\n') || all.includes('\n\r\n');
}
