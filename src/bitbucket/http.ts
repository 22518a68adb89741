// One HTTP request to Bitbucket with a credential, for `account verify`, `route suggest` and
// `doctor`. Network failures are turned into one sentence that names the host and the likely fix
// (DNS, TLS, refused, timeout); the credential never appears in what this module returns or throws.

export type Authorization = { scheme: 'basic'; username: string; secret: string } | { scheme: 'bearer'; secret: string };

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, else undefined. */
  json: unknown;
  text: string;
}

export type NetworkProblemKind = 'dns' | 'tls' | 'refused' | 'timeout' | 'network';

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

export async function apiGet(url: string, auth: Authorization | undefined, timeoutMs = TIMEOUT_MS): Promise<ApiResponse> {
  const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'git-credential-bitbucket' };
  if (auth?.scheme === 'basic') headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.secret}`, 'utf8').toString('base64')}`;
  if (auth?.scheme === 'bearer') headers.Authorization = `Bearer ${auth.secret}`;
  let response: Response;
  try {
    response = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw describeNetworkError(error, new URL(url), timeoutMs);
  }
  const buffer = await readCapped(response);
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
  const err = error as { name?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') {
    return new NetworkProblem('timeout', `${url.host} did not answer within ${timeoutMs / 1000} s; check the URL, your network, VPN or proxy`);
  }
  const code = err.cause?.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NODATA' || code === 'EAI_NONAME') {
    return new NetworkProblem('dns', `cannot resolve ${url.hostname} (DNS ${code}): check the host name in the URL, or your VPN`);
  }
  if (TLS_CODES.test(code)) {
    return new NetworkProblem(
      'tls',
      `the TLS certificate of ${url.host} is not trusted (${code}): if your company uses its own certificate authority, point NODE_EXTRA_CA_CERTS at its PEM file for this tool and http.sslCAInfo at it for git`,
    );
  }
  if (code === 'ECONNREFUSED') return new NetworkProblem('refused', `nothing answers at ${url.host} (connection refused): check the URL and port`);
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') {
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

/** A clone link without the `user@` Bitbucket puts in it. */
export function cleanCloneUrl(href: string): string {
  const url = new URL(href);
  url.username = '';
  url.password = '';
  return url.toString().replace(/\/+$/, '');
}
