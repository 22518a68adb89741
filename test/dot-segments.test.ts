// Issue #12, item 6: a remote URL whose path has a percent-encoded dot segment
// (`/bob/%2e%2e/acme/widgets.git`) reaches the helper as `path=bob/../acme/widgets.git`, while curl
// sends it as written and the server resolves it to acme's repository. Real git, the real helper
// and daemon (and git's own credential-cache client for the fast path) against the simulator,
// whose WHATWG URL parser resolves `%2e%2e` and backslashes the way such a server does: bob's
// secret must never be offered for acme's repository, and git's user is told why.

import test, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import type { Simulator, SimulatorConfig } from '../fixtures/simulator/server.js';
import type { LoggedRequest, Sandbox } from './support/sandbox.js';
import { simUser } from './support/sim-fixtures.js';
import { addWorkAndPersonal, simulatorAndSandbox } from './support/sim-sandbox.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-dotseg-alice-6e1b3d8a0f';
const BOB_TOKEN = 'ATATT3xFfGF0-dotseg-bob-2c9f7a4e1d';

// bob may read acme's repository too: a wrong answer would not even fail, it would run as bob.
const SIM_CONFIG: SimulatorConfig = {
  users: [simUser('alice', ALICE_TOKEN, { acme: 'write' }), simUser('bob', BOB_TOKEN, { bob: 'admin', acme: 'read' })],
  accessTokens: [],
  workspaces: { acme: ['widgets'], bob: ['notes'] },
};

const REFUSAL = /^git-credential-bitbucket: no account for http:\/\/127\.0\.0\.1:\d+\/bob.*: its path has (a "\." or "\.\." segment|a backslash), which servers resolve differently/m;

async function world(t: ExecutionContext): Promise<{ sim: Simulator; sandbox: Sandbox; requests(): LoggedRequest[] }> {
  const { sim, sandbox } = await simulatorAndSandbox(t, { config: SIM_CONFIG });
  await addWorkAndPersonal(sandbox, sim, { alice: ALICE_TOKEN, bob: BOB_TOKEN }, 'bob');
  const requests = () => sandbox.requestLog();
  return { sim, sandbox, requests };
}

/** Who the simulator saw authenticate, successfully or not. */
function usernamesSeen(sim: Simulator): string[] {
  return Object.keys(sim.stats().byUsername).sort();
}

test('git with %2e%2e or a backslash in the remote path: no secret is offered, one line says why', async (t) => {
  const { sim, sandbox, requests } = await world(t);
  for (const remote of [`${sim.url}/bob/%2e%2e/acme/widgets.git`, `${sim.url}/bob/.%2E/acme/widgets.git`, `${sim.url}/bob\\..\\acme/widgets.git`]) {
    const listed = await sandbox.git(['ls-remote', remote]);
    t.not(listed.code, 0, remote);
    t.regex(listed.stderr, REFUSAL, remote);
    t.is(listed.stderr.split('\n').filter((line) => line.startsWith('git-credential-bitbucket:')).length, 1, remote);
  }
  t.deepEqual(usernamesSeen(sim), [], 'no credential at all reached the server');
  t.true(requests().filter((request) => request.action === 'get').every((request) => request.outcome === 'unresolved' && request.account === undefined));

  // The plain URL of the same repository works, as alice.
  const plain = await sandbox.git(['ls-remote', `${sim.url}/acme/widgets.git`]);
  t.is(plain.code, 0, plain.stderr);
  t.deepEqual(usernamesSeen(sim), ['alice']);
  sandbox.assertNoSecretLeaks(t);
});

test('the fast path (git credential-cache client on the daemon socket) refuses the same path', async (t) => {
  const { sim, sandbox, requests } = await world(t);
  // No helper but what `install --fast-path` writes: the cache client first, the Node helper after it.
  writeFileSync(sandbox.env.GIT_CONFIG_GLOBAL!, '[user]\n\tname = Dot Segments\n\temail = dots@example.com\n[init]\n\tdefaultBranch = main\n');
  const installed = await sandbox.cli(['install', '--fast-path']);
  t.is(installed.code, 0, installed.stderr);
  await sandbox.cli(['daemon', 'start']);

  const listed = await sandbox.git(['ls-remote', `${sim.url}/bob/%2e%2e/acme/widgets.git`]);
  t.not(listed.code, 0);
  t.regex(listed.stderr, REFUSAL);
  const gets = requests().filter((request) => request.action === 'get');
  t.true(gets.some((request) => request.channel === 'fast-path'), 'the cache client asked the daemon');
  t.true(gets.every((request) => request.outcome === 'unresolved'), JSON.stringify(gets));
  t.deepEqual(usernamesSeen(sim), []);

  const plain = await sandbox.git(['ls-remote', `${sim.url}/bob/notes.git`]);
  t.is(plain.code, 0, plain.stderr);
  t.deepEqual(usernamesSeen(sim), ['bob']);
  t.is(requests().filter((request) => request.action === 'get').at(-1)?.channel, 'fast-path');
});
