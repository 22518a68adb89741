// How open forwards read in `status` and `forward --list`: one line each, never a secret.

import type { ForwardInfo } from '../shared/wire.js';

/** No lines when none is open: most people never forward, and `status` should not say so each time. */
export function describeForwards(forwards: readonly ForwardInfo[]): string[] {
  if (forwards.length === 0) return [];
  return [
    `Forwards (${forwards.length}):`,
    ...forwards.map(
      (forward) =>
        `  ${forward.name}: account(s) ${forward.accounts.join(', ')}; socket ${forward.socketPath}${forward.otherUsers ? ' (open to other local users)' : ''}; since ${forward.openedAt}, ${forward.requests} request(s)`,
    ),
  ];
}
