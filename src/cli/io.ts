// Small input/output helpers shared by the sub-commands.

import { readFileSync } from 'node:fs';
import type { ProductPaths } from '../shared/paths.js';
import { UserError } from './errors.js';

const MAX_SECRET_BYTES = 16 * 1024;

/** Reads a secret piped on stdin (one line; the trailing newline is not part of it). */
export function readSecretFromStdin(): string {
  if (process.stdin.isTTY) {
    throw new UserError('--secret-stdin reads the secret from a pipe, e.g. `printf %s "$TOKEN" | git-credential-bitbucket ...`');
  }
  const raw = readFileSync(0);
  if (raw.byteLength > MAX_SECRET_BYTES) throw new UserError(`the secret on stdin is larger than ${MAX_SECRET_BYTES / 1024} KiB`);
  const secret = raw.toString('utf8').replace(/\r?\n$/, '');
  if (secret === '') throw new UserError('no secret on stdin');
  if (/[\r\n\0]/.test(secret)) throw new UserError('the secret on stdin spans several lines; pipe exactly one line');
  return secret;
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

export type Subcommand = (args: string[], paths: ProductPaths) => Promise<number>;

/** Runs the named sub-command, or prints the usage: exit 0 when it was asked for, 1 otherwise. */
export async function runSubcommand(args: string[], paths: ProductPaths, usage: string, commands: Record<string, Subcommand>): Promise<number> {
  const [name, ...rest] = args;
  const command = name !== undefined && Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command) return command(rest, paths);
  process.stdout.write(usage + '\n');
  return name === undefined || name === '--help' || name === 'help' ? 0 : 1;
}
