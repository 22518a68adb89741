// Following the daemon's event stream, for the `ui` process and `trace`: one connection that sent
// `watch` and stays open, one JSON line per answered request (and, when asked, per forward opened,
// used or closed). The daemon is started first when none runs (through `exchange`, which also
// checks the socket directory). followDaemon keeps a watch up across daemon restarts (idle exit,
// `daemon stop`, an upgrade): both followers need the same loop.

import type { ProductPaths } from '../shared/paths.js';
import { MAX_FRAME_BYTES, WIRE_VERSION, type DaemonResponse, type ForwardEvent, type ForwardInfo, type RequestEvent } from '../shared/wire.js';
import { DaemonUnavailableError, exchange } from './daemon-client.js';
import { firstAnswer } from './first-answer.js';

/** Between attempts to watch a daemon that went away (the attempt starts the next one). */
const RETRY_MS = 1000;

export interface WatchHandlers {
  onEvent(event: RequestEvent): void;
  /** Given: the watch follows the forwards too. */
  forwards?: ForwardHandlers;
}

export interface ForwardHandlers {
  /** First, before any change: the open forwards; undefined from a daemon that predates forward events (it sends no changes). */
  onList(forwards: ForwardInfo[] | undefined): void;
  onChange(event: ForwardEvent): void;
}

export interface DaemonWatch {
  /** Resolves when the connection ends (the daemon stopped, or close() was called). */
  ended: Promise<void>;
  close(): void;
}

export async function watchDaemon(paths: ProductPaths, handlers: WatchHandlers): Promise<DaemonWatch> {
  const pong = await exchange(paths, { type: 'ping' }, { autoStart: true });
  if (pong.type !== 'pong') throw new DaemonUnavailableError(pong.type === 'error' ? pong.message : 'the daemon gave an unexpected answer');
  const first = await firstAnswer(paths.socketPath, { v: WIRE_VERSION, type: 'watch', ...(handlers.forwards ? { forwards: true } : {}) });
  if (first.kind !== 'answer') throw new DaemonUnavailableError('the daemon closed the connection');
  const { response, socket } = first;
  if (response.type !== 'watching') {
    socket.destroy();
    throw new DaemonUnavailableError(response.type === 'error' ? response.message : `the daemon answered ${response.type} to watch`);
  }
  handlers.forwards?.onList(response.forwards);
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
      if (message.type === 'event') handlers.onEvent(message.event);
      else if (message.type === 'forward' && handlers.forwards) handlers.forwards.onChange({ change: message.change, forward: message.forward });
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

export interface FollowHandlers extends WatchHandlers {
  /** A watch started: the first, or (`again`) one on the daemon after one that went away. */
  onWatching(again: boolean): void;
  /** The watched daemon went away (not called after stop()); the next attempt follows in RETRY_MS. */
  onEnded(): void;
  /** A watch could not start; the next attempt follows in RETRY_MS. Throwing here ends the follow with that error. */
  onProblem(error: Error, watchedBefore: boolean): void;
}

export interface DaemonFollower {
  /** Resolves once stopped; rejects with what onProblem threw. */
  done: Promise<void>;
  /** Ends the watch under way, or the wait for the next attempt. */
  stop(): void;
}

export function followDaemon(paths: ProductPaths, handlers: FollowHandlers): DaemonFollower {
  let stopped = false;
  let watch: DaemonWatch | undefined;
  let timer: NodeJS.Timeout | undefined;
  let wake = (): void => undefined;
  const stopping = new Promise<void>((resolve) => (wake = resolve));
  const pause = () => Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, RETRY_MS))), stopping]);
  const loop = async (): Promise<void> => {
    let watchedBefore = false;
    while (!stopped) {
      try {
        watch = await watchDaemon(paths, handlers);
      } catch (error) {
        if (stopped) return;
        handlers.onProblem(error as Error, watchedBefore);
        await pause();
        continue;
      }
      if (stopped) break;
      handlers.onWatching(watchedBefore);
      watchedBefore = true;
      await Promise.race([watch.ended, stopping]);
      watch.close();
      watch = undefined;
      if (stopped) return;
      handlers.onEnded();
      await pause();
    }
    watch?.close();
  };
  return {
    done: loop(),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      watch?.close();
      wake();
    },
  };
}
