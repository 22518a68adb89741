// Bounds on the connections of the daemon's two sockets. Each open connection holds a file
// descriptor for as long as the client keeps it, and issue #12 measured 2,000 held-open
// connections keeping 2,356 descriptors. So a connection is closed once it has had no request
// under way for the connection timeout (a slow OAuth refresh never counts as idle), and each
// socket takes at most MAX_CONNECTIONS at once.

import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';

/**
 * Per socket. A helper's connection lasts one request (milliseconds), so even 200 git processes
 * at once (the bench's burst) stay below it; both sockets at the cap, plus the daemon's own
 * files, still fit a 1024-descriptor limit. Node accepts a connection over the cap and closes it
 * at once: our helper takes that like a daemon that is starting and retries within its start
 * timeout; git's cache client gets no answer and git asks the Node helper.
 */
export const MAX_CONNECTIONS = 256;

/** Applies the cap to `server` and logs when a flood begins and ends, not once per connection. */
export function capConnections(server: Server, log: Logger, socket: string): void {
  server.maxConnections = MAX_CONNECTIONS;
  let refused = 0;
  server.on('drop', () => {
    if (refused++ === 0) log.warn({ socket, max: MAX_CONNECTIONS }, 'too many connections: refusing new ones until some close');
  });
  server.on('connection', () => {
    if (refused === 0) return;
    log.info({ socket, refused }, 'accepting connections again');
    refused = 0;
  });
}

/** Closes a connection once no request has been under way on it for `timeoutMs`. */
export class IdleConnectionTimer {
  private underWay = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    this.arm();
    socket.once('close', () => clearTimeout(this.timer));
  }

  /** A complete request arrived: the connection is busy until it has been answered. */
  requestStarted(): void {
    this.underWay++;
    clearTimeout(this.timer);
  }

  requestDone(): void {
    if (--this.underWay === 0 && !this.socket.destroyed) this.arm();
  }

  private arm(): void {
    // Only complete requests restart the clock: a client trickling a byte at a time is still idle.
    this.timer = setTimeout(() => this.socket.destroy(), this.timeoutMs);
    this.timer.unref();
  }
}
