// Picks the account for one request from git. Pure: config in, decision out.
//
// Order: a path whose meaning depends on the server (dot segments, backslashes) gets no account;
// then only accounts on the request's scheme and host (and under their context path) are
// candidates; a username in the remote URL narrows to the account(s) with that username; then
// the most specific matching route wins (found in the compiled index, route-index.ts); a host
// with a single candidate needs no route. Anything else is ambiguous, and the answer says which
// route to add.

import { TOKEN_USERNAMES, type Account } from './accounts.js';
import type { Config } from './config.js';
import { hostFor } from './hosts/host.js';
import { originKey, pathSegments, routeIndexFor, type AccountOnOrigin } from './route-index.js';

export interface RoutingRequest {
  protocol: string;
  host: string;
  /** As git sends it: no leading slash; absent without credential.useHttpPath. */
  path?: string;
  username?: string;
}

export type RouteDecision =
  | { kind: 'account'; account: Account; reason: string }
  /** No account for this host: not ours to answer, and nothing to say. */
  | { kind: 'not-ours' }
  | { kind: 'unresolved'; message: string };


export function routeRequest(request: RoutingRequest, config: Config): RouteDecision {
  const origin = `${request.protocol.toLowerCase()}://${normaliseHost(request.protocol, request.host)}`;
  const index = routeIndexFor(config);
  const onHost = index.accountsOn(origin);
  if (onHost.length === 0) return { kind: 'not-ours' };
  // Before the context-path check: `bitbucket/scm/../../other-app` must not reach an account
  // through the segments the server drops, nor `other/../bitbucket` be waved through as not ours.
  const ambiguous = request.path === undefined ? undefined : serverDependentPart(request.path);
  if (ambiguous) {
    return {
      kind: 'unresolved',
      message: `no account for ${describe(origin, request.path)}: its path has ${ambiguous}, which servers resolve differently, so the repository it names is unknown; use the repository's plain URL (no %2e, %2f, ; or backslash in the path)`,
    };
  }

  const path = request.path === undefined ? undefined : pathSegments(request.path);
  let candidates = onHost.filter((entry) => path === undefined || startsWith(path, entry.basePath));
  if (candidates.length === 0) return { kind: 'not-ours' };

  const username = request.username;
  if (username && !TOKEN_USERNAMES.has(username.toLowerCase())) {
    const named = candidates.filter((entry) => entry.account.username.toLowerCase() === username.toLowerCase());
    if (named.length === 0) {
      const shown = printableUsername(username);
      return {
        kind: 'unresolved',
        message: `no account with ${shown ? `username ${shown}` : 'the username in the remote URL'} for ${origin} (accounts there: ${names(candidates)}); add one with \`git-credential-bitbucket account add\` or remove "${shown ?? 'USERNAME'}@" from the remote URL`,
      };
    }
    if (named.length === 1) return { kind: 'account', account: named[0]!.account, reason: `username ${username} in the URL` };
    candidates = named;
  }

  const best = index.bestRoutes(origin, path, new Set(candidates.map((entry) => entry.account.name)));
  const accounts = [...new Set(best.map((route) => route.account))];
  if (accounts.length === 1) {
    const account = candidates.find((candidate) => candidate.account.name === accounts[0])!.account;
    return { kind: 'account', account, reason: `route ${best[0]!.pattern}` };
  }
  if (accounts.length > 1) {
    return {
      kind: 'unresolved',
      message: `routes ${best.map((route) => `${route.pattern} → ${route.account}`).join(' and ')} are equally specific for ${describe(origin, request.path)}; remove one with \`git-credential-bitbucket route remove PATTERN\``,
    };
  }
  if (candidates.length === 1) return { kind: 'account', account: candidates[0]!.account, reason: 'only account for this host' };

  if (path === undefined) {
    return {
      kind: 'unresolved',
      message: `${origin} has several accounts (${names(candidates)}) and git sent no repository path; run \`git config --global credential.${origin}.useHttpPath true\` so routes can pick one`,
    };
  }
  const suggestion = suggestedRoute(candidates[0]!, origin, request.path ?? '');
  return {
    kind: 'unresolved',
    message: `no route picks one of the accounts ${names(candidates)} for ${describe(origin, request.path)}; add one, e.g. \`git-credential-bitbucket route add '${suggestion}' ${candidates[0]!.account.name}\``,
  };
}

/**
 * Whether routing for this URL's host needs the repository path from git (credential.useHttpPath):
 * it does when the host has several accounts or any route.
 */
export function hostNeedsPath(config: Config, url: string): boolean {
  const index = routeIndexFor(config);
  const origin = originKey(url);
  return index.accountsOn(origin).length > 1 || index.hasRoutesOn(origin);
}

/** A "." or ".." segment, also percent-encoded (git decodes the path once; a server may again). */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;
/** Where a server may split a path: "/", and "\\" or an encoded slash for some servers. */
const SEPARATOR = /\/|\\|%2f|%5c/i;

/**
 * What in a path from git makes the repository depend on the server, if anything. git resolves
 * literal "." and ".." itself before it asks (`https://host/bob/../acme/x.git` arrives as
 * `acme/x.git`), so a dot segment here was percent-encoded in the remote URL (`%2e%2e`, `.%2e`,
 * `..%2f`): git decodes it for the helper while curl sends it as written, and servers disagree
 * (a WHATWG URL parser resolves `%2e%2e` like `..`, others keep or refuse it). A backslash is a
 * separator to some servers and a plain character to others, and git decodes `%5c` to one too.
 * Routing such a path could hand one account's secret to the repository of another; no
 * Bitbucket workspace, project or repository name holds a backslash or is "." or "..".
 */
function serverDependentPart(path: string): string | undefined {
  if (path.split(SEPARATOR).some((segment) => DOT_SEGMENT.test(segment))) return 'a "." or ".." segment';
  // Servlet containers (Data Center runs on Tomcat) drop a ";param" from each segment before
  // they resolve dot segments, so `bob/..;/acme` is served as `acme`; git and curl leave it alone.
  if (/;|%3b/i.test(path)) return 'a ";" (a path parameter, which servers drop before resolving "..")';
  if (/\\|%5c/i.test(path)) return 'a backslash';
  return undefined;
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.every((segment, i) => path[i] === segment);
}

function normaliseHost(protocol: string, host: string): string {
  const lower = host.toLowerCase();
  const defaultPort = protocol.toLowerCase() === 'http' ? ':80' : ':443';
  return lower.endsWith(defaultPort) ? lower.slice(0, -defaultPort.length) : lower;
}

/** A route for the workspace or project the path names (as the account's kind spells it), else its first segment. */
function suggestedRoute({ account, basePath }: AccountOnOrigin, origin: string, path: string): string {
  const parts = path.split('/').filter(Boolean);
  const space = hostFor(account.kind).spaceOfPath(parts.slice(basePath.length));
  return space ? hostFor(account.kind).routePattern(account, space) : `${origin}/${parts[0] ? `${parts[0]}/` : ''}*`;
}

/**
 * CI scripts often put a token where the username goes (https://$TOKEN@bitbucket.org/...).
 * Echo the username only when it cannot be one: short and made of name characters.
 */
function printableUsername(username: string): string | undefined {
  return username.length <= 32 && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(username) && !/\d{6}/.test(username) ? username : undefined;
}

function names(accounts: readonly AccountOnOrigin[]): string {
  return accounts.map((entry) => entry.account.name).join(', ');
}

function describe(origin: string, path: string | undefined): string {
  return path ? `${origin}/${path}` : origin;
}
