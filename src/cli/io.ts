// Small input/output helpers shared by the sub-commands.

import { UserError } from '../core/errors.js';

const MAX_SECRET_BYTES = 16 * 1024;

/**
 * Reads `count` secrets piped on stdin, one per line (the trailing newline is not part of a
 * secret). Two flags can ask for one each: --secret-stdin first, then --oauth-client-secret-stdin.
 * Read as a stream: a pipe whose writer is slow is non-blocking, and a synchronous read of it
 * fails with EAGAIN instead of waiting (a script that writes the secret a moment late).
 */
export async function readSecretsFromStdin(count: number): Promise<string[]> {
  if (process.stdin.isTTY) {
    throw new UserError('secrets are read from a pipe, e.g. `printf %s "$TOKEN" | git-credential-bitbucket ...`');
  }
  const limit = MAX_SECRET_BYTES * count;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > limit) {
      process.stdin.destroy();
      throw new UserError(`the secrets on stdin are larger than ${limit / 1024} KiB`);
    }
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks, size);
  const lines = raw.toString('utf8').replace(/\r?\n$/, '').split(/\r?\n/);
  if (lines.length !== count || lines.some((line) => line === '')) {
    throw new UserError(count === 1 ? 'expected exactly one secret (one line) on stdin' : `expected ${count} secrets on stdin, one per line`);
  }
  if (lines.some((line) => line.includes('\0'))) throw new UserError('a secret on stdin contains a NUL byte');
  return lines;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints rows as aligned columns. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
}
