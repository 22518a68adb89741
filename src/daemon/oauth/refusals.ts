// git tells us that Bitbucket refused an OAuth access token we handed out while it was still
// valid by its clock (a grant revoked at Bitbucket) with `erase`. The token is named here only by a
// fingerprint, so nothing kept in memory or logged could be used as the token.

import { createHash } from 'node:crypto';

/** A short digest that tells tokens apart and reveals nothing of one. */
function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/**
 * The last refused access token per account. With the fast path installed, git sends erase to
 * git's cache client first (whose output nobody sees; the daemon drops the token then) and to the
 * Node helper next: this lets the second erase still recognise the token and explain.
 */
export class RefusedTokens {
  private readonly last = new Map<string, string>();

  note(account: string, token: string): void {
    this.last.set(account, fingerprint(token));
  }

  includes(account: string, token: string): boolean {
    return this.last.get(account) === fingerprint(token);
  }
}
