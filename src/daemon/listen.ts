// Listening on a Unix socket path as a promise: the daemon's own sockets and every forward's
// scoped socket are opened the same way, and a failure (EADDRINUSE, EACCES) rejects instead of
// reaching the server's 'error' handler.

import type { Server } from 'node:net';

export function listen(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
