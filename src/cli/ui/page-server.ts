// The `ui` page's HTTP server on 127.0.0.1: the page (one HTML, one script, one style sheet),
// its JSON under /api/ and its WebSocket at /live. Every request passes the gate first
// (gate.ts); every answer carries a strict Content-Security-Policy and no CORS header, so no
// other site may read or frame anything here.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ProductPaths } from '../../shared/paths.js';
import { UserError } from '../../core/errors.js';
import { addRoute, closeForward, doctor, field, removeRoute, setSecret, startLogin, verifyAccount } from './actions.js';
import { PAGE_CSS, PAGE_HTML, pageScript } from './assets.js';
import { PageGate } from './gate.js';
import { LiveFeed } from './live.js';
import { pageState } from './state.js';

const MAX_BODY_BYTES = 64 * 1024;

export interface PageServer {
  gate: PageGate;
  close(): void;
}

type Api = (body: Record<string, unknown>) => Promise<unknown>;

export async function startPageServer(paths: ProductPaths, port: number): Promise<PageServer> {
  const live = await LiveFeed.create(paths);
  const api: Record<string, Api> = {
    'GET /api/state': () => pageState(paths),
    'POST /api/doctor': () => doctor(),
    'POST /api/route-add': (body) => addRoute(field(body, 'pattern'), field(body, 'account')),
    'POST /api/route-remove': (body) => removeRoute(field(body, 'pattern')),
    'POST /api/verify': (body) => verifyAccount(field(body, 'account')),
    'POST /api/forward-close': (body) => closeForward(field(body, 'name')),
    'POST /api/set-secret': (body) => setSecret(field(body, 'account'), field(body, 'secret'), field(body, 'secretKind', true), field(body, 'expires', true)),
    'POST /api/login': (body) => {
      const account = field(body, 'account');
      return startLogin(account, (result) => live.broadcast({ type: 'login-finished', account, result }));
    },
  };
  let gate: PageGate | undefined;
  const server = createServer((request, response) => void handle(request, response, gate!, api));
  server.on('upgrade', (request: IncomingMessage, socket, head: Buffer) => {
    const verdict = gate!.check(request, true);
    if (verdict.kind !== 'allow' || new URL(request.url ?? '/', gate!.origin).pathname !== '/live') {
      socket.end(`HTTP/1.1 ${verdict.kind === 'refuse' ? verdict.status : 404} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    live.accept(request, socket, head);
  });
  const bound = await listen(server, port);
  gate = new PageGate(bound);
  return {
    gate,
    close: () => {
      live.close();
      server.closeAllConnections();
      server.close();
    },
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? new UserError(`port ${port} on 127.0.0.1 cannot be used (${error.code}); choose another with --port, or leave --port out for a free one`) : error),
    );
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

async function handle(request: IncomingMessage, response: ServerResponse, gate: PageGate, api: Record<string, Api>): Promise<void> {
  const send = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
    response.writeHead(status, { ...securityHeaders(gate), 'content-type': type, ...extra }).end(request.method === 'HEAD' ? undefined : body);
  };
  const verdict = gate.check(request);
  if (verdict.kind === 'refuse') return send(verdict.status, 'text/plain; charset=utf-8', `${verdict.why}\n`);
  if (verdict.kind === 'open') return send(303, 'text/plain; charset=utf-8', 'See /\n', { location: '/', 'set-cookie': verdict.setCookie });

  const path = new URL(request.url ?? '/', gate.origin).pathname;
  const method = request.method === 'HEAD' ? 'GET' : (request.method ?? 'GET');
  if (method === 'GET' && path === '/') return send(200, 'text/html; charset=utf-8', PAGE_HTML);
  if (method === 'GET' && path === '/page.css') return send(200, 'text/css; charset=utf-8', PAGE_CSS);
  if (method === 'GET' && path === '/page.js') return send(200, 'text/javascript; charset=utf-8', await pageScript());
  // Browsers ask for it on their own; there is none.
  if (method === 'GET' && path === '/favicon.ico') return send(204, 'text/plain', '');
  const endpoint = api[`${method} ${path}`];
  if (!endpoint) return send(404, 'text/plain; charset=utf-8', 'Not found\n');
  try {
    const body = method === 'POST' ? await readJson(request) : {};
    send(200, 'application/json', JSON.stringify(await endpoint(body)));
  } catch (error) {
    const status = error instanceof UserError ? 400 : 500;
    send(status, 'application/json', JSON.stringify({ error: (error as Error).message }));
  }
}

/** A JSON object of bounded size, sent as application/json (which no cross-site form can send). */
async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  if (!(request.headers['content-type'] ?? '').startsWith('application/json')) throw new UserError('send the request as application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw new UserError(`request larger than ${MAX_BODY_BYTES / 1024} KiB`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new UserError('the request is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UserError('the request is not a JSON object');
  return body as Record<string, unknown>;
}

function securityHeaders(gate: PageGate): Record<string, string> {
  return {
    'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' ws://127.0.0.1:${gate.port}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-store',
  };
}
