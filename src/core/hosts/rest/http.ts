// One HTTP request to Bitbucket with a credential, for `account verify`, `route suggest` and
// `doctor`. Network failures are turned into one sentence that names the host and the likely fix
// (DNS, TLS, proxy, unreachable, timeout); the credential never appears in what this module returns or
// throws. Requests take git's proxy and CA settings (network/fetch-like-git.ts).

import { NetworkSetupError, fetchLikeGit } from '../../network/fetch-like-git.js';

export type Authorization = { scheme: 'basic'; username: string; secret: string } | { scheme: 'bearer'; secret: string };

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, else undefined. */
  json: unknown;
  text: string;
}

/**
 * Why Bitbucket could not be asked at all: the place or the way there, never the credential
 * (`refused` is Bitbucket refusing the credential, a problem code of its own).
 */
export const NETWORK_PROBLEM_KINDS = ['dns', 'tls', 'proxy', 'unreachable', 'timeout', 'network'] as const;
export type NetworkProblemKind = (typeof NETWORK_PROBLEM_KINDS)[number];

export function isNetworkProblem(code: string | undefined): code is NetworkProblemKind {
  return (NETWORK_PROBLEM_KINDS as readonly (string | undefined)[]).includes(code);
}

export class NetworkProblem extends Error {
  constructor(
    readonly kind: NetworkProblemKind,
    message: string,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 15_000;
/** Enough for a page of JSON; a larger answer is not a Bitbucket API answer we asked for. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH)/;

/** `skipSuccessBody` drops a 200's body (a git ref advertisement is not needed to know the answer). */
export async function apiGet(url: string, auth: Authorization | undefined, options: { skipSuccessBody?: boolean; timeoutMs?: number } = {}): Promise<ApiResponse> {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'git-credential-bitbucket' };
  if (auth?.scheme === 'basic') headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.secret}`, 'utf8').toString('base64')}`;
  if (auth?.scheme === 'bearer') headers.Authorization = `Bearer ${auth.secret}`;
  let response: Response;
  let buffer: Buffer;
  try {
    response = await fetchRetryingClosedConnection(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    // The timeout also covers the body: a server that stalls half-way is a timeout, not a crash.
    buffer = options.skipSuccessBody && response.status === 200 ? await discard(response) : await readCapped(response);
  } catch (error) {
    // Never quote the error's own message: for a malformed header it contains the header, secret included.
    throw describeNetworkError(error, new URL(url), timeoutMs);
  }
  const text = buffer.toString('utf8');
  let json: unknown;
  if (/json/i.test(response.headers.get('content-type') ?? '')) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: response.status, headers: response.headers, json, text };
}

/** How a request fails when the server closed the kept-alive connection it went out on. */
const CLOSED_CONNECTION_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/**
 * A server closes an idle kept-alive connection on its own schedule, and a request can go out on
 * it just as it closes (more likely on a busy machine, whose timers run late). curl, and git with
 * it, sends such a request again once on a fresh connection; so do we: a GET is safe to repeat.
 * The one timeout still covers both attempts.
 */
async function fetchRetryingClosedConnection(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetchLikeGit(url, init);
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code === undefined || !CLOSED_CONNECTION_CODES.has(code) || init.signal?.aborted) throw error;
    return fetchLikeGit(url, init);
  }
}

async function discard(response: Response): Promise<Buffer> {
  await response.body?.cancel().catch(() => undefined);
  return Buffer.alloc(0);
}

async function readCapped(response: Response): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (!response.body) return Buffer.alloc(0);
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      await response.body.cancel().catch(() => undefined);
      break;
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function describeNetworkError(error: unknown, url: URL, timeoutMs: number): NetworkProblem {
  if (error instanceof NetworkSetupError) return new NetworkProblem(error.kind, error.message);
  const err = error as { name?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError' || err.cause?.code === 'UND_ERR_ABORTED') {
    return new NetworkProblem('timeout', `${url.host} did not answer within ${timeoutMs / 1000} s; check the URL, your network, VPN or proxy`);
  }
  const code = err.cause?.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NODATA' || code === 'EAI_NONAME') {
    return new NetworkProblem('dns', `cannot resolve ${url.hostname} (DNS ${code}): check the host name in the URL, or your VPN`);
  }
  // The TLS handshake got a plain-http answer: an https:// URL on an http-only server or port.
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return new NetworkProblem('tls', `${url.host} does not answer TLS there (${code}): it looks like a plain-http port; check the URL's scheme and port`);
  }
  if (TLS_CODES.test(code)) {
    return new NetworkProblem(
      'tls',
      `the TLS certificate of ${url.host} is not trusted (${code}): if your company uses its own certificate authority, point git at its PEM file (git config --global http.sslCAInfo /path/to/ca.pem); this tool uses git's setting`,
    );
  }
  if (code === 'ECONNREFUSED') {
    return new NetworkProblem('unreachable', `nothing answers at ${url.host} (connection refused): check the URL and port, and that this machine can reach the host (network, VPN, firewall)`);
  }
  if (CLOSED_CONNECTION_CODES.has(code)) {
    return new NetworkProblem('network', `${url.host} closed the connection (${code}); a proxy or firewall may be in the way`);
  }
  return new NetworkProblem('network', `cannot reach ${url.host}${code ? ` (${code})` : ''}: ${err.cause?.message ?? 'network error'}`);
}

/** Appends query parameters to a URL that may already have some. */
export function withQuery(url: string, query: Record<string, string | number>): string {
  const parsed = new URL(url);
  for (const [key, value] of Object.entries(query)) parsed.searchParams.set(key, String(value));
  return parsed.toString();
}

/**
 * A clone link from an API answer, without the `user@` Bitbucket puts in it, or undefined when it
 * is not on the account's own origin and below its base path: the credential goes nowhere else
 * (a misconfigured Data Center base URL can advertise another host, or plain http).
 */
export function cleanCloneUrl(href: string, accountUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  const base = new URL(accountUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  if (url.origin !== base.origin || !(url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) return undefined;
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}

/** A next-page link, only when it stays on the origin the credential was meant for. */
export function sameOriginLink(href: string | undefined, origin: string): string | undefined {
  if (href === undefined) return undefined;
  try {
    return new URL(href).origin === new URL(origin).origin ? href : undefined;
  } catch {
    return undefined;
  }
}
