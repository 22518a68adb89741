// How git tells us that Bitbucket refused an OAuth access token we handed out while it was still
// valid by its clock (a grant revoked at Bitbucket): every git version sends `erase` with it; from
// git 2.46, a `continue` answer makes git ask `get` again for the same request instead, carrying
// the state[] we attached. Both name the token only by a fingerprint here, so nothing kept in
// memory, in state[] or in a log could be used as the token.
//
// Why `continue` works for a Basic credential (git v2.46.0, unchanged since): http.c
// handle_curl_result() answers a 401 for a request that carried username and password with
// HTTP_REAUTH after credential_clear_secrets() when the helper set `continue` (multistage), and
// calls credential_reject() (our `erase`) only otherwise. The callers refill and send the same
// request again: http_request_reauth() (http_request_recoverable() today) up to 3 attempts in all
// (anonymous, our OAuth token, the fallback), remote-curl.c probe_rpc()/post_rpc() without a limit.
// credential_fill() clears `continue` before asking the helpers, so a retry answer without it ends
// the loop: git then erases as usual. Hence `continue` at most once per operation. git's docs
// describe `continue` for NTLM/Kerberos-style rounds, but nothing in git ties it to an auth scheme.

import { createHash } from 'node:crypto';
import type { Credential } from '../../shared/credential-protocol.js';

const STATE_PREFIX = 'git-credential-bitbucket:oauth-token=';

/** A short digest that tells tokens apart and reveals nothing of one. */
function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/** True when git (2.46+) reads state[] and `continue`; older git must never see them. */
export function offersRetry(request: Credential): boolean {
  return request.lists?.capability?.includes('state') ?? false;
}

/**
 * The attributes that let git retry after a 401 on `token`: git's docs want the capability
 * first, and state[] names the token so the retry can tell which one was refused.
 */
export function retryAttributes(token: string): { before: Array<[string, string]>; after: Array<[string, string]> } {
  return { before: [['capability[]', 'state']], after: [['continue', '1'], ['state[]', STATE_PREFIX + fingerprint(token)]] };
}

/** A `get` is git's retry after a 401 when it carries our state[]; git passes other helpers' state too. */
export function isRetry(request: Credential): boolean {
  return refusedFingerprint(request) !== undefined;
}

/** Whether the retry `request` is about `token` (and not one refreshed meanwhile). */
export function retryRefuses(request: Credential, token: string): boolean {
  return refusedFingerprint(request) === fingerprint(token);
}

function refusedFingerprint(request: Credential): string | undefined {
  return request.lists?.state?.find((value) => value.startsWith(STATE_PREFIX))?.slice(STATE_PREFIX.length);
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
