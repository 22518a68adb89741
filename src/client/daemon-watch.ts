// The `ui` process's subscription to the daemon's request events: one connection that sent
// `watch` and stays open, one JSON line per answered request. The daemon is started first when
// none runs (through `exchange`, which also checks the socket directory).

import { connect } from 'node:net';
import type { ProductPaths } from '../shared/paths.js';
import { MAX_FRAME_BYTES, WIRE_VERSION, encodeMessage, type DaemonResponse, type RequestEvent } from '../shared/wire.js';
import { DaemonUnavailableError, exchange } from './daemon-client.js';

export interface DaemonWatch {
  /** Resolves when the connection ends (the daemon stopped, or close() was called). */
  ended: Promise<void>;
  close(): void;
}

export async function watchDaemon(paths: ProductPaths, onEvent: (event: RequestEvent) => void): Promise<DaemonWatch> {
  const pong = await exchange(paths, { type: 'ping' }, { autoStart: true });
  if (pong.type !== 'pong') throw new DaemonUnavailableError(pong.type === 'error' ? pong.message : 'the daemon gave an unexpected answer');
  const socket = connect(paths.socketPath);
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('connect', () => socket.write(encodeMessage({ v: WIRE_VERSION, type: 'watch' })));
  await new Promise<void>((resolve, reject) => {
    let buffer = '';
    let watching = false;
    socket.on('data', (chunk: string) => {
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
        if (message.type === 'event' && watching) onEvent(message.event);
        else if (message.type === 'watching') {
          watching = true;
          resolve();
        } else {
          socket.destroy();
          reject(new DaemonUnavailableError(message.type === 'error' ? message.message : `the daemon answered ${message.type} to watch`));
        }
      }
      if (buffer.length > MAX_FRAME_BYTES) socket.destroy();
    });
    void ended.then(() => reject(new DaemonUnavailableError('the daemon closed the connection')));
  });
  return { ended, close: () => socket.destroy() };
}
