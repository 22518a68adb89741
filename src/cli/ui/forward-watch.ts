// The page's list of open forwards, kept current while a page is connected: the `ui` process asks
// the daemon's ping (which lists them, as for `status`) every POLL_MS and passes the list on only
// when it changed. A ping is a few bytes on the local socket and logs nothing; asking here,
// rather than having the daemon push forward events, leaves the daemon and its wire as they are,
// and a page shows a forward opened or closed anywhere (a terminal, the page) within a round.

import type { ProductPaths } from '../../shared/paths.js';
import type { ForwardInfo } from '../../shared/wire.js';
import { daemonInfo } from '../daemon-commands.js';

const POLL_MS = 1000;

export class ForwardWatch {
  /** The list last passed on; unknown until the first round after start(). */
  private known: ForwardInfo[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Counts starts, so that a round still running from before a stop() ends there. */
  private generation = 0;
  private running = false;

  constructor(
    private readonly paths: ProductPaths,
    private readonly onChange: (forwards: ForwardInfo[]) => void,
  ) {}

  get current(): ForwardInfo[] | undefined {
    return this.known;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Whatever changed while nobody watched: the first round passes the list on.
    this.known = undefined;
    void this.poll(++this.generation);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async poll(generation: number): Promise<void> {
    const forwards = await this.ask();
    if (!this.running || generation !== this.generation) return;
    if (forwards && JSON.stringify(forwards) !== JSON.stringify(this.known)) {
      this.known = forwards;
      this.onChange(forwards);
    }
    this.timer = setTimeout(() => void this.poll(generation), POLL_MS);
  }

  private async ask(): Promise<ForwardInfo[] | undefined> {
    try {
      // Never starts a daemon: with none running, no forward is open.
      return (await daemonInfo(this.paths, false))?.forwards ?? [];
    } catch {
      // Unaskable for now (an unsafe socket directory, say): the live feed reports the daemon's
      // trouble, and the next round asks again.
      return undefined;
    }
  }
}
