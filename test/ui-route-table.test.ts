// The route table the `ui` page shows (core/route-table.ts): the router's order, and the
// conflicts the router would meet. Pure: checked against the router's own decisions.

import test from 'ava';
import type { Account } from '../src/core/accounts.js';
import { emptyConfig, type Config } from '../src/core/config.js';
import { globsIntersect, routeTable } from '../src/core/route-table.js';
import { routeRequest } from '../src/core/router.js';

const account = (name: string, url = 'https://bitbucket.org'): Account => ({ name, kind: 'cloud', url, username: name });

function config(routes: Array<[string, string]>): Config {
  return { ...emptyConfig(), accounts: [account('work'), account('home'), account('corp', 'https://git.corp')], routes: routes.map(([pattern, name]) => ({ pattern, account: name })) };
}

test('routes per host, most specific first, as the router applies them', (t) => {
  const table = routeTable(
    config([
      ['https://bitbucket.org/acme/*', 'work'],
      ['https://git.corp/scm/PROJ/*', 'corp'],
      ['https://bitbucket.org/acme/widgets', 'home'],
      ['https://bitbucket.org/personal/*', 'home'],
    ]),
  );
  t.deepEqual(
    table.routes.map((route) => `${route.rank} ${route.pattern} → ${route.account}`),
    ['1 https://bitbucket.org/acme/widgets → home', '2 https://bitbucket.org/personal/* → home', '3 https://bitbucket.org/acme/* → work', '1 https://git.corp/scm/PROJ/* → corp'],
  );
  t.true(table.routes.every((route) => route.conflictsWith.length === 0));
  t.deepEqual(table.hosts, [
    { origin: 'https://bitbucket.org', accounts: ['work', 'home'], needsRoutes: true },
    { origin: 'https://git.corp', accounts: ['corp'], needsRoutes: false },
  ]);
  // The first route of a host is what the router picks where it matches.
  const decision = routeRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' }, config([['https://bitbucket.org/acme/*', 'work'], ['https://bitbucket.org/acme/widgets', 'home']]));
  t.is(decision.kind === 'account' ? decision.account.name : decision.kind, 'home');
});

test('equally specific routes of two accounts that can match one repository are a conflict, as the router finds', (t) => {
  const routes: Array<[string, string]> = [
    ['https://bitbucket.org/acme-*/*', 'work'],
    ['https://bitbucket.org/*-prod/*', 'home'],
    ['https://bitbucket.org/zeta-*/*', 'home'],
  ];
  const table = routeTable(config(routes));
  const conflicts = Object.fromEntries(table.routes.map((route) => [route.pattern, route.conflictsWith]));
  t.deepEqual(conflicts['https://bitbucket.org/acme-*/*'], ['https://bitbucket.org/*-prod/* → home']);
  t.deepEqual(conflicts['https://bitbucket.org/*-prod/*'], ['https://bitbucket.org/acme-*/* → work']);
  // zeta-* ties with acme-* but no workspace matches both; *-prod leads to the same account.
  t.deepEqual(conflicts['https://bitbucket.org/zeta-*/*'], []);
  const decision = routeRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme-prod/app.git' }, config(routes));
  t.is(decision.kind, 'unresolved');
});

test('glob intersection', (t) => {
  t.true(globsIntersect('acme-*', '*-ci'));
  t.true(globsIntersect('*', 'x'));
  t.true(globsIntersect('a*b', 'a*b'));
  t.false(globsIntersect('acme-*', 'zeta-*'));
  t.false(globsIntersect('a', 'b'));
  t.true(globsIntersect('ab*', '*c-a'));
  t.false(globsIntersect('ab*', 'b*'));
});
