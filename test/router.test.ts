import test from 'ava';
import type { Account } from '../src/core/accounts.js';
import type { Config } from '../src/core/config.js';
import { hostFor } from '../src/core/hosts/host.js';
import { routeRequest, type RoutingRequest } from '../src/core/router.js';

const account = (name: string, url: string, username: string): Account => ({ name, kind: url.includes('bitbucket.org') ? 'cloud' : 'datacenter', url, username, secretKind: 'api-token' });

const config: Config = {
  version: 1,
  daemon: {},
  oauth: {},
  accounts: [
    account('work', 'https://bitbucket.org', 'alice'),
    account('personal', 'https://bitbucket.org', 'alice2'),
    account('client', 'https://bitbucket.org', 'carol'),
    account('corp', 'https://git.corp/bitbucket', 'dave'),
    account('local', 'http://127.0.0.1:7990', 'erin'),
  ],
  routes: [
    { pattern: 'https://bitbucket.org/acme', account: 'work' },
    { pattern: 'https://bitbucket.org/acme/secret-*', account: 'client' },
    { pattern: 'https://bitbucket.org/alice2/*', account: 'personal' },
  ],
};

const pick = (request: RoutingRequest, cfg: Config = config) => {
  const decision = routeRequest(request, cfg);
  return decision.kind === 'account' ? decision.account.name : decision.kind;
};

test('the most specific route wins, case-insensitively, with or without .git', (t) => {
  t.is(pick({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' }), 'work');
  t.is(pick({ protocol: 'https', host: 'bitbucket.org', path: 'ACME/Secret-Plans.git' }), 'client');
  t.is(pick({ protocol: 'https', host: 'bitbucket.org', path: 'alice2/notes' }), 'personal');
});

test('a username in the URL picks that account over routes', (t) => {
  t.is(pick({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git', username: 'alice2' }), 'personal');
  t.is(pick({ protocol: 'https', host: 'bitbucket.org', username: 'carol' }), 'client');
  // Token usernames name a kind of secret, not a person.
  t.is(pick({ protocol: 'https', host: 'bitbucket.org', path: 'acme/x.git', username: 'x-token-auth' }), 'work');
  const unknown = routeRequest({ protocol: 'https', host: 'bitbucket.org', username: 'mallory' }, config);
  t.is(unknown.kind, 'unresolved');
  t.regex((unknown as { message: string }).message, /no account with username mallory/);
  const token = 'ATATT3xFfGF0QmVyeVNlY3JldFRva2VuMTIzNDU2Nzg5MA';
  const tokenAsUser = routeRequest({ protocol: 'https', host: 'bitbucket.org', username: token }, config);
  t.regex((tokenAsUser as { message: string }).message, /no account with the username in the remote URL/);
  t.false((tokenAsUser as { message: string }).message.includes(token.slice(0, 12)));
});

test('ambiguity gets no account and a message naming the route to add', (t) => {
  const noRoute = routeRequest({ protocol: 'https', host: 'bitbucket.org', path: 'other/repo.git' }, config);
  t.is(noRoute.kind, 'unresolved');
  t.regex((noRoute as { message: string }).message, /route add 'https:\/\/bitbucket\.org\/other\/\*' work/);
  const noPath = routeRequest({ protocol: 'https', host: 'bitbucket.org' }, config);
  t.regex((noPath as { message: string }).message, /useHttpPath true/);
  const tie = routeRequest(
    { protocol: 'https', host: 'bitbucket.org', path: 'acme/x' },
    { ...config, routes: [...config.routes, { pattern: 'https://bitbucket.org/ACME/*', account: 'personal' }] },
  );
  t.regex((tie as { message: string }).message, /equally specific/);
});

test('one account on a host needs no route; other hosts and schemes are not ours', (t) => {
  t.is(pick({ protocol: 'https', host: 'git.corp', path: 'bitbucket/scm/PROJ/repo.git' }), 'corp');
  t.is(pick({ protocol: 'https', host: 'git.corp' }), 'corp');
  t.is(pick({ protocol: 'https', host: 'git.corp', path: 'other-app/scm/PROJ/repo.git' }), 'not-ours');
  t.is(pick({ protocol: 'https', host: 'github.com', path: 'acme/x' }), 'not-ours');
  t.is(pick({ protocol: 'http', host: 'bitbucket.org', path: 'acme/x' }), 'not-ours');
  t.is(pick({ protocol: 'https', host: 'bitbucket.org:443', path: 'acme/x' }), 'work');
  t.is(pick({ protocol: 'http', host: '127.0.0.1:7990' }), 'local');
  t.is(pick({ protocol: 'http', host: '127.0.0.1:7991' }), 'not-ours');
});

test('Data Center project routes and suggestions use the scm/PROJECT level', (t) => {
  const dc: Config = {
    version: 1,
    daemon: {},
    oauth: {},
    accounts: [account('corp', 'https://git.corp/bitbucket', 'dave'), account('bot', 'https://git.corp/bitbucket', 'bot')],
    routes: [{ pattern: 'https://git.corp/bitbucket/scm/PROJ/*', account: 'bot' }],
  };
  t.is(pick({ protocol: 'https', host: 'git.corp', path: 'bitbucket/scm/proj/repo.git' }, dc), 'bot');
  const other = routeRequest({ protocol: 'https', host: 'git.corp', path: 'bitbucket/scm/OPS/repo.git' }, dc);
  t.regex((other as { message: string }).message, /route add 'https:\/\/git\.corp\/bitbucket\/scm\/OPS\/\*'/);
});

// Issue #12: `https://host/bob/%2e%2e/acme/widgets.git` reached the router as `bob/../acme/widgets.git`
// and got bob's account, while the server served acme's repository.
const twoWorkspaces: Config = {
  version: 1,
  daemon: {},
  oauth: {},
  accounts: [account('work', 'https://bitbucket.org', 'alice'), account('personal', 'https://bitbucket.org', 'bob')],
  routes: [
    { pattern: 'https://bitbucket.org/acme/*', account: 'work' },
    { pattern: 'https://bitbucket.org/bob/*', account: 'personal' },
  ],
};

test('a path with a dot segment, however encoded, gets no account and one line saying why', (t) => {
  const paths = [
    'bob/../acme/widgets.git',
    'bob/%2e%2e/acme/widgets.git',
    'bob/%2E%2e/acme/widgets.git',
    'bob/.%2E/acme/widgets.git',
    'bob/./widgets.git',
    'bob/%2e/widgets.git',
    '../acme/widgets.git',
    'bob/widgets.git/..',
    'bob/..%2facme/widgets.git',
    'bob/x%2F..%2F..%2Facme/widgets.git',
    'acme/../../bob/notes.git',
  ];
  for (const path of paths) {
    const decision = routeRequest({ protocol: 'https', host: 'bitbucket.org', path }, twoWorkspaces);
    t.is(decision.kind, 'unresolved', path);
    const message = (decision as { message: string }).message;
    t.regex(message, /^no account for https:\/\/bitbucket\.org\/.+: its path has a "\." or "\.\." segment, which servers resolve differently.*plain URL/, path);
    t.false(message.includes('\n'), path);
  }
  // A username in the URL names an account, not a repository: the path stays unknown.
  t.is(pick({ protocol: 'https', host: 'bitbucket.org', path: 'acme/%2e%2e/bob/notes.git', username: 'bob' }, twoWorkspaces), 'unresolved');
  // Another host's paths are still none of our business, dots or not.
  t.is(pick({ protocol: 'https', host: 'github.com', path: 'bob/../acme/x.git' }, twoWorkspaces), 'not-ours');
});

test('a path parameter (";"), which servlet containers drop before resolving "..", gets no account', (t) => {
  // Tomcat serves scm/bob/..;/acme/widgets.git as scm/acme/widgets.git; git and curl leave "..;" alone.
  for (const path of ['bob/..;/acme/widgets.git', 'bob/%2e%2e;x/acme/widgets.git', 'bob/.;/widgets.git', 'bob/..%3b/acme/widgets.git', 'acme/widgets.git;jsessionid=1']) {
    const decision = routeRequest({ protocol: 'https', host: 'bitbucket.org', path }, twoWorkspaces);
    t.is(decision.kind, 'unresolved', path);
    t.regex((decision as { message: string }).message, /its path has a ";" \(a path parameter/, path);
  }
});

test('backslashes, which some servers read as slashes, get no account', (t) => {
  for (const path of ['bob\\..\\acme/widgets.git', 'bob%5c..%5Cacme/widgets.git', 'bob\\notes.git', 'bob/notes%5c.git']) {
    const decision = routeRequest({ protocol: 'https', host: 'bitbucket.org', path }, twoWorkspaces);
    t.is(decision.kind, 'unresolved', path);
    t.regex((decision as { message: string }).message, /its path has a (backslash|"\." or "\.\." segment)/, path);
  }
});

test('dots inside names are not dot segments and route as before', (t) => {
  t.is(pick({ protocol: 'https', host: 'bitbucket.org', path: 'acme/.github.git' }, twoWorkspaces), 'work');
  t.is(pick({ protocol: 'https', host: 'bitbucket.org', path: 'bob/notes...git' }, twoWorkspaces), 'personal');
  t.is(pick({ protocol: 'https', host: 'bitbucket.org', path: 'bob/.../notes.git' }, twoWorkspaces), 'personal');
  t.is(pick({ protocol: 'https', host: 'bitbucket.org', path: 'acme/a..b.git' }, twoWorkspaces), 'work');
});

test('a Data Center path cannot climb into or out of the context path with dot segments', (t) => {
  const dc: Config = {
    version: 1,
    daemon: {},
    oauth: {},
    accounts: [account('corp', 'https://git.corp/bitbucket', 'dave')],
    routes: [],
  };
  t.is(pick({ protocol: 'https', host: 'git.corp', path: 'bitbucket/scm/PROJ/repo.git' }, dc), 'corp');
  for (const path of ['bitbucket/scm/../../other-app/scm/PROJ/repo.git', 'bitbucket/%2e%2e/other-app/x.git', 'other-app/../bitbucket/scm/PROJ/repo.git']) {
    t.is(pick({ protocol: 'https', host: 'git.corp', path }, dc), 'unresolved', path);
    t.is(pick({ protocol: 'https', host: 'git.corp', path, username: 'dave' }, dc), 'unresolved', `dave@ ${path}`);
  }
  // Without dots, another application on the same host stays silent as before.
  t.is(pick({ protocol: 'https', host: 'git.corp', path: 'other-app/scm/PROJ/repo.git' }, dc), 'not-ours');
});

test('each kind of host says which workspace or project a path names, and the route that covers it', (t) => {
  const cloud = { name: 'work', kind: 'cloud', url: 'https://bitbucket.org', username: 'alice' } as const;
  const dc = { name: 'corp', kind: 'datacenter', url: 'https://git.corp/bitbucket', username: 'dave' } as const;
  t.is(hostFor('cloud').spaceOfPath(['acme', 'widgets.git']), 'acme');
  t.is(hostFor('cloud').routePattern(cloud, 'acme'), 'https://bitbucket.org/acme/*');
  t.is(hostFor('datacenter').spaceOfPath(['scm', 'OPS', 'tools.git']), 'OPS');
  t.is(hostFor('datacenter').spaceOfPath(['SCM', '~dave', 'notes.git']), '~dave');
  t.is(hostFor('datacenter').spaceOfPath(['projects', 'OPS']), undefined);
  t.is(hostFor('datacenter').routePattern(dc, 'OPS'), 'https://git.corp/bitbucket/scm/OPS/*');
});
