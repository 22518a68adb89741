// The `forward` process's hold on its forward: one daemon connection that asks for the scoped
// socket and then stays open. The daemon closes the forward when this connection closes, so the
// forward cannot outlive this process, however it ends (killed included).

import type { ProductPaths } from '../shared/paths.js';
import { WIRE_VERSION, type ForwardInfo, type ForwardVia } from '../shared/wire.js';
import { DaemonUnavailableError, exchange } from '../client/daemon-client.js';
import { firstAnswer } from '../client/first-answer.js';
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
  const first = await firstAnswer(paths.socketPath, { v: WIRE_VERSION, type: 'forward-open', ...request }, { ms: OPEN_TIMEOUT_MS, problem: `the daemon did not open the forward within ${OPEN_TIMEOUT_MS / 1000} s` });
  if (first.kind === 'closed') throw new DaemonUnavailableError('the daemon closed the connection before opening the forward');
  if (first.kind === 'unreachable') throw new DaemonUnavailableError(`cannot reach the daemon at ${paths.socketPath}: ${first.code}`);
  if (first.kind === 'failed') throw new DaemonUnavailableError(first.problem);
  const { response, socket } = first;
  if (response.type !== 'forward-opened') {
    socket.destroy();
    throw new UserError(response.type === 'error' ? response.message : `the daemon answered ${response.type} to forward-open`);
  }
  const { v: _v, type: _type, ...info } = response;
  const lost = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // Nothing more comes but the end; reading on is what lets 'close' fire when it does.
  socket.resume();
  return { info, lost, release: () => socket.destroy() };
}
