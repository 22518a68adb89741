// Which errors the CLI reports as "your input or your files need attention" (exit 1), as opposed
// to bugs (exit 2): UserError, a command line that does not fit the command, and the domain's own
// error classes.

import { ArgumentError } from '../shared/args.js';
import { UserError } from '../core/errors.js';
import { ValidationError } from '../core/accounts.js';
import { ConfigError } from '../core/config.js';
import { LockBusyError, PrivateFileError } from '../core/files.js';
import { SecretStoreError } from '../core/secrets/secret-store.js';
import { DaemonUnavailableError } from '../client/daemon-client.js';

export function isUserError(error: unknown): error is Error {
  return (
    error instanceof UserError ||
    error instanceof ArgumentError ||
    error instanceof ValidationError ||
    error instanceof ConfigError ||
    error instanceof LockBusyError ||
    error instanceof PrivateFileError ||
    error instanceof SecretStoreError ||
    error instanceof DaemonUnavailableError
  );
}
