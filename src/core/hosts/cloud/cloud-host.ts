// Bitbucket Cloud (bitbucket.org): everything the rest of the product needs to know about it.

import type { Host } from '../host.js';

export const cloudHost: Host = {
  kind: 'cloud',
  product: 'Cloud',
  apiName: "Cloud's /2.0 API",
  defaultSecretKind: 'api-token',
  // Atlassian prefixes its tokens: ATATT API tokens, ATCTT repository/project/workspace access
  // tokens. (An ATBB app password is left to the check, whose message says what replaces it.)
  secretKindOf: (secret) => (secret.startsWith('ATCTT') ? 'access-token' : secret.startsWith('ATATT') ? 'api-token' : undefined),
  gitUsername(account, secretKind) {
    // Repository, project and workspace access tokens authenticate as x-token-auth; API tokens
    // and app passwords go with the Bitbucket username (never the e-mail address).
    return secretKind === 'access-token' ? 'x-token-auth' : account.username;
  },
  oauth: {
    // The base URL is https://bitbucket.org (or the simulator); the API host is not involved.
    endpoints: (account) => ({ authorize: `${account.url}/site/oauth2/authorize`, token: `${account.url}/site/oauth2/access_token` }),
    usesPkce: false,
    requiresClientSecret: true,
    gitUsername: () => 'x-token-auth',
  },
  // https://bitbucket.org/WORKSPACE/REPO.git
  spaceOfPath: (segments) => segments[0],
  routePattern: (account, workspace) => `${account.url}/${workspace}/*`,
  unusableSecretReason(secretKind) {
    if (secretKind === 'app-password') {
      return 'Bitbucket Cloud app passwords stopped working on 2026-06-09; create an API token with the read:repository:bitbucket and write:repository:bitbucket scopes at https://id.atlassian.com/manage-profile/security/api-tokens';
    }
    if (secretKind === 'project-token') {
      return 'on Bitbucket Cloud, repository, project and workspace access tokens go with x-token-auth: use --secret-kind access-token';
    }
    if (secretKind === 'password') {
      return 'Bitbucket Cloud does not accept account passwords for git; create an API token at https://id.atlassian.com/manage-profile/security/api-tokens';
    }
    return undefined;
  },
  // The REST module loads only when a command talks to Bitbucket: the daemon never does.
  verify: async (request, checks) => (await import('./cloud-api.js')).verifyCloud(request, checks),
  listSpaces: async (account, credential) => (await import('./cloud-api.js')).listCloudWorkspaces(account, credential),
  answersApi: async (account) => (await import('./cloud-api.js')).answersCloudApi(account),
};
