// Checks one credential of one account against Bitbucket the way git will use it, and turns every
// way it can fail into one actionable sentence. Used by `account add` (before anything is saved),
// `account verify` and `doctor`. Facts: shared/docs/bitbucket-auth.md.

import { verifyCloud } from './cloud-api.js';
import { verifyDataCenter } from './datacenter-api.js';
import { NetworkProblem } from './http.js';
import { VerifyFailure, type Check, type VerifyRequest, type VerifyResult } from './verification.js';

// What Bitbucket issues is printable ASCII; anything else cannot go into an HTTP header (and
// fetch would quote the header, secret and all, in its error).
const HEADER_SAFE = /^[\x21-\x7e]+$/;

export async function verifyCredential(request: VerifyRequest): Promise<VerifyResult> {
  const checks: Check[] = [];
  if (!HEADER_SAFE.test(request.credential.secret) || !HEADER_SAFE.test(request.credential.username)) {
    return { ok: false, checks, code: 'malformed-secret', message: 'the secret or username holds spaces, control or non-ASCII characters, which no Bitbucket secret has: check what was pasted' };
  }
  try {
    const user = request.account.kind === 'cloud' ? await verifyCloud(request, checks) : await verifyDataCenter(request, checks);
    return user === undefined ? { ok: true, checks } : { ok: true, checks, user };
  } catch (error) {
    if (error instanceof VerifyFailure || error instanceof NetworkProblem) {
      const code = error instanceof VerifyFailure ? error.code : error.kind;
      return { ok: false, checks, code, message: error.message };
    }
    throw error;
  }
}

