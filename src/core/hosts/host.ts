// What differs between Bitbucket Cloud and Data Center, behind one interface chosen by the
// account's kind. Facts: shared/docs/bitbucket-auth.md.

import type { Account, AccountKind, StaticSecretKind } from '../accounts.js';
import { cloudHost } from './cloud.js';
import { dataCenterHost } from './datacenter.js';

export interface Host {
  readonly kind: AccountKind;
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

export function hostFor(kind: AccountKind): Host {
  return kind === 'cloud' ? cloudHost : dataCenterHost;
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
