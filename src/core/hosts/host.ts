// What differs between Bitbucket Cloud and Data Center, behind one interface chosen by the
// account's kind: one folder per kind, and this registry is the only code that picks one (a test
// holds that), so adding a kind touches one folder and this table. Facts: shared/docs/bitbucket-auth.md.

import type { Account, AccountKind, StaticSecretKind } from '../accounts.js';
import { cloudHost } from './cloud/cloud-host.js';
import { dataCenterHost } from './datacenter/datacenter-host.js';
import type { Check, ProbeCredential, VerifyRequest } from './rest/verification.js';

export interface Host {
  readonly kind: AccountKind;
  /** The product's name after "Bitbucket", for messages ("Cloud", "Data Center"). */
  readonly product: string;
  /** The REST API that tells this kind apart, for messages ("Cloud's /2.0 API"). */
  readonly apiName: string;
  /** The username git must send with this kind of secret. */
  gitUsername(account: Account, secretKind: StaticSecretKind): string;
  /** Why this kind of secret cannot work here (shown on add and on every use), or undefined. */
  unusableSecretReason(secretKind: StaticSecretKind): string | undefined;
  /** The secret kind assumed when `account add` is given none and the secret does not say. */
  readonly defaultSecretKind: StaticSecretKind;
  /** The kind a secret's own prefix names (Cloud tokens carry one), or undefined. */
  secretKindOf(secret: string): StaticSecretKind | undefined;
  readonly oauth: OAuthProfile;
  /**
   * The workspace (Cloud) or project key (Data Center) a repository path names, given its
   * segments after the account's base path; undefined when the path names none.
   */
  spaceOfPath(segments: readonly string[]): string | undefined;
  /** The route pattern that sends every repository of `space` to the account. */
  routePattern(account: Account, space: string): string;
  /**
   * Checks a credential through the REST API and git, adding what passed to `checks`; resolves to
   * the Bitbucket user when the host names one. Throws VerifyFailure (code 'wrong-kind' when the
   * URL does not answer this kind's API) or NetworkProblem.
   */
  verify(request: VerifyRequest, checks: Check[]): Promise<string | undefined>;
  /** The workspaces (Cloud) or project keys (Data Center) the credential reaches, for `route suggest`. */
  listSpaces(account: Account, credential: ProbeCredential): Promise<string[]>;
  /** Whether the account's URL answers this kind's API: asked when another kind's check found none there. */
  answersApi(account: Account, credential: ProbeCredential): Promise<boolean>;
}

/** How this kind of Bitbucket speaks OAuth 2.0 (authorization-code grant with refresh). */
export interface OAuthProfile {
  endpoints(account: Account): { authorize: string; token: string };
  /** Data Center wants PKCE (S256); Cloud does not support it. */
  readonly usesPkce: boolean;
  /** Cloud consumers always have a secret; Data Center links may be public clients. */
  readonly requiresClientSecret: boolean;
  /** The username git sends with an OAuth access token. */
  gitUsername(account: Account): string;
}

const HOSTS: Record<AccountKind, Host> = { cloud: cloudHost, datacenter: dataCenterHost };

export function hostFor(kind: AccountKind): Host {
  return HOSTS[kind];
}

/** Every kind of host but `host`, to tell a user which kind a URL really is. */
export function otherHosts(host: Host): Host[] {
  return Object.values(HOSTS).filter((other) => other !== host);
}

export function describeSecretKind(kind: StaticSecretKind): string {
  switch (kind) {
    case 'api-token':
      return 'API token';
    case 'access-token':
      return 'access token';
    case 'project-token':
      return 'project/repository access token';
    case 'app-password':
      return 'app password';
    case 'password':
      return 'password';
  }
}
