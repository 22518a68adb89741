// Real git, through the real helper and daemon, against the Bitbucket simulator serving real
// repositories with `git http-backend`.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import type { SimulatorConfig } from '../fixtures/simulator/config.js';
import { Sandbox, credentialRequest } from './support/sandbox.js';
import { simUser } from './support/sim-fixtures.js';
import { waitFor } from './support/wait.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-gittest-alice-5c1d9e2b7a';
const BOB_TOKEN = 'ATATT3xFfGF0-gittest-bob-8e4f2a6c0d';
const ACME_ACCESS_TOKEN = 'ATCTT3xFfGF0-gittest-acme-ci-3b7d1f9e';

const SIM_CONFIG: SimulatorConfig = {
  users: [simUser('alice', ALICE_TOKEN, { acme: 'write', alice: 'admin' }), simUser('bob', BOB_TOKEN, { bob: 'admin' })],
  accessTokens: [{ name: 'acme-ci', value: ACME_ACCESS_TOKEN, workspace: 'acme', repository: null, permission: 'write' }],
  workspaces: { acme: ['widgets'], alice: ['notes'], bob: ['notes'] },
  appPasswordsDisabled: true,
};

interface World {
  sim: Simulator;
  sandbox: Sandbox;
}

async function world(t: { teardown(fn: () => Promise<void> | void): void }): Promise<World> {
  const sim = await startSimulator({ config: SIM_CONFIG });
  const sandbox = new Sandbox();
  sandbox.trackSecrets(ALICE_TOKEN, BOB_TOKEN, ACME_ACCESS_TOKEN);
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim.close();
  });
  return { sim, sandbox };
}

/** Clones, commits a file and pushes it to main; returns the commit id. */
async function commitAndPush(sandbox: Sandbox, url: string, dir: string, file: string): Promise<string> {
  const clone = await sandbox.git(['clone', '-q', url, dir]);
  if (clone.code !== 0) throw new Error(`clone ${url} failed: ${clone.stderr}`);
  const cwd = join(sandbox.root, dir);
  await sandbox.git(['checkout', '-q', '-B', 'main'], { cwd });
  await sandbox.git(['commit', '-q', '--allow-empty', '-m', `add ${file}`], { cwd });
  const push = await sandbox.git(['push', '-q', 'origin', 'main'], { cwd });
  if (push.code !== 0) throw new Error(`push to ${url} failed: ${push.stderr}`);
  return (await sandbox.git(['rev-parse', 'HEAD'], { cwd })).stdout.trim();
}

function headOf(sim: Simulator, workspace: string, repo: string): string {
  return execFileSync('git', ['--git-dir', sim.repoPath(workspace, repo), 'rev-parse', 'refs/heads/main'], { encoding: 'utf8' }).trim();
}

test('two accounts on one host, routed by path: clone, push and fetch through plain git', async (t) => {
  const { sim, sandbox } = await world(t);
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  await sandbox.addAccount('personal', sim.url, 'bob', BOB_TOKEN, ['--kind', 'cloud']);
  await sandbox.addRoute(`${sim.url}/acme/*`, 'work');
  await sandbox.addRoute(`${sim.url}/bob/*`, 'personal');

  const acmeCommit = await commitAndPush(sandbox, `${sim.url}/acme/widgets.git`, 'widgets', 'a.txt');
  const bobCommit = await commitAndPush(sandbox, `${sim.url}/bob/notes.git`, 'notes', 'b.txt');
  t.is(headOf(sim, 'acme', 'widgets'), acmeCommit);
  t.is(headOf(sim, 'bob', 'notes'), bobCommit);

  const fetch = await sandbox.git(['fetch', 'origin'], { cwd: join(sandbox.root, 'widgets') });
  t.is(fetch.code, 0, fetch.stderr);
  const stats = sim.stats();
  t.true(stats.byUsername.alice!.succeeded > 0);
  t.true(stats.byUsername.bob!.succeeded > 0);
  // Each account only ever went to its own workspace: bob's credential was never refused.
  t.is(stats.failed, 0);

  const status = JSON.parse((await sandbox.cli(['status', '--json'])).stdout);
  for (const account of status.accounts) t.truthy(account.lastSuccessAt, `${account.name} served an operation`);
  sandbox.assertNoSecretLeaks(t);
});

test('a username in the remote URL picks the account, without any route', async (t) => {
  const { sim, sandbox } = await world(t);
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  await sandbox.addAccount('personal', sim.url, 'bob', BOB_TOKEN, ['--kind', 'cloud']);
  const host = sim.url.replace('http://', '');
  const bobCommit = await commitAndPush(sandbox, `http://bob@${host}/bob/notes.git`, 'bob-notes', 'b.txt');
  const aliceCommit = await commitAndPush(sandbox, `http://alice@${host}/alice/notes.git`, 'alice-notes', 'a.txt');
  t.is(headOf(sim, 'bob', 'notes'), bobCommit);
  t.is(headOf(sim, 'alice', 'notes'), aliceCommit);
  t.is(sim.stats().failed, 0);

  // Without a username or route the helper explains how to choose instead of guessing.
  const ambiguous = await sandbox.git(['ls-remote', `${sim.url}/acme/widgets.git`]);
  t.not(ambiguous.code, 0);
  t.regex(ambiguous.stderr, /no route picks one of the accounts work, personal .*route add/);
  sandbox.assertNoSecretLeaks(t);
});

test('an access token authenticates as x-token-auth', async (t) => {
  const { sim, sandbox } = await world(t);
  await sandbox.addAccount('acme-ci', sim.url, 'acme-ci-bot', ACME_ACCESS_TOKEN, ['--kind', 'cloud', '--secret-kind', 'access-token']);
  const commit = await commitAndPush(sandbox, `${sim.url}/acme/widgets.git`, 'widgets', 'ci.txt');
  t.is(headOf(sim, 'acme', 'widgets'), commit);
  t.true(sim.stats().byUsername['x-token-auth']!.succeeded > 0);
  sandbox.assertNoSecretLeaks(t);
});

test('a wrong secret: git fails, stderr names account and host, the secret survives', async (t) => {
  const { sim, sandbox } = await world(t);
  const wrong = 'ATATT3xFfGF0-gittest-revoked-0a1b2c3d4e';
  await sandbox.addAccount('work', sim.url, 'alice', wrong, ['--kind', 'cloud']);
  const clone = await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets']);
  t.not(clone.code, 0);
  t.regex(clone.stderr, new RegExp(`${sim.host.replace(/\./g, '\\.')}/acme/widgets\\.git refused the API token of account work \\(user alice\\); the secret was kept`));
  t.regex(clone.stderr, /account set-secret work --secret-stdin/);
  t.true(readFileSync(join(sandbox.configHome, 'secrets.json'), 'utf8').includes(wrong));
  const status = JSON.parse((await sandbox.cli(['status', '--json'])).stdout);
  t.truthy(status.accounts[0].rejectedAt);
  t.true(status.accounts[0].secretStored);
  const get = await sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git' }));
  t.true(get.stdout.includes(`password=${wrong}`));

  // Fixing the secret clears the way: the next clone works and status says so.
  const fix = await sandbox.cli(['account', 'set-secret', 'work', '--secret-stdin', '--no-verify'], { input: ALICE_TOKEN + '\n' });
  t.is(fix.code, 0, fix.stderr);
  const retry = await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets2']);
  t.is(retry.code, 0, retry.stderr);
  const after = JSON.parse((await sandbox.cli(['status', '--json'])).stdout);
  t.is(after.accounts[0].rejectedAt, null);
  sandbox.trackSecrets(wrong);
  sandbox.assertNoSecretLeaks(t);
});

test('a daemon killed with SIGKILL between two git operations is restarted by the next one', async (t) => {
  const { sim, sandbox } = await world(t);
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  await commitAndPush(sandbox, `${sim.url}/acme/widgets.git`, 'widgets', 'a.txt');
  const [pid] = sandbox.daemonPids();
  t.truthy(pid);
  process.kill(pid!, 'SIGKILL');
  const fetch = await sandbox.git(['fetch', 'origin'], { cwd: join(sandbox.root, 'widgets') });
  t.is(fetch.code, 0, fetch.stderr);
  // The killed process leaves the process table when the system gets to it.
  t.true(await waitFor(() => !sandbox.daemonPids().includes(pid!)), 'the killed daemon is gone');
  t.is(sandbox.daemonPids().length, 1, 'a new daemon serves');
});

test('20 git operations started at once with no daemon: all succeed, one daemon remains', async (t) => {
  const { sim, sandbox } = await world(t);
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  await sandbox.addAccount('personal', sim.url, 'bob', BOB_TOKEN, ['--kind', 'cloud']);
  await sandbox.addRoute(`${sim.url}/acme/*`, 'work');
  await sandbox.addRoute(`${sim.url}/bob/*`, 'personal');
  t.deepEqual(sandbox.daemonPids(), []);
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => sandbox.git(['ls-remote', `${sim.url}/${i % 2 ? 'acme/widgets' : 'bob/notes'}.git`])),
  );
  t.deepEqual(
    results.map((result) => result.code),
    Array(20).fill(0),
    results.map((result) => result.stderr).join('\n'),
  );
  // Helpers that found no daemon may each have started one; the losers of that race exit on
  // their own, as fast as the machine lets them.
  t.true(await waitFor(() => sandbox.daemonPids().length === 1), `${sandbox.daemonPids().length} daemons remain`);
  // The simulator's counters over HTTP, as an outside observer reads them.
  const stats = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as { failed: number; succeeded: number };
  t.is(stats.failed, 0);
  t.true(stats.succeeded >= 20);
  sandbox.assertNoSecretLeaks(t);
});
