// What git itself will see: the smart-HTTP advertisement of one repository, for fetch and for
// push, with the exact username and secret git will be handed. Nothing is transferred or changed.

import { apiGet, type Authorization } from './http.js';
import { VerifyFailure, unexpectedAnswer, type Check, type ProbeCredential } from './verification.js';

export interface ProbeTarget {
  /** owner/slug, for messages. */
  name: string;
  /** https://host/…/repo.git without credentials. */
  cloneUrl: string;
}

export interface GitProbeMessages {
  /** Why git was refused although the API accepted the credential (a wrong username, usually). */
  refused: string;
  /** The scope a token needs to fetch and to push, when the host has scopes (Cloud API tokens). */
  readScope?: string;
  writeScope?: string;
}

const PRIVILEGE_SCOPES = /privilege scopes/i;

/** `auth` is what git will send: Basic username:secret, or Bearer for Data Center project tokens (git 2.46+). */
export async function probeGit(target: ProbeTarget, credential: ProbeCredential, auth: Authorization, messages: GitProbeMessages, checks: Check[]): Promise<void> {
  const as = auth.scheme === 'bearer' ? 'a Bearer token' : credential.username;
  const fetch = await apiGet(`${target.cloneUrl}/info/refs?service=git-upload-pack`, auth, { skipSuccessBody: true });
  if (fetch.status === 401) throw new VerifyFailure('wrong-username', messages.refused);
  if (fetch.status === 403) {
    throw new VerifyFailure(
      'missing-scope',
      PRIVILEGE_SCOPES.test(fetch.text) && messages.readScope
        ? `git may not fetch ${target.name} with this token: it lacks the scope ${messages.readScope} (403)`
        : `git may not fetch ${target.name} as ${as} (403): ask for read access`,
    );
  }
  if (fetch.status !== 200) throw unexpectedAnswer(`git fetch of ${target.name}`, fetch.status, fetch.headers, undefined, false);
  checks.push({ name: 'git fetch', status: 'pass', detail: `git can fetch ${target.name} as ${as}` });

  const push = await apiGet(`${target.cloneUrl}/info/refs?service=git-receive-pack`, auth, { skipSuccessBody: true });
  if (push.status === 200) {
    checks.push({ name: 'git push', status: 'pass', detail: `git can push to ${target.name}` });
  } else if (push.status === 403 && PRIVILEGE_SCOPES.test(push.text) && messages.writeScope) {
    checks.push({ name: 'git push', status: 'warn', detail: `push will fail: the token lacks the scope ${messages.writeScope}` });
  } else {
    checks.push({ name: 'git push', status: 'warn', detail: `read-only: git may not push to ${target.name} (${push.status})` });
  }
}
