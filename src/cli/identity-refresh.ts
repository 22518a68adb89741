// After a change to accounts, routes or identities, git's commit identity includes follow at once
// (where `install` wrote them), so a new route never leaves its repositories with the wrong author.

import type { ProductPaths } from '../shared/paths.js';
import { UserError } from '../core/errors.js';
import { refreshIdentities } from '../installer/identities.js';

/**
 * Updates the includes and identity files; returns false when install has written none yet.
 * `saved` names what was already changed, for the message when git's config cannot follow.
 */
export function keepIdentitiesInStep(paths: ProductPaths, saved: string, out: (text: string) => void = (text) => process.stdout.write(text)): boolean {
  let lines: string[] | undefined;
  try {
    lines = refreshIdentities(paths);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    throw new UserError(`${saved}, but git's commit identity includes were not updated: ${error.message}; fix that and run \`git-credential-bitbucket install\``);
  }
  if (lines?.length) out(lines.join('\n') + '\n');
  return lines !== undefined;
}
