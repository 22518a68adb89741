// Pieces the tests (and the bench) use to set up the simulator: users in the simulator's
// config shape, and a free loopback port for an OAuth redirect listener.

import { createServer } from 'node:net';
import type { SimUser } from '../../fixtures/simulator/config.js';

/** A Bitbucket Cloud user with one API token and the given workspace permissions. */
export function simUser(username: string, apiToken: string, workspaces: SimUser['workspaces']): SimUser {
  return {
    username,
    email: `${username}@example.com`,
    displayName: `${username[0]!.toUpperCase()}${username.slice(1)} Example`,
    uuid: `{6d1c0b8e-0000-4000-8000-${Buffer.from(username).toString('hex').slice(0, 12).padStart(12, '0')}}`,
    accountId: `712020:${username}`,
    secrets: [{ kind: 'api-token', value: apiToken }],
    workspaces,
  };
}

/** A port nothing listens on right now (the OS picks it; closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
