// An account's static secret taken from an environment variable instead of a store (CI runners:
// no keychain, secrets handed to the job as variables). config.json holds only the variable's
// NAME (`secretEnv`); the value is read from the environment of the process that answers, each
// time it is needed, and never written anywhere. A variable that is not set is one line naming it.

import type { Account } from '../accounts.js';
import { ValidationError } from '../accounts.js';
import type { Env } from '../../shared/paths.js';
import type { SecretRef } from './secret-store.js';
import { SecretStoreError } from './secret-store.js';

/** POSIX shell names: what every CI system accepts as a variable name. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function validateSecretEnvName(name: string, where = '--secret-env'): string {
  if (!VARIABLE_NAME.test(name)) throw new ValidationError(`${where} must name an environment variable (letters, digits and '_', not starting with a digit), not hold the secret itself`);
  return name;
}

/** The variable is not set (or empty) where the secret is needed. */
class MissingSecretEnvError extends SecretStoreError {}

/**
 * The account's static secret when it comes from the environment; undefined when `ref` is not an
 * environment-sourced secret (the store has it, or nothing does).
 */
export function secretFromEnv(ref: SecretRef, accounts: readonly Account[], env: Env): string | undefined {
  if (ref.slot !== 'static') return undefined;
  const variable = accounts.find((account) => account.name === ref.account)?.secretEnv;
  if (variable === undefined) return undefined;
  const value = env[variable];
  // An empty value is what a CI system gives for a secret it did not pass (a fork's pull request).
  if (value === undefined || value === '') {
    throw new MissingSecretEnvError(
      `account ${ref.account} takes its secret from the environment variable ${variable}, which is not set; set it where git runs (a daemon keeps the environment it started with: \`git-credential-bitbucket daemon stop\` lets the next git start a fresh one)`,
    );
  }
  return value;
}

/** "environment variable NAME" (set or not in `env`), for `status` and `account list`. */
export function describeSecretEnv(variable: string, env: Env): string {
  return `from environment variable ${variable}${env[variable] ? '' : ' (NOT SET here)'}`;
}
