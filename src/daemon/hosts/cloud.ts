// Bitbucket Cloud (bitbucket.org).

import type { Host } from './host.js';

export const cloudHost: Host = {
  kind: 'cloud',
  defaultSecretKind: 'api-token',
  gitUsername(account, secretKind) {
    // Repository, project and workspace access tokens authenticate as x-token-auth; API tokens
    // and app passwords go with the Bitbucket username (never the e-mail address).
    return secretKind === 'access-token' ? 'x-token-auth' : account.username;
  },
  unusableSecretReason(secretKind) {
    if (secretKind === 'app-password') {
      return 'Bitbucket Cloud app passwords stopped working on 2026-06-09; create an API token with the read:repository:bitbucket and write:repository:bitbucket scopes at https://id.atlassian.com/manage-profile/security/api-tokens';
    }
    if (secretKind === 'password') {
      return 'Bitbucket Cloud does not accept account passwords for git; create an API token at https://id.atlassian.com/manage-profile/security/api-tokens';
    }
    return undefined;
  },
};
