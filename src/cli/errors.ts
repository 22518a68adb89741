// Errors the CLI reports as "your input or your files need attention" (exit 1), as opposed to
// bugs (exit 2).

import { ValidationError } from '../daemon/accounts.js';
import { ConfigError } from '../daemon/config.js';
import { LockBusyError, PrivateFileError } from '../daemon/files.js';
import { SecretStoreError } from '../daemon/secrets/secret-store.js';
import { DaemonUnavailableError } from '../helper/daemon-client.js';

export class UserError extends Error {}

export function isUserError(error: unknown): error is Error {
  return (
    error instanceof UserError ||
    error instanceof ValidationError ||
    error instanceof ConfigError ||
    error instanceof LockBusyError ||
    error instanceof PrivateFileError ||
    error instanceof SecretStoreError ||
    error instanceof DaemonUnavailableError
  );
}
