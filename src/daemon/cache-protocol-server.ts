// The native fast path: git-credential-cache's wire format on a second socket, so that
// `git credential-cache --socket <it>` (run first by the helper value install writes) lets
// git's own C client ask the daemon without starting Node. Format (git's
// builtin/credential-cache.c): the client writes "action=<get|store|erase|exit>\ntimeout=<seconds>\n",
// then the credential lines it got from git, half-closes, and copies whatever comes back to git.
// Answers come from the same CredentialService as the Node helper's, so routing, refresh,
// fallback and the request log are the same; only stderr advice cannot travel this way (on an
// empty answer the helper value hands the request to the Node helper, which prints it). Who may
// connect is the socket guard's call (socket-guard.ts); how long and how many, connections.ts.
// A `forward` (forwards.ts) serves the same protocol on a socket of its own, scoped to its accounts.

import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { CredentialInputError, MAX_CREDENTIAL_INPUT_BYTES, formatCredential, parseCredential } from '../shared/credential-protocol.js';
import { IdleConnectionTimer, capConnections } from './connections.js';
import type { CredentialService, ForwardScope } from './credential-service.js';

/** A credential plus the two header lines. */
const MAX_REQUEST_BYTES = MAX_CREDENTIAL_INPUT_BYTES + 256;
const ACTIONS: ReadonlySet<string> = new Set(['get', 'store', 'erase']);

export interface CacheProtocolHooks {
  service: CredentialService;
  log: Logger;
  onActivity(): void;
  /** Asked for each accepted connection before anything is read from it (socket-guard.ts). */
  admit(): boolean;
  /** A connection that has not completed its request for this long is closed. */
  connectionTimeoutMs: number;
  /** A forward's socket (forwards.ts) rather than the user's own fast path. */
  scope?: ForwardScope;
}

export function createCacheProtocolServer(hooks: CacheProtocolHooks): Server {
  // The client half-closes once it has sent the request; our side must stay open for the answer.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    if (hooks.admit()) serve(socket, hooks);
    else socket.destroy();
  });
  capConnections(server, hooks.log, channelName(hooks));
  return server;
}

function serve(socket: Socket, hooks: CacheProtocolHooks): void {
  const idle = new IdleConnectionTimer(socket, hooks.connectionTimeoutMs);
  const chunks: Buffer[] = [];
  let size = 0;
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    size += chunk.byteLength;
    if (size > MAX_REQUEST_BYTES) {
      hooks.log.warn({ bytes: size }, `${channelName(hooks)}: oversized request refused`);
      socket.destroy();
      return;
    }
    chunks.push(chunk);
  });
  // The client half-closes after the credential: the request is complete.
  socket.on('end', () => {
    if (socket.destroyed) return;
    idle.requestStarted();
    void answer(Buffer.concat(chunks), hooks)
      .then((reply) => finish(socket, reply), () => socket.end())
      .finally(() => idle.requestDone());
  });
}

/**
 * The answer, then the end of the connection. git's client reads until the end of the stream,
 * and Node's graceful end (a shutdown) waits for the next turn of the event loop: once the
 * answer is all in the kernel's buffer, closing at once spares every fast-path request that turn.
 */
function finish(socket: Socket, reply: string): void {
  if (reply) socket.write(reply);
  if (socket.writableLength === 0) socket.destroy();
  else socket.end();
}

async function answer(request: Buffer, hooks: CacheProtocolHooks): Promise<string> {
  const text = request.toString('latin1');
  const header = /^action=([^\n]*)\ntimeout=[^\n]*\n/.exec(text);
  if (!header) {
    hooks.log.warn(`${channelName(hooks)}: request without the action/timeout header ignored`);
    return '';
  }
  const action = header[1]!;
  // `git credential-cache exit` is meant for git's own cache daemon; this one stops with `daemon stop`.
  if (!ACTIONS.has(action)) return '';
  hooks.onActivity();
  let credential;
  try {
    credential = parseCredential(request.subarray(Buffer.byteLength(header[0], 'latin1')));
  } catch (error) {
    if (error instanceof CredentialInputError) {
      hooks.log.warn({ problem: error.message }, `${channelName(hooks)}: malformed credential ignored`);
      return '';
    }
    throw error;
  }
  const result = await hooks.service.handle(action as 'get' | 'store' | 'erase', credential, hooks.scope ?? 'fast-path');
  return action === 'get' && result.attributes.length > 0 ? formatCredential(result.attributes) : '';
}

function channelName(hooks: CacheProtocolHooks): string {
  return hooks.scope ? `forward ${hooks.scope.name}` : 'fast path';
}
