// The `ui` page server's safety rules, with hand-made requests no browser would send: without
// the start's cookie nothing is served; the one-time address works once; a foreign Host (DNS
// rebinding), a missing or foreign Origin on a change or a WebSocket, and a request another site
// says it sent are refused and change nothing. And `ws` stays out of git's path.

import test, { type ExecutionContext } from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startUi, type RunningUi } from './support/browser.js';
import { HELPER, REPO_ROOT, Sandbox } from './support/sandbox.js';

const TOKEN = 'ATATT3xFfGF0-uisec-work-6d2b8f4a0c';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(ui: RunningUi, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const { port } = new URL(ui.origin);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** How a WebSocket upgrade ends: 'open', or the HTTP status it was refused with. */
function upgrade(ui: RunningUi, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${ui.origin.replace('http', 'ws')}/live`, { headers });
    socket.on('open', () => {
      socket.close();
      resolve('open');
    });
    socket.on('unexpected-response', (_request, response) => resolve(String(response.statusCode)));
    socket.on('error', (error) => resolve(error.message));
  });
}

async function world(t: ExecutionContext): Promise<{ sandbox: Sandbox; ui: RunningUi }> {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', TOKEN, ['--kind', 'cloud']);
  return { sandbox, ui: await startUi(t, sandbox) };
}

test('without the cookie nothing is served; the one-time address sets it once and then never again', async (t) => {
  const { ui } = await world(t);
  for (const path of ['/', '/page.js', '/api/state']) {
    const answer = await send(ui, 'GET', path);
    t.is(answer.status, 401, path);
    t.false(answer.body.includes('work') || answer.body.includes('<html'), `no data from ${path}`);
  }
  t.is(await upgrade(ui, { origin: ui.origin }), '401');
  const path = new URL(ui.address).pathname + new URL(ui.address).search;
  t.is((await send(ui, 'GET', '/open?secret=guessed')).status, 403, 'a wrong secret');

  const first = await send(ui, 'GET', path);
  t.is(first.status, 303);
  t.is(first.headers.location, '/');
  const cookie = first.headers['set-cookie']?.[0] ?? '';
  t.regex(cookie, /^gcb_ui_\d+=[\w-]{43}; HttpOnly; SameSite=Strict; Path=\/$/);
  const again = await send(ui, 'GET', path);
  t.is(again.status, 403, 'the address works once');
  t.is(again.headers['set-cookie'], undefined);

  const session = cookie.split(';')[0]!;
  const page = await send(ui, 'GET', '/', { cookie: session });
  t.is(page.status, 200);
  t.regex(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self';/);
  t.is(page.headers['access-control-allow-origin'], undefined, 'no CORS');
  t.is(page.headers['x-frame-options'], 'DENY');
  const state = await send(ui, 'GET', '/api/state', { cookie: session });
  t.is(state.status, 200);
  t.true(state.body.includes('"name":"work"'));
  t.false(state.body.includes(TOKEN));
  t.is(await upgrade(ui, { origin: ui.origin, cookie: 'gcb_ui_1=not-the-session' }), '401');
});

test('a foreign Host, a missing or foreign Origin, or another site is refused and changes nothing', async (t) => {
  const { sandbox, ui } = await world(t);
  const path = new URL(ui.address).pathname + new URL(ui.address).search;
  const session = ((await send(ui, 'GET', path)).headers['set-cookie']?.[0] ?? '').split(';')[0]!;
  const json = { cookie: session, 'content-type': 'application/json' };
  const route = JSON.stringify({ pattern: 'https://bitbucket.org/acme/*', account: 'work' });

  const rebound = await send(ui, 'GET', '/api/state', { cookie: session, host: 'evil.example' });
  t.is(rebound.status, 403, 'DNS rebinding: Host evil.example');
  t.false(rebound.body.includes('work'));
  t.is((await send(ui, 'GET', '/api/state', { cookie: session, 'sec-fetch-site': 'cross-site' })).status, 403);
  t.is((await send(ui, 'GET', '/api/state', { cookie: session, origin: 'http://127.0.0.1:1' })).status, 403, 'another port is another origin');
  t.is((await send(ui, 'POST', '/api/route-add', json, route)).status, 403, 'a change without Origin');
  t.is((await send(ui, 'POST', '/api/route-add', { ...json, origin: 'http://evil.example' }, route)).status, 403, 'a change from another origin');
  t.is(await upgrade(ui, { origin: 'http://evil.example', cookie: session }), '403', 'a WebSocket from another origin');
  t.is(await upgrade(ui, { cookie: session, host: 'evil.example' }), '403', 'a WebSocket through a rebound name');
  t.is((await sandbox.cli(['route', 'list', '--json'])).stdout.trim(), '[]');

  // The same requests from the page itself are served.
  t.is(await upgrade(ui, { origin: ui.origin, cookie: session }), 'open');
  const added = await send(ui, 'POST', '/api/route-add', { ...json, origin: ui.origin }, route);
  t.is(added.status, 200, added.body);
  t.true((JSON.parse(added.body) as { ok: boolean }).ok);
  t.regex((await sandbox.cli(['route', 'list'])).stdout, /acme\/\* +work/);
});

test('git\'s path never loads ws: only the ui page server imports it, and the helper bundle holds none of it', (t) => {
  const importers: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/from 'ws'|import\('ws'\)/.test(readFileSync(path, 'utf8'))) importers.push(path.slice(REPO_ROOT.length + 1));
    }
  };
  walk(join(REPO_ROOT, 'src'));
  t.deepEqual(importers, ['src/cli/ui/live.ts']);
  t.false(/WebSocket/.test(readFileSync(HELPER, 'utf8')));
});
