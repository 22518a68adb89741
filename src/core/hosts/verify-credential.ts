// Checks one credential of one account against Bitbucket the way git will use it, and turns every
// way it can fail into one actionable sentence. Used by `account add` (before anything is saved),
// `account verify` and `doctor`. The checks themselves are the account's Host's; this adds what
// is the same for every kind. Facts: shared/docs/bitbucket-auth.md.

import { hostFor, otherHosts, type Host } from './host.js';
import { NetworkProblem } from './rest/http.js';
import { VerifyFailure, type Check, type VerifyRequest, type VerifyResult } from './rest/verification.js';

// What Bitbucket issues is printable ASCII; anything else cannot go into an HTTP header (and
// fetch would quote the header, secret and all, in its error).
const HEADER_SAFE = /^[\x21-\x7e]+$/;

export async function verifyCredential(request: VerifyRequest): Promise<VerifyResult> {
  const checks: Check[] = [];
  if (!HEADER_SAFE.test(request.credential.secret) || !HEADER_SAFE.test(request.credential.username)) {
    return { ok: false, checks, code: 'malformed-secret', message: 'the secret or username holds spaces, control or non-ASCII characters, which no Bitbucket secret has: check what was pasted' };
  }
  const host = hostFor(request.account.kind);
  try {
    const user = await host.verify(request, checks);
    return user === undefined ? { ok: true, checks } : { ok: true, checks, user };
  } catch (error) {
    const failure = error instanceof VerifyFailure && error.code === 'wrong-kind' ? ((await kindAnswering(host, request)) ?? error) : error;
    if (failure instanceof VerifyFailure || failure instanceof NetworkProblem) {
      const code = failure instanceof VerifyFailure ? failure.code : failure.kind;
      return { ok: false, checks, code, message: failure.message };
    }
    throw failure;
  }
}

/** The account's URL did not answer its kind's API: if another kind's does, say which to use. */
async function kindAnswering(expected: Host, { account, credential }: VerifyRequest): Promise<VerifyFailure | undefined> {
  for (const other of otherHosts(expected)) {
    if (await other.answersApi(account, credential)) {
      return new VerifyFailure('wrong-kind', `${account.url} is Bitbucket ${other.product}, not ${expected.product} (it answers ${other.apiName}): use --kind ${other.kind}`);
    }
  }
  return undefined;
}
