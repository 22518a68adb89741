// The compiled route index (src/core/route-index.ts) against the linear scan it replaced, kept
// here as the oracle: on many generated route sets and requests both must pick the same routes,
// in the same order. And routing must not touch every route per request (issue #15 item 4), and
// the daemon must route by the config as it is now, however many routes it holds.

import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseRoutePattern, parseRoutePattern, type Account, type Route } from '../src/core/accounts.js';
import type { Config } from '../src/core/config.js';
import { RouteIndex, pathSegments, routeIndexFor } from '../src/core/route-index.js';
import { routeRequest } from '../src/core/router.js';
import { Sandbox, credentialRequest } from './support/sandbox.js';

// --- the oracle: the linear router's route choice, as it was before the index ----------------------

interface Specificity {
  segments: number;
  literals: number;
}

function linearBestRoutes(routes: readonly Route[], allowed: ReadonlySet<string>, origin: string, path: string[] | undefined): Route[] {
  let best: Route[] = [];
  let bestScore: Specificity | undefined;
  for (const route of routes) {
    if (!allowed.has(route.account)) continue;
    const score = linearMatch(route.pattern, origin, path);
    if (!score) continue;
    const order = bestScore ? linearCompare(score, bestScore) : 1;
    if (order > 0) {
      best = [route];
      bestScore = score;
    } else if (order === 0) {
      best.push(route);
    }
  }
  return best;
}

function linearMatch(pattern: string, origin: string, path: string[] | undefined): Specificity | undefined {
  const parsed = parseRoutePattern(pattern);
  if (`${parsed.origin.protocol}://${parsed.origin.host}` !== origin) return undefined;
  const wanted = linearSegments(parsed.path).filter((segment, i, all) => !(segment === '*' && i === all.length - 1));
  if (wanted.length > 0 && path === undefined) return undefined;
  const actual = path ?? [];
  if (wanted.length > actual.length) return undefined;
  let literals = 0;
  for (let i = 0; i < wanted.length; i++) {
    if (!linearGlob(wanted[i]!).test(actual[i]!)) return undefined;
    literals += wanted[i]!.replace(/\*/g, '').length;
  }
  return { segments: wanted.length, literals };
}

function linearCompare(a: Specificity, b: Specificity): number {
  return a.segments - b.segments || a.literals - b.literals;
}

function linearGlob(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function linearSegments(path: string): string[] {
  return path
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => segment.toLowerCase().replace(/\.git$/, ''));
}

// --- generated worlds ------------------------------------------------------------------------------

/** mulberry32: the same worlds on every run, so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const ORIGINS = ['https://bitbucket.org', 'https://git.corp', 'http://127.0.0.1:7990'];
const BASES = ['https://bitbucket.org', 'https://git.corp/bitbucket', 'https://git.corp', 'http://127.0.0.1:7990'];
/** Pattern segments: literals in several spellings, globs of every shape, regex characters. */
const PATTERN_SEGMENTS = ['acme', 'ACME', 'acme.git', 'secret-*', '*', '*-team', 'scm', 'PROJ', 'bitbucket', 'a*b', '*.*', 'wid*', '~dave', 'a.b', '(x)', '+', '**', 'x*y*z', 'Widgets.GIT'];
/** Request segments that hit those patterns, miss them narrowly, or hit several at once. */
const PATH_SEGMENTS = ['acme', 'Acme', 'acme.git', 'secret-plans', 'secret-', 'x-team', '-team', 'scm', 'proj', 'PROJ', 'bitbucket', 'widgets.git', 'ab', 'axxb', 'a.b', 'aXb', '~dave', '(x)', '+', 'wid', 'xyz', 'x1y2z3', 'other'];

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

function world(seed: number): { config: Config; next: () => number } {
  const next = random(seed);
  const accounts: Account[] = Array.from({ length: 2 + Math.floor(next() * 4) }, (_, i) => {
    const url = pick(next, BASES);
    return { name: `a${i}`, kind: url.includes('bitbucket.org') ? 'cloud' : 'datacenter', url, username: `user${i}` };
  });
  const routes: Route[] = Array.from({ length: Math.floor(next() * 40) }, () => {
    const segments = Array.from({ length: Math.floor(next() * 5) }, () => pick(next, PATTERN_SEGMENTS));
    const trailing = next() < 0.5 ? '/*' : '';
    const raw = `${pick(next, ORIGINS)}${segments.length > 0 ? '/' + segments.join('/') : ''}${trailing}`;
    return { pattern: normaliseRoutePattern(raw), account: pick(next, accounts).name };
  });
  return { config: { version: 1, accounts, routes, daemon: {}, oauth: {} }, next };
}

test('on 2,000 generated route sets the index picks exactly the routes the linear scan picked, in the same order', (t) => {
  let compared = 0;
  let withMatches = 0;
  let ties = 0;
  for (let seed = 1; seed <= 2000; seed++) {
    const { config, next } = world(seed);
    const index = new RouteIndex(config);
    for (let request = 0; request < 25; request++) {
      const origin = next() < 0.9 ? pick(next, ORIGINS) : 'https://elsewhere.example';
      const path = next() < 0.1 ? undefined : Array.from({ length: Math.floor(next() * 6) }, () => pick(next, PATH_SEGMENTS)).join('/');
      const allowed = new Set(config.accounts.filter(() => next() < 0.7).map((account) => account.name));
      const expected = linearBestRoutes(config.routes, allowed, origin, path === undefined ? undefined : linearSegments(path));
      const actual = index.bestRoutes(origin, path === undefined ? undefined : pathSegments(path), allowed);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        t.fail(`seed ${seed}, request ${request}: ${origin} ${path ?? '(no path)'} for ${[...allowed].join(',')}: index ${JSON.stringify(actual)}, linear ${JSON.stringify(expected)}`);
        return;
      }
      compared++;
      if (expected.length > 0) withMatches++;
      if (expected.length > 1) ties++;
    }
  }
  t.is(compared, 50_000);
  // The generated worlds exercise what matters: many matches, and ties for the conflict message.
  t.true(withMatches > 10_000, `${withMatches} requests matched a route`);
  t.true(ties > 500, `${ties} requests had equally specific routes`);
});

/** A route whose pattern and account count every read. */
function countedRoute(pattern: string, account: string, reads: { count: number }): Route {
  return {
    get pattern() {
      reads.count++;
      return pattern;
    },
    get account() {
      reads.count++;
      return account;
    },
  };
}

test('with 10,000 routes a request reads only the routes on its own path, not every route', (t) => {
  const reads = { count: 0 };
  const routes = Array.from({ length: 10_000 }, (_, i) => countedRoute(`https://bitbucket.org/ws-${i}/*`, i % 2 === 0 ? 'work' : 'client', reads));
  routes.push(countedRoute('https://bitbucket.org/acme/*', 'work', reads));
  const config: Config = {
    version: 1,
    daemon: {},
    oauth: {},
    accounts: [
      { name: 'work', kind: 'cloud', url: 'https://bitbucket.org', username: 'alice' },
      { name: 'client', kind: 'cloud', url: 'https://bitbucket.org', username: 'carol' },
    ],
    routes,
  };
  const first = routeRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' }, config);
  t.is(first.kind === 'account' ? first.account.name : first.kind, 'work');
  const compiling = reads.count;
  t.true(compiling >= 10_000, 'the first request compiles the routes');
  reads.count = 0;
  for (let i = 0; i < 1000; i++) {
    const decision = routeRequest({ protocol: 'https', host: 'bitbucket.org', path: `ws-${i * 7}/repo.git` }, config);
    t.is(decision.kind === 'account' ? decision.account.name : decision.kind, (i * 7) % 2 === 0 ? 'work' : 'client');
  }
  // A linear scan reads every route on every request: 1,000 × 10,001 routes × 2 fields.
  t.true(reads.count <= 1000 * 4, `${reads.count} route fields read for 1,000 requests`);
});

test('a new version of the config is compiled afresh; the same version is compiled once', (t) => {
  const account = (name: string, username: string): Account => ({ name, kind: 'cloud', url: 'https://bitbucket.org', username });
  const before: Config = { version: 1, daemon: {}, oauth: {}, accounts: [account('work', 'alice'), account('client', 'carol')], routes: [{ pattern: 'https://bitbucket.org/acme', account: 'work' }] };
  t.is(routeIndexFor(before), routeIndexFor(before));
  const request = { protocol: 'https', host: 'bitbucket.org', path: 'acme/secret-plans.git' };
  t.is((routeRequest(request, before) as { account: Account }).account.name, 'work');
  const after: Config = { ...before, routes: [...before.routes, { pattern: 'https://bitbucket.org/acme/secret-*', account: 'client' }] };
  t.not(routeIndexFor(after), routeIndexFor(before));
  t.is((routeRequest(request, after) as { account: Account }).account.name, 'client');
  t.is((routeRequest(request, before) as { account: Account }).account.name, 'work');
});

test('the daemon routes by config.json as it is now: 3,000 routes, then a route added and removed while it runs', async (t) => {
  const WORK = 'ATATT3xFfGF0-routeindex-work-5e7c9a1b3d';
  const CLIENT = 'ATATT3xFfGF0-routeindex-client-2f4a6c8e0b';
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', WORK);
  await sandbox.addAccount('client', 'https://bitbucket.org', 'carol', CLIENT);
  // What `route suggest --apply` leaves for a consultant's account: one route per workspace.
  const file = join(sandbox.configHome, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Config;
  config.routes = Array.from({ length: 3000 }, (_, i) => ({ pattern: `https://bitbucket.org/ws-${i}/*`, account: i % 3 === 0 ? 'client' : 'work' }));
  writeFileSync(file, JSON.stringify(config, null, 2));

  const username = async (path: string) => {
    const answer = await sandbox.helper('get', credentialRequest({ protocol: 'https', host: 'bitbucket.org', path }));
    t.is(answer.code, 0, answer.stderr);
    return /^username=(.*)$/m.exec(answer.stdout)?.[1] ?? `no answer (${answer.stderr.trim()})`;
  };
  t.is(await username('ws-2997/repo.git'), 'carol');
  t.is(await username('ws-1501/repo.git'), 'alice');
  t.is(await username('WS-3/Repo.git'), 'carol');
  t.is(await username('ws-1501/secret-plans.git'), 'alice');

  t.is((await sandbox.cli(['route', 'add', 'https://bitbucket.org/ws-1501/secret-*', 'client'])).code, 0);
  t.is(await username('ws-1501/secret-plans.git'), 'carol', 'the more specific route, added while the daemon runs, wins at once');
  t.is(await username('ws-1501/repo.git'), 'alice');
  t.is((await sandbox.cli(['route', 'remove', 'https://bitbucket.org/ws-1501/secret-*'])).code, 0);
  t.is(await username('ws-1501/secret-plans.git'), 'alice', 'and stops once removed');
  const log = sandbox.requestLog().filter((request) => request.action === 'get');
  t.deepEqual(log.map((request) => request.reason), [
    'route https://bitbucket.org/ws-2997/*',
    'route https://bitbucket.org/ws-1501/*',
    'route https://bitbucket.org/ws-3/*',
    'route https://bitbucket.org/ws-1501/*',
    'route https://bitbucket.org/ws-1501/secret-*',
    'route https://bitbucket.org/ws-1501/*',
    'route https://bitbucket.org/ws-1501/*',
  ]);
});
