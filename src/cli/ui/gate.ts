// Who may talk to the `ui` page's server. A server on 127.0.0.1 is reachable by every web page
// the user visits (through their browser) and by every local user, so:
// - the Host header must name this server, or a DNS-rebinding page (evil.example resolving to
//   127.0.0.1) could read it;
// - every state-changing request and every WebSocket upgrade must come from this page's Origin
//   (browsers always send Origin on those; a missing one is refused), and nothing is served to
//   another origin or site that says so (Origin, Sec-Fetch-Site);
// - every request must carry this start's session cookie (HttpOnly, SameSite=Strict), which the
//   one-time address sets on its first load. The address is visible in the process list (it is
//   passed to the browser), so it works once and then never again.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type Verdict =
  | { kind: 'allow' }
  /** The one-time address, loaded for the first time: set this cookie and go to the page. */
  | { kind: 'open'; setCookie: string }
  | { kind: 'refuse'; status: 401 | 403; why: string };

export interface GateRequest {
  method?: string | undefined;
  url?: string | undefined;
  headers: IncomingHttpHeaders;
}

const OPEN_PATH = '/open';

export class PageGate {
  private readonly openSecret = randomBytes(32).toString('base64url');
  private readonly session = randomBytes(32).toString('base64url');
  private opened = false;

  constructor(readonly port: number) {}

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The address to hand to a browser, once. */
  get openUrl(): string {
    return `${this.origin}${OPEN_PATH}?secret=${this.openSecret}`;
  }

  private get cookieName(): string {
    // Cookies are not kept apart by port: two `ui` runs on two ports must not overwrite each other's.
    return `gcb_ui_${this.port}`;
  }

  check(request: GateRequest, upgrade = false): Verdict {
    if (request.headers.host !== `127.0.0.1:${this.port}`) {
      return { kind: 'refuse', status: 403, why: `wrong Host header; open ${this.origin}/ itself` };
    }
    // Another port of 127.0.0.1 is the same site to a browser, so SameSite alone lets its pages
    // send our cookie along: what they send is refused by where it comes from.
    const site = request.headers['sec-fetch-site'];
    const foreignOrigin = request.headers.origin !== undefined && request.headers.origin !== this.origin;
    if (foreignOrigin || (site !== undefined && site !== 'same-origin' && site !== 'none')) {
      return { kind: 'refuse', status: 403, why: 'requests from other sites or origins are refused' };
    }
    const method = request.method ?? 'GET';
    if ((upgrade || (method !== 'GET' && method !== 'HEAD')) && request.headers.origin === undefined) {
      return { kind: 'refuse', status: 403, why: 'this request must come from the page itself (Origin)' };
    }
    const url = new URL(request.url ?? '/', this.origin);
    if (url.pathname === OPEN_PATH && !upgrade) return this.open(url.searchParams.get('secret') ?? '');
    if (!sameSecret(cookieValue(request.headers.cookie, this.cookieName) ?? '', this.session)) {
      return { kind: 'refuse', status: 401, why: 'no session: open the address `git-credential-bitbucket ui` printed' };
    }
    return { kind: 'allow' };
  }

  private open(secret: string): Verdict {
    if (this.opened || !sameSecret(secret, this.openSecret)) {
      return {
        kind: 'refuse',
        status: 403,
        why: `this address works once and was used already (or is from another start): the browser that opened it goes on at ${this.origin}/; elsewhere, run \`git-credential-bitbucket ui\` again`,
      };
    }
    this.opened = true;
    return { kind: 'open', setCookie: `${this.cookieName}=${this.session}; HttpOnly; SameSite=Strict; Path=/` };
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** Constant-time comparison; hashing first gives equal lengths without leaking the length. */
function sameSecret(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}
