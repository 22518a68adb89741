// The `forward` process's hold on its forward: one daemon connection that asks for the scoped
// socket and then stays open. The daemon closes the forward when this connection closes, so the
// forward cannot outlive this process, however it ends (killed included).

import { connect, type Socket } from 'node:net';
import type { ProductPaths } from '../shared/paths.js';
import { MAX_FRAME_BYTES, WIRE_VERSION, encodeMessage, type DaemonResponse, type ForwardInfo, type ForwardVia } from '../shared/wire.js';
import { DaemonUnavailableError, exchange } from '../client/daemon-client.js';
import { UserError } from '../core/errors.js';

/** Opening is quick (a directory and a listen); this bounds a daemon that hangs. */
const OPEN_TIMEOUT_MS = 30_000;

export interface HeldForward {
  info: ForwardInfo;
  /** Resolves when the daemon closed the forward (`forward --close`, the daemon stopping). */
  lost: Promise<void>;
  /** Ends the forward. */
  release(): void;
}

export async function holdForward(paths: ProductPaths, request: { name: string; accounts: string[]; otherUsers: boolean; via: ForwardVia }): Promise<HeldForward> {
  // Starts the daemon if none runs, after the same socket-directory checks as every helper.
  await exchange(paths, { type: 'ping' }, { autoStart: true });
  const socket = connect(paths.socketPath);
  socket.setEncoding('utf8');
  const response = await firstAnswer(socket, paths.socketPath, encodeMessage({ v: WIRE_VERSION, type: 'forward-open', ...request }));
  if (response.type !== 'forward-opened') {
    socket.destroy();
    throw new UserError(response.type === 'error' ? response.message : `the daemon answered ${response.type} to forward-open`);
  }
  const { v: _v, type: _type, ...info } = response;
  const lost = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => socket.destroy());
  // Nothing more comes but the end; reading on is what lets 'close' fire when it does.
  socket.resume();
  return { info, lost, release: () => socket.destroy() };
}

function firstAnswer(socket: Socket, socketPath: string, request: string): Promise<DaemonResponse> {
  return new Promise((resolve, reject) => {
    let received = '';
    const fail = (message: string) => {
      cleanup();
      socket.destroy();
      reject(new DaemonUnavailableError(message));
    };
    const timer = setTimeout(() => fail(`the daemon did not open the forward within ${OPEN_TIMEOUT_MS / 1000} s`), OPEN_TIMEOUT_MS);
    const onData = (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\n');
      if (end < 0) {
        if (received.length > MAX_FRAME_BYTES) fail('the daemon sent an oversized answer');
        return;
      }
      cleanup();
      try {
        resolve(JSON.parse(received.slice(0, end)) as DaemonResponse);
      } catch {
        socket.destroy();
        reject(new DaemonUnavailableError('the daemon sent an unreadable answer'));
      }
    };
    const onError = (error: NodeJS.ErrnoException) => fail(`cannot reach the daemon at ${socketPath}: ${error.code ?? error.message}`);
    const onClose = () => fail('the daemon closed the connection before opening the forward');
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', onData).off('error', onError).off('close', onClose);
    };
    socket.on('data', onData).on('error', onError).on('close', onClose);
    socket.on('connect', () => socket.write(request));
  });
}
