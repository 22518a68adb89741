// The daemon's log: JSON lines in the state directory. Secrets are never passed to the logger
// on purpose; the redact list is the second line of defence for a field that slips through.

import { pino, type Logger } from 'pino';

export const REDACTED_PATHS = [
  'password',
  'secret',
  'token',
  '*.password',
  '*.secret',
  '*.token',
  '*.*.password',
  'credential.password',
  'credential.oauth_refresh_token',
  'attributes',
];

export function createLogger(file: string): Logger {
  return pino(
    {
      base: { pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: file, mkdir: true, sync: true }),
  );
}
