// Every conversation with the daemon starts the same way: connect to its socket, send one
// request frame, read the first line back. The helper's exchange ends there; `forward` holds the
// connection open after it and `ui`'s watch reads the event stream that follows, so the socket is
// handed back paused, with whatever came after that line. Only node:* imports: the helper bundles it.

import { connect, type Socket } from 'node:net';
import { MAX_FRAME_BYTES, encodeMessage, type DaemonRequest, type DaemonResponse } from '../shared/wire.js';

export type FirstAnswer =
  /** The socket is paused: whoever reads on calls resume(); whoever does not, destroy(). */
  | { kind: 'answer'; response: DaemonResponse; socket: Socket; rest: string }
  /** The daemon closed the connection before a whole line. */
  | { kind: 'closed' }
  /** The connection failed: ENOENT or ECONNREFUSED when nothing listens. */
  | { kind: 'unreachable'; code: string }
  /** No usable answer: none in time (the caller's words), or one unreadable or too large. */
  | { kind: 'failed'; problem: string };

/** Any outcome but an answer leaves the connection destroyed. Without `timeout`, the wait is unbounded. */
export function firstAnswer(socketPath: string, request: DaemonRequest, timeout?: { ms: number; problem: string }): Promise<FirstAnswer> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let received = '';
    const timer = timeout && setTimeout(() => settle({ kind: 'failed', problem: timeout.problem }), timeout.ms);
    const settle = (outcome: FirstAnswer) => {
      clearTimeout(timer);
      // Paused before the listeners go: a chunk flowing with no 'data' listener would be lost.
      socket.pause();
      socket.off('data', onData).off('error', onError).off('close', onClose);
      if (outcome.kind !== 'answer') socket.destroy();
      resolve(outcome);
    };
    const onData = (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\n');
      if (end < 0) {
        if (received.length > MAX_FRAME_BYTES) settle({ kind: 'failed', problem: 'the daemon sent an oversized answer' });
        return;
      }
      let response: DaemonResponse;
      try {
        response = JSON.parse(received.slice(0, end)) as DaemonResponse;
      } catch {
        settle({ kind: 'failed', problem: 'the daemon sent an unreadable answer' });
        return;
      }
      settle({ kind: 'answer', response, socket, rest: received.slice(end + 1) });
    };
    const onError = (error: NodeJS.ErrnoException) => settle({ kind: 'unreachable', code: error.code ?? error.message });
    const onClose = () => settle({ kind: 'closed' });
    socket.setEncoding('utf8');
    // Stays for the life of the socket: an error after the answer, before the caller listens, must not crash the process.
    socket.on('error', () => socket.destroy());
    socket.on('data', onData).on('error', onError).on('close', onClose);
    socket.on('connect', () => socket.write(encodeMessage(request)));
  });
}
