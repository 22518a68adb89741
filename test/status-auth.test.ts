// What `status` (and the ui page) and `account list` say about an account's authentication, for
// each state an account can be in: the full wording and the brief one of the AUTH column come
// from the same branches, so each row pins both.

import test from 'ava';
import { describeAuth, type AccountSummary } from '../src/cli/account-summary.js';

process.env.GCB_AUTH_TEST_SET = 'set';
delete process.env.GCB_AUTH_TEST_UNSET;

const API_TOKEN: AccountSummary = {
  name: 'work',
  kind: 'cloud',
  url: 'https://bitbucket.org',
  username: 'alice',
  method: 'static',
  secretKind: 'api-token',
  secretEnv: null,
  secretStored: true,
  secretExpiresAt: null,
  expiryWarning: null,
  oauth: null,
  rejectedAt: null,
  rejectedPath: null,
  lastSuccessAt: null,
  identity: null,
  secretStoreProblem: null,
};
const LOGGED_IN: NonNullable<AccountSummary['oauth']> = {
  clientId: 'client',
  needsLogin: false,
  needsLoginReason: null,
  accessExpiresAt: '2030-01-01T10:00:00.000Z',
  lastRefreshAt: '2030-01-01T09:00:00.000Z',
};

type Changes = Partial<Omit<AccountSummary, 'oauth'>> & { oauth?: Partial<NonNullable<AccountSummary['oauth']>> };

/** The state (changes to an account with a stored API token; `oauth` changes a logged-in grant), the full description and the brief one. */
const CASES: Array<[string, Changes, string, string]> = [
  ['an API token in the store', {}, 'API token', 'API token'],
  ['an API token with its expiry day', { secretExpiresAt: '2099-01-31T00:00:00.000Z' }, 'API token (expires 2099-01-31)', 'API token, expires 2099-01-31'],
  ['an API token about to expire', { secretExpiresAt: '2026-12-01T00:00:00.000Z', expiryWarning: 'the API token of account work expires on 2026-12-01 (in 3 days); create a new one' }, 'API token — WARNING: the API token of account work expires on 2026-12-01 (in 3 days); create a new one', 'API token, EXPIRES 2026-12-01'],
  ['an API token missing from the store', { secretStored: false, method: 'none' }, 'API token (MISSING from the store)', 'API token MISSING'],
  ['an API token in a store that cannot be read', { secretStored: null, method: 'unknown', secretStoreProblem: 'locked' }, 'API token (stored: ?)', 'API token ?'],
  ['an API token from a set environment variable', { secretEnv: 'GCB_AUTH_TEST_SET' }, 'API token from environment variable GCB_AUTH_TEST_SET', 'API token from $GCB_AUTH_TEST_SET'],
  ['an API token from an unset environment variable', { secretEnv: 'GCB_AUTH_TEST_UNSET', secretStored: false, method: 'none' }, 'API token from environment variable GCB_AUTH_TEST_UNSET (NOT SET here)', 'API token from $GCB_AUTH_TEST_UNSET NOT SET'],
  ['no secret at all', { secretKind: null, secretStored: false, method: 'none' }, 'no secret', 'no secret'],
  ['OAuth alone, logged in', { secretKind: null, secretStored: false, method: 'oauth', oauth: {} }, 'OAuth, access token until 2030-01-01T10:00:00.000Z, last refresh 2030-01-01T09:00:00.000Z', 'OAuth'],
  ['OAuth alone, logged in, nothing refreshed yet', { secretKind: null, secretStored: false, method: 'oauth', oauth: { accessExpiresAt: null, lastRefreshAt: null } }, 'OAuth', 'OAuth'],
  ['OAuth alone, never logged in', { secretKind: null, secretStored: false, method: 'none', oauth: { needsLogin: true, needsLoginReason: 'not logged in yet', accessExpiresAt: null, lastRefreshAt: null } }, 'OAuth NEEDS LOGIN (not logged in yet): run `git-credential-bitbucket login work`', 'OAuth NEEDS LOGIN'],
  ['OAuth alone, refresh refused without a reason', { secretKind: null, secretStored: false, method: 'none', oauth: { needsLogin: true } }, 'OAuth NEEDS LOGIN (refresh rejected): run `git-credential-bitbucket login work`', 'OAuth NEEDS LOGIN'],
  ['OAuth alone, store unreadable', { secretKind: null, secretStored: null, method: 'unknown', oauth: { needsLogin: null, accessExpiresAt: null } }, 'OAuth (logged in: ?), last refresh 2030-01-01T09:00:00.000Z', 'OAuth ?'],
  ['OAuth alone, store unreadable, never refreshed', { secretKind: null, secretStored: null, method: 'unknown', oauth: { needsLogin: null, accessExpiresAt: null, lastRefreshAt: null } }, 'OAuth (logged in: ?)', 'OAuth ?'],
  ['OAuth with an API token, logged in', { method: 'oauth', oauth: {} }, 'OAuth, access token until 2030-01-01T10:00:00.000Z, last refresh 2030-01-01T09:00:00.000Z; API token as fallback', 'OAuth + API token'],
  ['OAuth needing a login, the API token in use', { oauth: { needsLogin: true, needsLoginReason: 'the refresh token was revoked' } }, 'OAuth NEEDS LOGIN (the refresh token was revoked): run `git-credential-bitbucket login work`; API token as fallback (in use)', 'OAuth NEEDS LOGIN; API token in use'],
  ['OAuth needing a login, the API token missing', { secretStored: false, method: 'none', oauth: { needsLogin: true, needsLoginReason: 'not logged in yet' } }, 'OAuth NEEDS LOGIN (not logged in yet): run `git-credential-bitbucket login work`; API token (MISSING from the store) as fallback', 'OAuth NEEDS LOGIN; API token MISSING'],
  ['OAuth and an API token, store unreadable', { secretStored: null, method: 'unknown', oauth: { needsLogin: null } }, 'OAuth (logged in: ?), last refresh 2030-01-01T09:00:00.000Z; API token (stored: ?) as fallback', 'OAuth ? + API token ?'],
  ['OAuth with an API token about to expire', { method: 'oauth', secretExpiresAt: '2026-12-01T00:00:00.000Z', expiryWarning: 'the API token of account work expires on 2026-12-01 (in 3 days); create a new one', oauth: {} }, 'OAuth, access token until 2030-01-01T10:00:00.000Z, last refresh 2030-01-01T09:00:00.000Z; API token — WARNING: the API token of account work expires on 2026-12-01 (in 3 days); create a new one as fallback', 'OAuth + API token, EXPIRES 2026-12-01'],
  ['OAuth with an API token from an unset environment variable', { secretEnv: 'GCB_AUTH_TEST_UNSET', secretStored: false, method: 'oauth', oauth: {} }, 'OAuth, access token until 2030-01-01T10:00:00.000Z, last refresh 2030-01-01T09:00:00.000Z; API token from environment variable GCB_AUTH_TEST_UNSET (NOT SET here) as fallback', 'OAuth + API token from $GCB_AUTH_TEST_UNSET NOT SET'],
];

for (const [state, changes, full, brief] of CASES) {
  test(`auth description: ${state}`, (t) => {
    const summary: AccountSummary = { ...API_TOKEN, ...changes, oauth: changes.oauth ? { ...LOGGED_IN, ...changes.oauth } : null };
    t.is(describeAuth(summary), full);
    t.is(describeAuth(summary, 'brief'), brief);
  });
}
