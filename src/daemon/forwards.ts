// The daemon's side of `git-credential-bitbucket forward`: a socket of its own per forward that
// speaks git's credential-cache protocol (cache-protocol-server.ts, scoped), for the forward's
// accounts only, `get` only. The remote side is less trusted than the user, so a forward never
// shares the main socket or the user's fast path, and it lives exactly as long as the daemon
// connection of the `forward` process that asked for it: when that process ends, dies, or the
// user closes the forward by name, the socket and its directory go. Each forward opened, used or
// closed is published to the watches that follow forwards (the `ui` page).

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ForwardInfo, ForwardVia } from '../shared/wire.js';
import { createCacheProtocolServer } from './cache-protocol-server.js';
import type { CredentialService } from './credential-service.js';
import { listen } from './listen.js';
import { SocketGuard } from './socket-guard.js';
import type { RequestEvents } from './ui/request-events.js';

/** Shown in logs, `status` and `forward --close NAME`; no shell or path metacharacters. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const MAX_FORWARDS = 32;

export interface ForwardsDeps {
  service: CredentialService;
  log: Logger;
  events: Pick<RequestEvents, 'publishForward'>;
  /** The names of the configured accounts, read when a forward opens. */
  accountNames(): string[];
  onActivity(): void;
  connectionTimeoutMs: number;
}

export interface ForwardRequest {
  name: string;
  accounts: string[];
  /** `--allow-other-users`: a container or another local user of another uid may connect. */
  otherUsers: boolean;
  via?: ForwardVia | undefined;
}

/** A forward that cannot open; the message goes to the user as it is. */
export class ForwardRefusedError extends Error {}

interface OpenForward {
  info: ForwardInfo;
  server: Server;
  dir: string;
  /** Resolves once the forward is closed, whoever closed it. */
  closed: Promise<void>;
  markClosed(): void;
}

export class Forwards {
  private readonly open = new Map<string, OpenForward>();

  constructor(private readonly deps: ForwardsDeps) {}

  get size(): number {
    return this.open.size;
  }

  list(): ForwardInfo[] {
    return [...this.open.values()].map((forward) => ({ ...forward.info, accounts: [...forward.info.accounts] }));
  }

  /**
   * Opens the forward and keeps it open while `holder` (the `forward` process's connection) is;
   * `announce` gets its details once it listens. Resolves when the forward has closed.
   */
  async serveWhile(request: ForwardRequest, holder: Socket, announce: (info: ForwardInfo) => void): Promise<void> {
    const forward = await this.openForward(request);
    if (holder.destroyed) {
      this.close(request.name, 'its forward process ended');
      return;
    }
    holder.once('close', () => this.close(request.name, 'its forward process ended'));
    announce(forward.info);
    await forward.closed;
    // Closed by name or by the daemon stopping: the forward process learns it from this end.
    holder.end();
  }

  /** Closes the named forward; false when none of that name is open. */
  close(name: string, reason: string): boolean {
    const forward = this.open.get(name);
    if (!forward) return false;
    this.open.delete(name);
    forward.server.close();
    rmSync(forward.dir, { recursive: true, force: true });
    this.deps.log.info({ forward: name, reason, requests: forward.info.requests }, 'forward closed');
    this.deps.events.publishForward('closed', forward.info);
    forward.markClosed();
    return true;
  }

  closeAll(reason: string): void {
    for (const name of [...this.open.keys()]) this.close(name, reason);
  }

  private async openForward(request: ForwardRequest): Promise<OpenForward> {
    const { name, otherUsers, via } = request;
    if (!NAME.test(name)) throw new ForwardRefusedError(`forward name ${JSON.stringify(name.slice(0, 70))} is not usable; use letters, digits, '.', '_', '@' and '-' (at most 64)`);
    if (this.open.has(name)) throw new ForwardRefusedError(`a forward named ${name} is already open; pick another --name or close it with \`git-credential-bitbucket forward --close ${name}\``);
    if (this.open.size >= MAX_FORWARDS) throw new ForwardRefusedError(`${MAX_FORWARDS} forwards are open already; close one with \`git-credential-bitbucket forward --close NAME\``);
    const accounts = [...new Set(request.accounts)];
    if (accounts.length === 0) throw new ForwardRefusedError(`forward ${name} names no account`);
    const known = new Set(this.deps.accountNames());
    const unknown = accounts.filter((account) => !known.has(account));
    if (unknown.length > 0) throw new ForwardRefusedError(`forward ${name}: no account named ${unknown.join(', ')}; see \`git-credential-bitbucket account list\``);

    // mkdtemp: a fresh 0700 directory of a random name, never one someone prepared.
    const dir = mkdtempSync(join(tmpdir(), 'gcb-fwd-'));
    const socketPath = join(dir, 'sock');
    const info: ForwardInfo = { name, accounts, socketPath, otherUsers, ...(via ? { via } : {}), openedAt: new Date().toISOString(), requests: 0 };
    const scope = { name, accounts: new Set(accounts) };
    // A private forward gets the checks the main sockets get; one shared on purpose is open to all.
    const guard = otherUsers
      ? undefined
      : new SocketGuard({ runtimeDir: dir, sockets: [socketPath], log: this.deps.log, consequence: `forward ${name} closes`, onUnsafe: (reason) => this.close(name, reason) });
    const server = createCacheProtocolServer({
      service: this.deps.service,
      log: this.deps.log,
      scope,
      admit: () => guard?.admit() ?? true,
      onActivity: () => {
        info.requests++;
        this.deps.events.publishForward('used', info);
        this.deps.onActivity();
      },
      connectionTimeoutMs: this.deps.connectionTimeoutMs,
    });
    try {
      await listen(server, socketPath);
      chmodSync(socketPath, otherUsers ? 0o666 : 0o600);
      // Entering the directory, not listing it: the socket's name is the one the user was told.
      if (otherUsers) chmodSync(dir, 0o711);
    } catch (error) {
      server.close();
      rmSync(dir, { recursive: true, force: true });
      throw new ForwardRefusedError(`forward ${name}: cannot listen on ${socketPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    let markClosed = (): void => undefined;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const forward: OpenForward = { info, server, dir, closed, markClosed };
    this.open.set(name, forward);
    this.deps.log.info({ forward: name, accounts, socket: socketPath, otherUsers }, 'forward opened');
    this.deps.events.publishForward('opened', info);
    return forward;
  }
}
