// Bitbucket Data Center (self-hosted, often under a context path such as /bitbucket).

import type { Host } from './host.js';

export const dataCenterHost: Host = {
  kind: 'datacenter',
  defaultSecretKind: 'access-token',
  gitUsername(account) {
    // Personal and HTTP access tokens, like the account password, go with the user's slug
    // (for project and repository tokens, the slug of the token's bot user).
    return account.username;
  },
  unusableSecretReason(secretKind) {
    if (secretKind === 'api-token' || secretKind === 'app-password') {
      return `Bitbucket Data Center has no ${secretKind === 'api-token' ? 'API tokens' : 'app passwords'}; use a personal or HTTP access token (--secret-kind access-token)`;
    }
    return undefined;
  },
};
