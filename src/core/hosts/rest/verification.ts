// What a credential check takes and gives back, shared by the Cloud and Data Center checks.

import type { Account, StaticSecretKind } from '../../accounts.js';
import type { NetworkProblemKind } from './http.js';

/** The credential as git would send it. */
export interface ProbeCredential {
  kind: StaticSecretKind | 'oauth';
  /** The username git sends with it (x-token-auth for Cloud access and OAuth tokens). */
  username: string;
  secret: string;
}

export interface VerifyRequest {
  account: Account;
  credential: ProbeCredential;
  /** Workspaces (Cloud) or project keys (Data Center) named by the account's routes: probed first. */
  hints: string[];
  /** How to replace the secret, as the message should say it ("set-secret NAME", or "add again"). */
  renewHint: string;
  /** How to give the Atlassian e-mail a Cloud API token check needs (--email, or set-email NAME). */
  emailHint: string;
}

/** The hints for an account that is already saved. */
export function savedAccountHints(name: string): Pick<VerifyRequest, 'renewHint' | 'emailHint'> {
  return {
    renewHint: `store a new one with \`git-credential-bitbucket account set-secret ${name} --secret-stdin\``,
    emailHint: `run \`git-credential-bitbucket account set-email ${name} ADDRESS\``,
  };
}

export type ProblemCode =
  | 'email-as-username'
  | 'wrong-username'
  | 'app-password'
  /** Bitbucket answered 401: the credential itself is wrong, revoked or expired. */
  | 'refused'
  | 'expired'
  | 'missing-scope'
  | 'no-repository-access'
  | 'wrong-kind'
  | 'needs-email'
  | 'unverified-username'
  | 'malformed-secret'
  | 'unexpected-answer'
  | NetworkProblemKind;

export interface Check {
  name: string;
  status: 'pass' | 'warn';
  detail: string;
}

export type VerifyResult =
  | { ok: true; checks: Check[]; user?: string }
  | { ok: false; checks: Check[]; code: ProblemCode; message: string };

/** A verification step found the credential unusable; the message is the whole story. */
export class VerifyFailure extends Error {
  constructor(
    readonly code: ProblemCode,
    message: string,
  ) {
    super(message);
  }
}

/** The expiry the user recorded has passed: the likeliest reason for a 401. */
export function recordedExpiryPassed(account: Account, now = Date.now()): string | undefined {
  return account.secretExpiresAt !== undefined && Date.parse(account.secretExpiresAt) <= now ? account.secretExpiresAt.slice(0, 10) : undefined;
}

/** `accountUrlAdvice`: a redirect of an API path means the account URL moved; of a repository, not necessarily. */
export function unexpectedAnswer(what: string, status: number, headers: Headers, message?: string, accountUrlAdvice = true): VerifyFailure {
  if (status >= 300 && status < 400) {
    const location = headers.get('location');
    const advice = accountUrlAdvice ? ': use the URL it redirects to as the account URL' : '';
    return new VerifyFailure('unexpected-answer', `${what} redirects${location ? ` to ${location}` : ''} (${status})${advice}`);
  }
  return new VerifyFailure('unexpected-answer', `${what} answered ${status}${message ? ` (${message})` : ''}; if this persists, check the URL and Bitbucket's status page`);
}
