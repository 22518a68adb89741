// Issue #12: connections held open on the daemon's sockets were never closed (2,000 held
// connections kept 2,356 file descriptors). A connection that sends no complete request within
// GIT_CREDENTIAL_BITBUCKET_CONNECTION_TIMEOUT_MS is closed, never while one of its requests is
// being answered (an OAuth refresh can take many seconds), and each socket takes at most
// MAX_CONNECTIONS at once. Every wait here ends on an event (a close, an answer, a request at the
// token endpoint); the caps only bound a test that went wrong.

import test, { type ExecutionContext } from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { MAX_CONNECTIONS } from '../src/daemon/connections.js';
import { WIRE_VERSION } from '../src/shared/wire.js';
import { Sandbox, credentialRequest } from './support/sandbox.js';
import { waitFor } from './support/wait.js';

const SECRET = 'ATATT3x-connections-7a6b5c4d3e2f1a0b';
const CLIENT_ID = 'held-refresh-consumer';
const CLIENT_SECRET = 'held-refresh-consumer-secret-3e5f';
const REFRESH_TOKEN = 'held-refresh-token-0d9c8b7a6f5e4d3c';
const ACCESS_TOKEN = 'held-access-token-1a2b3c4d5e6f7a8b9c';
const GET = credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' });
const CAP_MS = 30_000;

const mainSocketOf = (sandbox: Sandbox) => join(sandbox.configHome, 'run', 'daemon.sock');
const fastSocketOf = (sandbox: Sandbox) => join(sandbox.configHome, 'run', 'git-cache.sock');
const mainGet = (host: string, protocol = 'https') => JSON.stringify({ v: WIRE_VERSION, type: 'credential', action: 'get', credential: { protocol, host, path: 'acme/widgets.git' } }) + '\n';
const fastGet = (host: string, protocol = 'https') => `action=get\ntimeout=1\n${credentialRequest({ protocol, host, path: 'acme/widgets.git' })}`;

/** A client connection and what it has seen. */
interface Client {
  socket: Socket;
  received(): string;
  /** Resolves true when the daemon closed the connection (false when the cap ran out). */
  closed: Promise<boolean>;
  /** Resolves true once a complete answer arrived (a line, or the fast path's close). */
  answered: Promise<boolean>;
}

function client(path: string, payload?: string, options: { halfClose?: boolean } = {}): Client {
  const socket = connect(path);
  let received = '';
  const closed = new Promise<boolean>((resolve) => {
    const cap = setTimeout(() => resolve(false), CAP_MS);
    socket.on('close', () => {
      clearTimeout(cap);
      resolve(true);
    });
  });
  const answered = new Promise<boolean>((resolve) => {
    const cap = setTimeout(() => resolve(false), CAP_MS);
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.includes('\n') && !options.halfClose) {
        clearTimeout(cap);
        resolve(true);
      }
    });
    socket.on('close', () => {
      clearTimeout(cap);
      resolve(received !== '');
    });
  });
  socket.on('error', () => undefined);
  socket.on('connect', () => {
    if (payload !== undefined) socket.write(payload);
    if (options.halfClose) socket.end();
  });
  return { socket, received: () => received, closed, answered };
}

/**
 * Sends a request on fresh connections until one gets it to the daemon. With a 300 ms timeout, a
 * test process descheduled between connecting and writing loses that connection before its
 * request arrives, which says nothing about the daemon; our helper retries the same way.
 */
async function sendUntilThrough(open: () => Client, through: (sent: Client) => Promise<boolean>): Promise<Client> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const sent = open();
    if (await through(sent)) return sent;
  }
  throw new Error('no request reached the daemon in 20 attempts');
}

async function sandboxWithDaemon(t: ExecutionContext, env: NodeJS.ProcessEnv): Promise<Sandbox> {
  const sandbox = new Sandbox({ env });
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', SECRET);
  const started = await sandbox.cli(['daemon', 'start']);
  if (started.code !== 0) throw new Error(`daemon start failed: ${started.stderr}`);
  return sandbox;
}

test('a connection that sends no complete request is closed after the connection timeout, on both sockets', async (t) => {
  const sandbox = await sandboxWithDaemon(t, { GIT_CREDENTIAL_BITBUCKET_CONNECTION_TIMEOUT_MS: '300' });
  const silent = client(mainSocketOf(sandbox));
  const partial = client(mainSocketOf(sandbox), `{"v":${WIRE_VERSION},"type":"credential",`);
  const fastSilent = client(fastSocketOf(sandbox));
  // The fast path's request is complete only when the client half-closes.
  const fastPartial = client(fastSocketOf(sandbox), fastGet('bitbucket.org'));
  t.true(await silent.closed, 'a connection that sent nothing is still open on the main socket');
  t.true(await partial.closed, 'a connection that sent half a request is still open on the main socket');
  t.true(await fastSilent.closed, 'a connection that sent nothing is still open on the fast path');
  t.true(await fastPartial.closed, 'a connection that never finished its request is still open on the fast path');
  for (const held of [silent, partial, fastSilent, fastPartial]) t.is(held.received(), '');

  // A connection that was answered and then idles is closed as well.
  const idleAfterAnswer = await sendUntilThrough(() => client(mainSocketOf(sandbox), `{"v":${WIRE_VERSION},"type":"ping"}\n`), (sent) => sent.answered);
  t.regex(idleAfterAnswer.received(), /"type":"pong"/);
  t.true(await idleAfterAnswer.closed, 'an answered connection left idle is still open');

  t.true((await sandbox.helper('get', GET)).stdout.includes(`password=${SECRET}\n`), 'the daemon still serves');
});

/** A Bitbucket Cloud token endpoint that holds each refresh until the test releases it. */
async function heldTokenEndpoint(t: ExecutionContext): Promise<{ host: string; url: string; received: Promise<void>; release(): void }> {
  let onReceived!: () => void;
  const received = new Promise<void>((resolve) => (onReceived = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const server = createHttpServer((request, response) => {
    request.resume();
    if (request.method !== 'POST' || request.url !== '/site/oauth2/access_token') {
      response.writeHead(404).end();
      return;
    }
    onReceived();
    void released.then(() => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ access_token: ACCESS_TOKEN, token_type: 'bearer', expires_in: 3600, refresh_token: REFRESH_TOKEN, scopes: 'repository' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    release();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, url: `http://${host}`, received, release };
}

/** An OAuth account whose next get refreshes at the held token endpoint. */
async function sandboxWithHeldRefresh(t: ExecutionContext): Promise<{ sandbox: Sandbox; endpoint: Awaited<ReturnType<typeof heldTokenEndpoint>> }> {
  const endpoint = await heldTokenEndpoint(t);
  const sandbox = new Sandbox({ env: { GIT_CREDENTIAL_BITBUCKET_CONNECTION_TIMEOUT_MS: '300' } });
  t.teardown(() => sandbox.cleanup());
  sandbox.trackSecrets(CLIENT_SECRET, REFRESH_TOKEN, ACCESS_TOKEN);
  const added = await sandbox.cli(
    ['account', 'add', 'work', '--url', endpoint.url, '--kind', 'cloud', '--username', 'alice', '--oauth-client-id', CLIENT_ID, '--oauth-client-secret-stdin', '--no-verify'],
    { input: `${CLIENT_SECRET}\n` },
  );
  if (added.code !== 0) throw new Error(`account add failed: ${added.stderr}`);
  // As `login` would have left it: a refresh token and no access token yet.
  const file = join(sandbox.configHome, 'secrets.json');
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { secrets: Record<string, Record<string, string>> };
  stored.secrets.work!['oauth-refresh'] = REFRESH_TOKEN;
  writeFileSync(file, JSON.stringify(stored));
  const started = await sandbox.cli(['daemon', 'start']);
  if (started.code !== 0) throw new Error(`daemon start failed: ${started.stderr}`);
  return { sandbox, endpoint };
}

for (const [name, socketOf, request, halfClose] of [
  ['the main socket', mainSocketOf, mainGet, false],
  ['the fast path', fastSocketOf, fastGet, true],
] as const) {
  test(`a connection whose request waits on a slow OAuth refresh stays open until it is answered (${name})`, async (t) => {
    const { sandbox, endpoint } = await sandboxWithHeldRefresh(t);
    const asking = await sendUntilThrough(
      () => client(socketOf(sandbox), request(endpoint.host, 'http'), { halfClose }),
      (sent) => Promise.race([endpoint.received.then(() => true), sent.closed.then(() => false)]),
    );
    let askingClosedEarly = false;
    void asking.closed.then((closed) => (askingClosedEarly = closed && asking.received() === ''));
    // A connection opened now is closed once it has idled for the timeout; by then the asking
    // connection, whose request has been under way longer, would have been closed too if the
    // timeout applied to it.
    t.true(await client(socketOf(sandbox)).closed, 'an idle connection was not closed');
    t.false(askingClosedEarly, 'the connection was closed while its request was being answered');
    endpoint.release();
    t.true(await asking.answered, 'no answer');
    t.true(asking.received().includes(ACCESS_TOKEN), 'the answer has no access token');
    t.true(await asking.closed, 'the answered connection is closed once it idles');
  });
}

test(`each socket takes at most ${MAX_CONNECTIONS} connections at once: the daemon's file descriptors stay bounded and it serves again`, async (t) => {
  // The timeout out of the way: this test is about the cap alone.
  const sandbox = await sandboxWithDaemon(t, { GIT_CREDENTIAL_BITBUCKET_CONNECTION_TIMEOUT_MS: '600000' });
  const [pid] = sandbox.daemonPids();
  const fds = () => readdirSync(`/proc/${pid}/fd`).length;
  const baseline = fds();
  const extra = 50;
  const held: Client[] = [];
  let refused = 0;
  for (const path of [mainSocketOf(sandbox), fastSocketOf(sandbox)]) {
    const before = refused;
    for (let i = 0; i < MAX_CONNECTIONS + extra; i++) {
      const one = client(path);
      void one.closed.then((closed) => closed && refused++);
      held.push(one);
    }
    t.true(await waitFor(() => refused - before >= extra), `${refused - before} of ${MAX_CONNECTIONS + extra} connections to ${path} were refused`);
  }
  const holding = fds();
  t.true(holding <= baseline + 2 * MAX_CONNECTIONS + 8, `the daemon holds ${holding} file descriptors (${baseline} before the flood)`);
  const log = () => readFileSync(join(sandbox.configHome, 'state', 'daemon.log'), 'utf8');
  t.regex(log(), /too many connections/);

  // Over the cap, the helper is refused like a daemon that is still starting: it starts one (which
  // finds this one answering and exits) and keeps retrying within its start timeout.
  const over = sandbox.helper('get', GET, { env: { GIT_CREDENTIAL_BITBUCKET_START_TIMEOUT_MS: '120000' } });
  t.true(await waitFor(() => log().includes('another daemon already serves this socket')), 'the helper did not retry');
  for (const one of held) one.socket.destroy();
  t.true((await over).stdout.includes(`password=${SECRET}\n`), 'the refused helper was not served once connections closed');
  t.true(await waitFor(() => fds() <= baseline + 8), `the daemon still holds ${fds()} file descriptors`);
  // The daemon the helper started found this one serving and exited.
  t.true(await waitFor(() => sandbox.daemonPids().join() === String(pid)), `daemons running: ${sandbox.daemonPids().join(', ')}`);
});
