// The page's live feed: the daemon's request events and forward changes (client/daemon-watch.ts)
// relayed to every open WebSocket. The daemon is watched only while at least one page is
// connected, so a closed page lets it reach its idle exit; the last events seen are kept for a page
// that opens (or reloads) later, the open forwards only while some page stays connected (the next
// watch lists them afresh). `ws` is loaded here, by the `ui` process only.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { ProductPaths } from '../../shared/paths.js';
import type { ForwardEvent, RequestEvent } from '../../shared/wire.js';
import { followDaemon, type DaemonFollower } from '../../client/daemon-watch.js';
import { daemonInfo } from '../daemon-commands.js';
import type { ForwardInfo, LiveMessage } from './payload.js';

const RECENT_EVENTS = 200;

export class LiveFeed {
  private readonly clients = new Set<WebSocket>();
  private readonly recent: RequestEvent[] = [];
  private follower: DaemonFollower | undefined;
  private watching = false;
  /** The open forwards by name, in opening order; unknown until a watch started. */
  private forwards: Map<string, ForwardInfo> | undefined;
  /** Whether the watched daemon reports forward changes (one from before forward events does not). */
  private forwardsLive = true;

  private constructor(
    private readonly paths: ProductPaths,
    private readonly server: WebSocketServer,
  ) {}

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
        if (this.clients.size === 0) this.stopFollowing();
      });
      client.on('error', () => client.terminate());
      this.send(client, { type: 'hello', recent: this.recent });
      this.send(client, { type: 'daemon', watching: this.watching, problem: null });
      // Unknown yet (the first connected page): the watch sends them to every page once it starts.
      if (this.forwards) this.send(client, this.forwardsMessage());
      // An older daemon tells no changes: a page opened or reloaded gets its list afresh.
      if (this.watching && !this.forwardsLive) void this.askForwards();
      this.follower ??= this.follow();
    });
  }

  broadcast(message: LiveMessage): void {
    for (const client of this.clients) this.send(client, message);
  }

  close(): void {
    this.stopFollowing();
    for (const client of this.clients) client.terminate();
    this.server.close();
  }

  private send(client: WebSocket, message: LiveMessage): void {
    if (client.readyState === client.OPEN) client.send(JSON.stringify(message));
  }

  /** Watches the daemon for as long as a page is connected, starting it again when it went away. */
  private follow(): DaemonFollower {
    const follower = followDaemon(this.paths, {
      onEvent: (event) => this.onEvent(event),
      forwards: {
        onList: (forwards) => {
          // A watch that connected as the last page closed: its list is nobody's.
          if (this.follower !== follower) return;
          if (forwards) this.setForwards(forwards, true);
          else void this.askForwards();
        },
        onChange: (event) => this.onForward(event),
      },
      onWatching: () => {
        this.watching = true;
        this.broadcast({ type: 'daemon', watching: true, problem: null });
      },
      onEnded: () => {
        this.watching = false;
        // The daemon's forwards end with it; the next watch lists those of the next daemon.
        this.setForwards([], this.forwardsLive);
        this.broadcast({ type: 'daemon', watching: false, problem: 'the daemon stopped; watching the next one' });
      },
      onProblem: (error) => this.broadcast({ type: 'daemon', watching: false, problem: error.message }),
    });
    // onProblem never throws: the loop ends only when stopped.
    void follower.done;
    return follower;
  }

  private stopFollowing(): void {
    this.follower?.stop();
    this.follower = undefined;
    this.watching = false;
    // Nobody watches: whatever changes meanwhile, the next watch lists afresh.
    this.forwards = undefined;
  }

  /** For a daemon from before forward events: its list once, by the ping `status` uses. */
  private async askForwards(): Promise<void> {
    const asking = this.follower;
    let forwards: ForwardInfo[];
    try {
      // Never starts a daemon: with none running, no forward is open.
      forwards = (await daemonInfo(this.paths, false))?.forwards ?? [];
    } catch {
      // Unaskable for now (an unsafe socket directory, say): the live status reports the daemon's trouble.
      return;
    }
    // Only for the watch it was asked under: the pages may have closed and others opened since.
    if (asking && this.follower === asking) this.setForwards(forwards, false);
  }

  /** Comes only after onList gave this daemon's list. */
  private onForward({ change, forward }: ForwardEvent): void {
    this.forwards ??= new Map();
    if (change === 'closed') this.forwards.delete(forward.name);
    else this.forwards.set(forward.name, forward);
    this.broadcast(this.forwardsMessage());
  }

  private setForwards(forwards: ForwardInfo[], live: boolean): void {
    this.forwards = new Map(forwards.map((forward) => [forward.name, forward]));
    this.forwardsLive = live;
    this.broadcast(this.forwardsMessage());
  }

  private forwardsMessage(): LiveMessage {
    return { type: 'forwards', forwards: [...(this.forwards?.values() ?? [])], live: this.forwardsLive };
  }

  private onEvent(event: RequestEvent): void {
    this.recent.unshift(event);
    if (this.recent.length > RECENT_EVENTS) this.recent.pop();
    this.broadcast({ type: 'event', event });
  }
}
