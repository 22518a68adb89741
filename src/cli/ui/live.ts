// The page's live request list: the daemon's request events (client/daemon-watch.ts) relayed to
// every open WebSocket, and the open forwards whenever they change (forward-watch.ts). The daemon
// is watched only while at least one page is connected, so a closed page lets it reach its idle
// exit; the last events seen are kept for a page that opens (or reloads) later. `ws` is loaded
// here, by the `ui` process only.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { ProductPaths } from '../../shared/paths.js';
import type { RequestEvent } from '../../shared/wire.js';
import { watchDaemon, type DaemonWatch } from '../../client/daemon-watch.js';
import { ForwardWatch } from './forward-watch.js';
import type { LiveMessage } from './payload.js';

const RECENT_EVENTS = 200;
/** Between attempts to watch a daemon that went away (it restarts with the next git operation or attempt). */
const RETRY_MS = 1000;

export class LiveFeed {
  private readonly clients = new Set<WebSocket>();
  private readonly recent: RequestEvent[] = [];
  private watch: DaemonWatch | undefined;
  private watching = false;
  private readonly forwards: ForwardWatch;

  private constructor(
    private readonly paths: ProductPaths,
    private readonly server: WebSocketServer,
  ) {
    this.forwards = new ForwardWatch(paths, (forwards) => this.broadcast({ type: 'forwards', forwards }));
  }

  static async create(paths: ProductPaths): Promise<LiveFeed> {
    const { WebSocketServer } = await import('ws');
    // The page sends nothing; a small cap keeps a misbehaving client from costing memory.
    return new LiveFeed(paths, new WebSocketServer({ noServer: true, maxPayload: 1024 }));
  }

  /** Takes over an upgrade the gate has allowed. */
  accept(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.server.handleUpgrade(request, socket, head, (client) => {
      this.clients.add(client);
      client.on('close', () => {
        this.clients.delete(client);
        if (this.clients.size === 0) {
          this.stopWatching();
          this.forwards.stop();
        }
      });
      client.on('error', () => client.terminate());
      this.send(client, { type: 'hello', recent: this.recent });
      this.send(client, { type: 'daemon', watching: this.watch !== undefined, problem: null });
      // Unknown yet (the first connected page): the first round sends it to every page.
      const forwards = this.forwards.current;
      if (forwards) this.send(client, { type: 'forwards', forwards });
      this.forwards.start();
      if (!this.watching) void this.keepWatching();
    });
  }

  broadcast(message: LiveMessage): void {
    for (const client of this.clients) this.send(client, message);
  }

  close(): void {
    this.stopWatching();
    this.forwards.stop();
    for (const client of this.clients) client.terminate();
    this.server.close();
  }

  private send(client: WebSocket, message: LiveMessage): void {
    if (client.readyState === client.OPEN) client.send(JSON.stringify(message));
  }

  /** Watches the daemon for as long as a page is connected, starting it again when it went away. */
  private async keepWatching(): Promise<void> {
    this.watching = true;
    while (this.clients.size > 0) {
      try {
        this.watch = await watchDaemon(this.paths, (event) => this.onEvent(event));
        if (this.clients.size === 0) break;
        this.broadcast({ type: 'daemon', watching: true, problem: null });
        await this.watch.ended;
        this.watch = undefined;
        if (this.clients.size > 0) this.broadcast({ type: 'daemon', watching: false, problem: 'the daemon stopped; watching the next one' });
      } catch (error) {
        this.broadcast({ type: 'daemon', watching: false, problem: (error as Error).message });
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
    this.stopWatching();
    this.watching = false;
  }

  private stopWatching(): void {
    this.watch?.close();
    this.watch = undefined;
  }

  private onEvent(event: RequestEvent): void {
    this.recent.unshift(event);
    if (this.recent.length > RECENT_EVENTS) this.recent.pop();
    this.broadcast({ type: 'event', event });
  }
}
