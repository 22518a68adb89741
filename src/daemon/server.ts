// The daemon's socket server: newline-delimited JSON, one answer per request line, requests on
// one connection handled in order, connections handled concurrently. Nothing a client sends
// can crash the daemon: oversized, malformed or foreign messages get an error answer. Who may
// connect at all is the socket guard's call (socket-guard.ts); how long and how many, connections.ts.

import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { LIST_KEYS, MAX_CREDENTIAL_INPUT_BYTES, SCALAR_KEYS, type Credential } from '../shared/credential-protocol.js';
import { MAX_FRAME_BYTES, WIRE_VERSION, encodeMessage, type DaemonErrorCode, type DaemonInfo, type DaemonRequest, type DaemonResponse, type OAuthTokens } from '../shared/wire.js';
import { IdleConnectionTimer, capConnections } from './connections.js';
import type { CredentialService } from './credential-service.js';
import type { OAuthSessions } from './oauth/sessions.js';
import { ForwardRefusedError, type Forwards } from './forwards.js';
import type { RequestEvents } from './ui/request-events.js';

export interface ServerHooks {
  service: CredentialService;
  log: Logger;
  /** Where `watch` connections (the `ui` page) get their request events. */
  events: RequestEvents;
  info(): DaemonInfo;
  /** Asked for each accepted connection before anything is read from it (socket-guard.ts). */
  admit(): boolean;
  /** A connection with no request under way for this long is closed. */
  connectionTimeoutMs: number;
  /** A request arrived (resets the idle timer). */
  onActivity(): void;
  /** `login` and `logout` from the CLI: the daemon writes the OAuth tokens. */
  oauth: OAuthSessions;
  /** The CLI changed an account's secrets (all accounts', and perhaps the store, when absent). */
  onSecretsChanged(account: string | undefined): void;
  /** `daemon stop`, or a helper of another wire version: the daemon should exit. */
  onStopRequested(reason: string): void;
  forwards: Forwards;
}

export interface DaemonServer {
  server: Server;
  /** Resolves once no request is being answered (for a shutdown that finishes what it started). */
  drained(): Promise<void>;
}

export function createDaemonServer(hooks: ServerHooks): DaemonServer {
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  const track = async (line: string, socket: Socket) => {
    inFlight++;
    try {
      await answer(socket, line, hooks);
    } finally {
      if (--inFlight === 0) {
        for (const wake of waiters) wake();
        waiters = [];
      }
    }
  };
  const server = createServer((socket) => {
    if (hooks.admit()) serveConnection(socket, track, new IdleConnectionTimer(socket, hooks.connectionTimeoutMs));
    else socket.destroy();
  });
  capConnections(server, hooks.log, 'main');
  return {
    server,
    drained: () => (inFlight === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
  };
}

function serveConnection(socket: Socket, answerLine: (line: string, socket: Socket) => Promise<void>, idle: IdleConnectionTimer): void {
  let buffer = '';
  let queue = Promise.resolve();
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      idle.requestStarted();
      queue = queue.then(() => answerLine(line, socket)).finally(() => idle.requestDone());
    }
    if (Buffer.byteLength(buffer) > MAX_FRAME_BYTES) {
      buffer = '';
      socket.pause();
      queue = queue.then(() => {
        send(socket, failure('too-large', `request larger than ${MAX_FRAME_BYTES / 1024} KiB refused`));
        socket.end();
      });
    }
  });
}

async function answer(socket: Socket, line: string, hooks: ServerHooks): Promise<void> {
  hooks.onActivity();
  const request = parseRequest(line);
  if ('error' in request) {
    send(socket, request.error);
    if (request.error.type === 'error' && request.error.code === 'version-mismatch') hooks.onStopRequested('a helper of another version connected');
    return;
  }
  try {
    switch (request.type) {
      case 'ping':
        send(socket, { v: WIRE_VERSION, type: 'pong', ...hooks.info() });
        return;
      case 'oauth-login':
        send(socket, { v: WIRE_VERSION, type: 'oauth-session', ...(await hooks.oauth.login(request.account, request.tokens)) });
        return;
      case 'oauth-logout':
        send(socket, { v: WIRE_VERSION, type: 'oauth-session', ...(await hooks.oauth.logout(request.account)) });
        return;
      case 'secrets-changed':
        hooks.onSecretsChanged(request.account);
        send(socket, { v: WIRE_VERSION, type: 'ok' });
        return;
      case 'stop':
        send(socket, { v: WIRE_VERSION, type: 'ok' });
        hooks.onStopRequested('daemon stop');
        return;
      case 'watch':
        return hooks.events.stream(socket, request.forwards ? hooks.forwards.list() : undefined);
      case 'oauth-token':
        send(socket, { v: WIRE_VERSION, type: 'oauth-token', ...(await hooks.service.oauthToken(request.account)) });
        return;
      case 'forward-open': {
        // Answered once the socket listens; the request lasts as long as the forward, so this
        // connection is never idle and the forward ends with it (forwards.ts).
        const { name, accounts, otherUsers, via } = request;
        await hooks.forwards.serveWhile({ name, accounts, otherUsers, via }, socket, (info) => send(socket, { v: WIRE_VERSION, type: 'forward-opened', ...info }));
        return;
      }
      case 'forward-close':
        if (hooks.forwards.close(request.name, 'closed by `forward --close`')) send(socket, { v: WIRE_VERSION, type: 'ok' });
        else send(socket, failure('refused', `no forward named ${request.name} is open; \`git-credential-bitbucket forward --list\` shows the open ones`));
        return;
      case 'credential': {
        const result = await hooks.service.handle(request.action, request.credential);
        send(socket, { v: WIRE_VERSION, type: 'credential', ...result });
        return;
      }
    }
  } catch (error) {
    if (error instanceof ForwardRefusedError) {
      send(socket, failure('refused', error.message));
      return;
    }
    hooks.log.error({ err: { message: (error as Error).message } }, 'request failed');
    send(socket, failure('internal', `internal error in the daemon: ${(error as Error).message}`));
  }
}

function send(socket: Socket, response: DaemonResponse): void {
  if (!socket.destroyed && socket.writable) socket.write(encodeMessage(response));
}

function failure(code: DaemonErrorCode, message: string): DaemonResponse {
  return { v: WIRE_VERSION, type: 'error', code, message };
}

/** Validates a request line; never trusts that the client was our own helper. */
export function parseRequest(line: string): DaemonRequest | { error: DaemonResponse } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { error: failure('bad-request', 'request is not JSON') };
  }
  if (typeof raw !== 'object' || raw === null) return { error: failure('bad-request', 'request is not an object') };
  const message = raw as Record<string, unknown>;
  if (typeof message.v !== 'number') return { error: failure('bad-request', 'request has no wire version') };
  if (message.v !== WIRE_VERSION) {
    return { error: failure('version-mismatch', `wire version ${String(message.v)} is not ${WIRE_VERSION}; the daemon restarts`) };
  }
  if (message.type === 'watch' && message.forwards === true) return { v: WIRE_VERSION, type: 'watch', forwards: true };
  if (message.type === 'ping' || message.type === 'stop' || message.type === 'watch') return { v: WIRE_VERSION, type: message.type };
  if (message.type === 'oauth-token' || message.type === 'oauth-logout') {
    if (typeof message.account !== 'string') return { error: failure('bad-request', `${message.type} names an account by its name`) };
    return { v: WIRE_VERSION, type: message.type, account: message.account };
  }
  if (message.type === 'oauth-login') {
    const tokens = parseTokens(message.tokens);
    if (typeof message.account !== 'string' || !tokens) return { error: failure('bad-request', 'oauth-login names an account and carries its tokens') };
    return { v: WIRE_VERSION, type: 'oauth-login', account: message.account, tokens };
  }
  if (message.type === 'secrets-changed') {
    if (message.account !== undefined && typeof message.account !== 'string') return { error: failure('bad-request', 'secrets-changed names an account by its name') };
    return message.account === undefined ? { v: WIRE_VERSION, type: 'secrets-changed' } : { v: WIRE_VERSION, type: 'secrets-changed', account: message.account };
  }
  if (message.type === 'forward-open') {
    const { name, accounts, otherUsers, via } = message;
    if (typeof name !== 'string' || !Array.isArray(accounts) || !accounts.every((account) => typeof account === 'string') || typeof otherUsers !== 'boolean' || (via !== undefined && via !== 'ssh' && via !== 'socket-only')) {
      return { error: failure('bad-request', 'forward-open needs a name, account names and otherUsers (and via: ssh or socket-only)') };
    }
    return { v: WIRE_VERSION, type: 'forward-open', name, accounts: accounts as string[], otherUsers, via };
  }
  if (message.type === 'forward-close') {
    if (typeof message.name !== 'string') return { error: failure('bad-request', 'forward-close names a forward by its name') };
    return { v: WIRE_VERSION, type: 'forward-close', name: message.name };
  }
  if (message.type !== 'credential') return { error: failure('bad-request', 'unknown request type') };
  if (message.action !== 'get' && message.action !== 'store' && message.action !== 'erase') {
    return { error: failure('bad-request', 'unknown credential action') };
  }
  const credential = parseCredentialObject(message.credential);
  if (!credential) return { error: failure('bad-request', 'malformed credential') };
  return { v: WIRE_VERSION, type: 'credential', action: message.action, credential };
}

function parseCredentialObject(raw: unknown): Credential | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const source = raw as Record<string, unknown>;
  const credential: Credential = {};
  for (const key of SCALAR_KEYS) {
    const value = source[key];
    if (value === undefined) continue;
    if (!isAttributeValue(value)) return undefined;
    credential[key] = value;
  }
  if (source.lists !== undefined) {
    if (typeof source.lists !== 'object' || source.lists === null) return undefined;
    const lists = source.lists as Record<string, unknown>;
    credential.lists = {};
    for (const key of LIST_KEYS) {
      const values = lists[key];
      if (values === undefined) continue;
      if (!Array.isArray(values) || !values.every(isAttributeValue)) return undefined;
      credential.lists[key] = values;
    }
  }
  return credential;
}

/** The answer never repeats what was wrong with a token: the message could end up in a log. */
function parseTokens(raw: unknown): OAuthTokens | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { accessToken, refreshToken, expiresAt } = raw as Record<string, unknown>;
  if (!isAttributeValue(accessToken) || !isAttributeValue(refreshToken) || accessToken === '' || refreshToken === '') return undefined;
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return undefined;
  return { accessToken, refreshToken, expiresAt };
}

function isAttributeValue(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_CREDENTIAL_INPUT_BYTES && !/[\n\0]/.test(value);
}
