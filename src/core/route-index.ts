// Accounts and routes compiled once per config into what routing looks up: the accounts of each
// origin, and per origin a trie of the routes over their path segments. A request then walks its
// own path (one map look-up per segment, plus the wildcard segments at each step) instead of
// testing every route: `route suggest --apply` makes thousands of routes normal, and the daemon
// routes every request git makes.
//
// A Config is treated as a value: the daemon's ConfigCache hands out one object per version of
// config.json, so each version is compiled once, on its first request.

import { basePathOf, originOf, parseRoutePattern, type Account, type Route } from './accounts.js';
import type { Config } from './config.js';

/** How specific a matching route is: more path segments win, then more literal characters. */
export interface Specificity {
  segments: number;
  literals: number;
}

export interface AccountOnOrigin {
  account: Account;
  /** The account's context path as segments ([] on Cloud, ["bitbucket"] under /bitbucket). */
  basePath: readonly string[];
}

interface RouteEntry {
  route: Route;
  /** Its place in config.json: equally specific routes are reported in file order. */
  order: number;
}

/** The routes whose pattern path is exactly the segments leading here. */
class PathNode {
  readonly routes: RouteEntry[] = [];
  /** Children by a segment without `*`: the request's segment must equal it. */
  readonly literal = new Map<string, PathNode>();
  /** Children by a segment with `*` (any run of characters within the segment), by its text. */
  readonly globs = new Map<string, { matches: RegExp; node: PathNode }>();

  constructor(readonly specificity: Specificity) {}

  child(segment: string): PathNode {
    const specificity = { segments: this.specificity.segments + 1, literals: this.specificity.literals + segment.replace(/\*/g, '').length };
    if (!segment.includes('*')) {
      let node = this.literal.get(segment);
      if (!node) this.literal.set(segment, (node = new PathNode(specificity)));
      return node;
    }
    let glob = this.globs.get(segment);
    if (!glob) this.globs.set(segment, (glob = { matches: globToRegExp(segment), node: new PathNode(specificity) }));
    return glob.node;
  }
}

export class RouteIndex {
  private readonly accounts = new Map<string, AccountOnOrigin[]>();
  private readonly tries = new Map<string, PathNode>();

  constructor(config: Config) {
    for (const account of config.accounts) {
      const origin = originKey(account.url);
      const entry = { account, basePath: pathSegments(basePathOf(account.url)) };
      const list = this.accounts.get(origin);
      if (list) list.push(entry);
      else this.accounts.set(origin, [entry]);
    }
    config.routes.forEach((route, order) => {
      const parsed = parseRoutePattern(route.pattern);
      const origin = `${parsed.origin.protocol}://${parsed.origin.host}`;
      let node = this.tries.get(origin);
      if (!node) this.tries.set(origin, (node = new PathNode({ segments: 0, literals: 0 })));
      for (const segment of patternSegments(parsed.path)) node = node.child(segment);
      node.routes.push({ route, order });
    });
  }

  /** The accounts on `origin` ("https://host[:port]"), in config order. */
  accountsOn(origin: string): readonly AccountOnOrigin[] {
    return this.accounts.get(origin) ?? [];
  }

  hasRoutesOn(origin: string): boolean {
    return this.tries.has(origin);
  }

  /**
   * The most specific routes on `origin` to one of the `allowed` accounts that match `path`
   * (from pathSegments; undefined when git sent none, and then only host-wide routes match), in
   * config order. A route matches when each of its segments matches the request's segment at the
   * same place; the request may go on deeper.
   */
  bestRoutes(origin: string, path: readonly string[] | undefined, allowed: ReadonlySet<string>): Route[] {
    const root = this.tries.get(origin);
    if (!root) return [];
    let best: RouteEntry[] = [];
    let bestScore: Specificity | undefined;
    const visit = (node: PathNode, depth: number): void => {
      for (const entry of node.routes) {
        if (!allowed.has(entry.route.account)) continue;
        const order = bestScore ? compareSpecificity(node.specificity, bestScore) : 1;
        if (order > 0) {
          best = [entry];
          bestScore = node.specificity;
        } else if (order === 0) {
          best.push(entry);
        }
      }
      if (path === undefined || depth >= path.length) return;
      const segment = path[depth]!;
      const exact = node.literal.get(segment);
      if (exact) visit(exact, depth + 1);
      for (const glob of node.globs.values()) if (glob.matches.test(segment)) visit(glob.node, depth + 1);
    };
    visit(root, 0);
    return best.sort((a, b) => a.order - b.order).map((entry) => entry.route);
  }
}

const compiled = new WeakMap<Config, RouteIndex>();

/** The index of this version of the config, compiled on first use. */
export function routeIndexFor(config: Config): RouteIndex {
  let index = compiled.get(config);
  if (!index) compiled.set(config, (index = new RouteIndex(config)));
  return index;
}

/** "https://host[:port]" of a base URL or route, as requests are matched against. */
export function originKey(url: string): string {
  const { protocol, host } = originOf(url);
  return `${protocol}://${host}`;
}

/** Lower-cased path segments without a trailing ".git": Bitbucket paths are case-insensitive. */
export function pathSegments(path: string): string[] {
  return path
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => segment.toLowerCase().replace(/\.git$/, ''));
}

/** A pattern's segments to match; a final `*` adds nothing (`acme/*` covers what `acme` covers). */
export function patternSegments(path: string): string[] {
  return pathSegments(path).filter((segment, i, all) => !(segment === '*' && i === all.length - 1));
}

/** The specificity of a route whose pattern path has these segments (from patternSegments). */
export function specificityOf(segments: readonly string[]): Specificity {
  return { segments: segments.length, literals: segments.reduce((sum, segment) => sum + segment.replace(/\*/g, '').length, 0) };
}

export function compareSpecificity(a: Specificity, b: Specificity): number {
  return a.segments - b.segments || a.literals - b.literals;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}
