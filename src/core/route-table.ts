// The routes as the router applies them, for people to read (the `ui` page): per host, the most
// specific route first, the account each leads to, and the pairs the router cannot choose
// between (equally specific, both matching some repository, different accounts: a request there
// gets no answer). Pure: config in, table out. The ranking is the router's own (route-index.ts).

import { parseRoutePattern } from './accounts.js';
import type { Config } from './config.js';
import { compareSpecificity, originKey, patternSegments, specificityOf } from './route-index.js';

export interface RouteRow {
  pattern: string;
  account: string;
  /** scheme://host the route is for. */
  origin: string;
  /** 1 for the route the router tries first on its host. */
  rank: number;
  /** Routes of other accounts this one ties with for some repository. */
  conflictsWith: string[];
}

export interface HostRow {
  origin: string;
  accounts: string[];
  /** With one account a host needs no route: every request there goes to it. */
  needsRoutes: boolean;
}

export interface RouteTable {
  routes: RouteRow[];
  hosts: HostRow[];
}

export function routeTable(config: Config): RouteTable {
  const hosts = new Map<string, string[]>();
  for (const account of config.accounts) {
    const origin = originKey(account.url);
    hosts.set(origin, [...(hosts.get(origin) ?? []), account.name]);
  }
  const ranked = config.routes.map((route, index) => {
    const { origin, path } = parseRoutePattern(route.pattern);
    const where = `${origin.protocol}://${origin.host}`;
    const globs = patternSegments(path);
    return { route, index, origin: where, globs, specificity: specificityOf(globs) };
  });
  const routes: RouteRow[] = [];
  for (const origin of new Set(ranked.map((entry) => entry.origin))) {
    const onHost = ranked
      .filter((entry) => entry.origin === origin)
      .sort((a, b) => compareSpecificity(b.specificity, a.specificity) || a.index - b.index);
    onHost.forEach((entry, i) => {
      const conflictsWith = onHost
        .filter(
          (other) =>
            other !== entry &&
            other.route.account !== entry.route.account &&
            compareSpecificity(other.specificity, entry.specificity) === 0 &&
            other.globs.every((glob, j) => globsIntersect(glob, entry.globs[j]!)),
        )
        .map((other) => `${other.route.pattern} → ${other.route.account}`);
      routes.push({ pattern: entry.route.pattern, account: entry.route.account, origin, rank: i + 1, conflictsWith });
    });
  }
  return {
    routes,
    hosts: [...hosts].map(([origin, accounts]) => ({ origin, accounts, needsRoutes: accounts.length > 1 })),
  };
}

/** Whether some segment matches both globs ('*' = any run of characters): a walk over both at once. */
export function globsIntersect(a: string, b: string): boolean {
  const seen = new Set<string>();
  const pending: Array<[number, number]> = [[0, 0]];
  while (pending.length > 0) {
    const [i, j] = pending.pop()!;
    const key = `${i},${j}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (i === a.length && j === b.length) return true;
    // A '*' may match nothing; or a character both can read is read by both.
    if (a[i] === '*') pending.push([i + 1, j]);
    if (b[j] === '*') pending.push([i, j + 1]);
    if (i < a.length && j < b.length) {
      if (a[i] === '*' && b[j] !== '*') pending.push([i, j + 1]);
      else if (b[j] === '*' && a[i] !== '*') pending.push([i + 1, j]);
      else if (a[i] === b[j] && a[i] !== '*') pending.push([i + 1, j + 1]);
    }
  }
  return false;
}
