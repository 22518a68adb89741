// Pieces the tests (and the bench) use to set up the simulator: users in the simulator's
// config shape, and a free loopback port for an OAuth redirect listener.

import { createServer } from 'node:net';
import { devNull } from 'node:os';
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

/**
 * A port nothing listens on right now, for a listener bound a moment later (OAuth redirects).
 * Chosen below Linux's ephemeral range (32768-60999): a port the OS handed out with listen(0)
 * can be taken by one of the many outgoing connections of tests running in parallel before the
 * listener binds it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** Environment for a git that sees no user or system configuration and never prompts. */
export function isolatedGitEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: devNull,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@example.com',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@example.com',
  };
}
