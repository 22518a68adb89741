// The daemon's side of the `ui` page and `trace`: each answered get/store/erase becomes a
// RequestEvent, written to every connection that sent `watch`; a watch that asked for forwards
// also gets the open forwards first and then each forward opened, used or closed, so the page
// follows them without asking. With nobody watching, publishing costs one size check: git's path
// pays nothing. A watch also keeps the daemon from its idle exit, and only while it is open: a
// page that is closed lets the daemon go as usual.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { WIRE_VERSION, encodeMessage, type ForwardEvent, type ForwardInfo, type RequestEvent } from '../../shared/wire.js';

/** What a published request carries; the time is stamped here. */
export type AnsweredRequest = Omit<RequestEvent, 'time'>;

/**
 * A watcher that reads nothing while events pile up (a stopped `ui` process) is dropped past
 * this much unsent data, so it cannot grow the daemon's memory.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export class RequestEvents {
  private readonly watchers = new Set<Socket>();
  /** The watchers that asked for forward events too (a subset of `watchers`). */
  private readonly forwardWatchers = new Set<Socket>();

  constructor(private readonly log: Logger) {}

  publish(request: AnsweredRequest): void {
    if (this.watchers.size === 0) return;
    write(this.watchers, encodeMessage({ v: WIRE_VERSION, type: 'event', event: { time: new Date().toISOString(), ...request } }));
  }

  publishForward(change: ForwardEvent['change'], forward: ForwardInfo): void {
    if (this.forwardWatchers.size === 0) return;
    write(this.forwardWatchers, encodeMessage({ v: WIRE_VERSION, type: 'forward', change, forward }));
  }

  /**
   * Serves one `watch` request: resolves when the watcher goes away (or the daemon stops).
   * `forwards`, the open ones, for a watch that asked for forward events.
   */
  stream(socket: Socket, forwards?: ForwardInfo[]): Promise<void> {
    this.watchers.add(socket);
    if (forwards) this.forwardWatchers.add(socket);
    this.log.info({ watchers: this.watchers.size }, 'page watching requests');
    socket.write(encodeMessage({ v: WIRE_VERSION, type: 'watching', ...(forwards ? { forwards } : {}) }));
    return new Promise((resolve) => {
      socket.once('close', () => {
        this.watchers.delete(socket);
        this.forwardWatchers.delete(socket);
        this.log.info({ watchers: this.watchers.size }, 'page stopped watching requests');
        resolve();
      });
    });
  }

  /** Asked when the idle timeout runs out: true (and logged) while a page watches. */
  keepsAlive(): boolean {
    if (this.watchers.size === 0) return false;
    this.log.info({ watchers: this.watchers.size }, 'idle exit deferred: a page is open');
    return true;
  }

  /** The daemon is stopping: its watchers learn it from the closed connection. */
  close(): void {
    for (const socket of this.watchers) socket.end();
  }
}

function write(sockets: ReadonlySet<Socket>, frame: string): void {
  for (const socket of sockets) {
    if (socket.writableLength > MAX_BUFFERED_BYTES) socket.destroy();
    else socket.write(frame);
  }
}
