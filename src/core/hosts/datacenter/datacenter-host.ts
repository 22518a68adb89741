// Bitbucket Data Center (self-hosted, often under a context path such as /bitbucket): everything
// the rest of the product needs to know about it.

import type { Host } from '../host.js';

export const dataCenterHost: Host = {
  kind: 'datacenter',
  product: 'Data Center',
  apiName: '/rest/api/1.0',
  defaultSecretKind: 'access-token',
  // Personal and HTTP access tokens look alike; the kind comes from --secret-kind or the default.
  secretKindOf: () => undefined,
  gitUsername(account) {
    // A personal access token, like the account password, goes with the user's slug. Project and
    // repository tokens (project-token) never go with a username: they are sent as Bearer.
    return account.username;
  },
  oauth: {
    endpoints: (account) => ({ authorize: `${account.url}/rest/oauth2/latest/authorize`, token: `${account.url}/rest/oauth2/latest/token` }),
    usesPkce: true,
    requiresClientSecret: false,
    // Data Center takes an OAuth token as the user's password.
    gitUsername: (account) => account.username,
  },
  // https://HOST[/CONTEXT]/scm/PROJECT/REPO.git (personal repositories are scm/~USER/REPO.git)
  spaceOfPath: (segments) => (segments[0]?.toLowerCase() === 'scm' ? segments[1] : undefined),
  routePattern: (account, project) => `${account.url}/scm/${project}/*`,
  unusableSecretReason(secretKind) {
    if (secretKind === 'api-token' || secretKind === 'app-password') {
      return `Bitbucket Data Center has no ${secretKind === 'api-token' ? 'API tokens' : 'app passwords'}; use a personal or HTTP access token (--secret-kind access-token)`;
    }
    return undefined;
  },
  // The REST module loads only when a command talks to Bitbucket: the daemon never does.
  verify: async (request, checks) => (await import('./datacenter-api.js')).verifyDataCenter(request, checks),
  listSpaces: async (account, credential) => (await import('./datacenter-api.js')).listDataCenterProjects(account, credential),
  answersApi: async (account, credential) => (await import('./datacenter-api.js')).answersDataCenterApi(account, credential),
};
