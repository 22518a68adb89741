// The daemon's log: JSON lines in the state directory. Secrets are never passed to the logger
// on purpose; censoring secret-named keys at any depth (capFields) is the second line of defence
// for a field that slips through.
// Whatever git (or a script) sends ends up in request fields, so the log bounds itself in one
// place: every string is cut to MAX_FIELD_CHARS (a 64 KiB host once made a 64 KiB line), and
// the file is rotated by size (issue #12: the log grew without bound).

import { closeSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import type { Env } from '../shared/paths.js';
import { SETTINGS, readSetting } from '../shared/settings.js';

/**
 * Keys whose values never reach the file, at any depth: capFields, which walks every record
 * anyway, censors them. (pino's redact paths did this before; its wildcard paths, `*.password`
 * and the like, covered two levels and cost 2.5× the rest of a log line, on every request.)
 */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'password',
  'secret',
  'token',
  'credential',
  'attributes',
  'oauth_refresh_token',
  'access_token',
  'refresh_token',
  'client_secret',
  'accessToken',
  'refreshToken',
  'clientSecret',
]);
const CENSOR = '[redacted]';

/** Long enough for any Bitbucket host, path, account or error message we write ourselves. */
export const MAX_FIELD_CHARS = 256;
/** Deeper than any record the daemon writes; anything below is dropped rather than walked. */
const MAX_DEPTH = 4;

export function createLogger(file: string, env: Env = process.env): Logger {
  const maxBytes = readSetting(SETTINGS.logMaxBytes, env);
  const logger = loggerTo(new RotatingFile(file, maxBytes.value));
  if (maxBytes.problem) logger.warn({ problem: maxBytes.problem }, 'setting ignored');
  return logger;
}

/** The daemon's logger writing its lines to `destination` (tests read them from memory). */
export function loggerTo(destination: { write(line: string): void }): Logger {
  return pino(
    {
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (record) => capFields(record, 0) as Record<string, unknown> },
      // capFields has already made any Error a plain { type, message, code } with a capped message;
      // pino's own err serializer would add an empty stack and call it an Object.
      serializers: { err: (err: unknown) => err },
    },
    destination,
  );
}

/** A copy of a log record with every string cut to MAX_FIELD_CHARS and every secret-named key censored. */
function capFields(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return capString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  // An Error's message and code are not own enumerable properties of a plain copy.
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return { type: value.name, message: capString(value.message), ...(code !== undefined && { code: capString(code) }) };
  }
  if (Array.isArray(value)) return value.map((item) => capFields(item, depth + 1));
  // Most records (a request's line) are flat with short strings and no secret-named key: written as they are, with no copy to collect.
  if (isFlatAndClean(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, SECRET_KEYS.has(key) && item !== undefined ? CENSOR : capFields(item, depth + 1)]));
}

function isFlatAndClean(record: object): boolean {
  // for…in rather than Object.entries: checking must not allocate what it spares copying.
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    const item = (record as Record<string, unknown>)[key];
    if (SECRET_KEYS.has(key) && item !== undefined) return false;
    if (typeof item === 'string' ? item.length > MAX_FIELD_CHARS : item !== null && typeof item === 'object') return false;
  }
  return true;
}

function capString(text: string): string {
  if (text.length <= MAX_FIELD_CHARS) return text;
  // Never half of a surrogate pair: it would turn into U+FFFD in the file.
  const end = /[\uD800-\uDBFF]/.test(text[MAX_FIELD_CHARS - 1]!) ? MAX_FIELD_CHARS - 1 : MAX_FIELD_CHARS;
  return `${text.slice(0, end)}…[cut: ${text.length} chars]`;
}

/**
 * An append-only file that becomes FILE.1 (replacing the previous one) once it has grown past
 * `maxBytes`, and starts again empty (0600). Writes are synchronous, so a line is on disk before
 * the next one; the size is counted as lines are written, with one fstat when the file is opened.
 */
class RotatingFile {
  private fd: number;
  private size: number;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
  ) {
    this.fd = openSync(file, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  write(line: string): void {
    const bytes = Buffer.from(line);
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(this.fd, bytes, done);
    } catch {
      // A full disk must not fail the request being logged; the line is lost, the answer is not.
      return;
    }
    this.size += bytes.length;
    if (this.size >= this.maxBytes) this.rotate();
  }

  private rotate(): void {
    try {
      renameSync(this.file, `${this.file}.1`);
      const next = openSync(this.file, 'a', 0o600);
      closeSync(this.fd);
      this.fd = next;
    } catch {
      // Keep appending where we are; the next attempt comes after another maxBytes.
    }
    this.size = 0;
  }
}
