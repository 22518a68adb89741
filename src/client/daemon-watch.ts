// The `ui` process's subscription to the daemon's request events: one connection that sent
// `watch` and stays open, one JSON line per answered request. The daemon is started first when
// none runs (through `exchange`, which also checks the socket directory).

import type { ProductPaths } from '../shared/paths.js';
import { MAX_FRAME_BYTES, WIRE_VERSION, type DaemonResponse, type RequestEvent } from '../shared/wire.js';
import { DaemonUnavailableError, exchange } from './daemon-client.js';
import { firstAnswer } from './first-answer.js';

export interface DaemonWatch {
  /** Resolves when the connection ends (the daemon stopped, or close() was called). */
  ended: Promise<void>;
  close(): void;
}

export async function watchDaemon(paths: ProductPaths, onEvent: (event: RequestEvent) => void): Promise<DaemonWatch> {
  const pong = await exchange(paths, { type: 'ping' }, { autoStart: true });
  if (pong.type !== 'pong') throw new DaemonUnavailableError(pong.type === 'error' ? pong.message : 'the daemon gave an unexpected answer');
  const first = await firstAnswer(paths.socketPath, { v: WIRE_VERSION, type: 'watch' });
  if (first.kind !== 'answer') throw new DaemonUnavailableError('the daemon closed the connection');
  const { response, socket } = first;
  if (response.type !== 'watching') {
    socket.destroy();
    throw new DaemonUnavailableError(response.type === 'error' ? response.message : `the daemon answered ${response.type} to watch`);
  }
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let buffer = '';
  const read = (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let message: DaemonResponse;
      try {
        message = JSON.parse(line) as DaemonResponse;
      } catch {
        socket.destroy();
        return;
      }
      if (message.type === 'event') onEvent(message.event);
      else {
        socket.destroy();
        return;
      }
    }
    if (buffer.length > MAX_FRAME_BYTES) socket.destroy();
  };
  read(first.rest);
  socket.on('data', read);
  socket.resume();
  return { ended, close: () => socket.destroy() };
}
