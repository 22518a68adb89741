// A stand-in for a daemon that another build started: it holds the sandbox's two sockets, hands
// each request line on the daemon socket to the test's handler, drops fast-path connections, and
// lets go of both sockets when told to stop (as a daemon handing over does) or at the test's end.

import type { ExecutionContext } from 'ava';
import { mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Sandbox } from './sandbox.js';

export interface StandInDaemon {
  /** The daemon socket's path. */
  socketPath: string;
  /** Whether it still listens on the daemon socket. */
  listening(): boolean;
}

/** `handle` answers one parsed request line on `socket`; `stop` removes both sockets and closes the servers. */
export type StandInHandler = (request: Record<string, unknown>, socket: Socket, stop: () => void) => void;

export async function startStandInDaemon(t: ExecutionContext, sandbox: Sandbox, handle: StandInHandler): Promise<StandInDaemon> {
  const runtime = join(sandbox.configHome, 'run');
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const sockets = [join(runtime, 'daemon.sock'), join(runtime, 'git-cache.sock')];
  const servers: Server[] = [];
  const stop = () => {
    for (const path of sockets) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
    for (const server of servers) server.close();
  };
  const main = createServer((socket) => {
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.once('data', (line: string) => handle(JSON.parse(line.slice(0, line.indexOf('\n'))) as Record<string, unknown>, socket, stop));
  });
  const fastPath = createServer((socket) => socket.destroy());
  servers.push(main, fastPath);
  await Promise.all(servers.map((server, index) => new Promise<void>((resolve) => server.listen(sockets[index], resolve))));
  t.teardown(() => stop());
  return { socketPath: sockets[0]!, listening: () => main.listening };
}
