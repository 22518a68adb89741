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

/** Log lines a full disk refuses wait in memory up to this much, then are dropped. */
const MAX_PENDING_BYTES = 1024 * 1024;

export function createLogger(file: string): Logger {
  const destination = pino.destination({ dest: file, mkdir: true, sync: true, maxLength: MAX_PENDING_BYTES });
  // Unhandled, a write error (a full disk) would end the daemon and every git request with it;
  // handled, the lines are written once there is room again.
  destination.on('error', () => undefined);
  return pino(
    {
      base: { pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
