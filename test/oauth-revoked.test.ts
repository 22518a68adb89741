// A grant revoked at Bitbucket while our access token is still valid by its clock. The token
// stays cached, so only Bitbucket's 401 tells us: git 2.39 (this machine) fails that operation
// and sends `erase`, which must explain itself; from git 2.46 the helper's `continue` answer
// makes git retry the same request with the static fallback. git here is 2.39, so the 2.46 path
// is driven with the exact lines git 2.46 writes (credential.c credential_write(), http.c
// handle_curl_result() and the retry loop around it); they are the lines a git 2.46.0 built from
// source sent during a fetch after a revocation, which then succeeded with the API token.

import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import { helperWithFastPathValueFor } from '../src/installer/helper-value.js';
import { HELPER, REPO_ROOT, Sandbox, credentialRequest, type RunResult } from './support/sandbox.js';
import { freePort, simUser } from './support/sim-fixtures.js';

const CLIENT_ID = 'revoke-oauth-consumer-key-01';
const CLIENT_SECRET = 'revoke-oauth-consumer-secret-5e7a9c1b';
const ALICE_TOKEN = 'ATATT3xFfGF0-revoketest-alice-3d5f7b9a1c';
const FAKE_BROWSER = join(REPO_ROOT, 'test', 'support', 'fake-browser.mjs');
const PREFIX = 'git-credential-bitbucket: ';

interface World {
  sim: Simulator;
  sandbox: Sandbox;
  repoUrl: string;
  /** The secrets.json slots of account `work`. */
  stored(): Record<string, string>;
  status(): Promise<{ method: string; oauth: { needsLogin: boolean } }>;
}

/** An OAuth account `work` (alice, Cloud), logged in, with an access token valid for an hour. */
async function world(t: ExecutionContext, options: { staticFallback: boolean }): Promise<World> {
  const sim = await startSimulator({
    config: {
      users: [simUser('alice', ALICE_TOKEN, { acme: 'write' })],
      accessTokens: [],
      workspaces: { acme: ['widgets'] },
      oauthConsumers: [{ key: CLIENT_ID, secret: CLIENT_SECRET, name: 'revocation tests', family: 'cloud', scopes: ['repository', 'repository:write'] }],
      oauth: { accessTokenLifetimeSeconds: 3600, consentUser: 'alice' },
    },
  });
  const sandbox = new Sandbox();
  Object.assign(sandbox.env, { GIT_CREDENTIAL_BITBUCKET_BROWSER: FAKE_BROWSER });
  sandbox.trackSecrets(CLIENT_SECRET, ALICE_TOKEN);
  const stored = () => (JSON.parse(readFileSync(join(sandbox.configHome, 'secrets.json'), 'utf8')) as { secrets: Record<string, Record<string, string>> }).secrets.work ?? {};
  t.teardown(async () => {
    // Tokens the simulator issued are secrets too: the leak scan looks for them as well.
    for (const [slot, value] of Object.entries(stored())) sandbox.trackSecrets(slot === 'oauth-access' ? (JSON.parse(value) as { token: string }).token : value);
    await sandbox.cleanup();
    await sim.close();
  });
  const port = await freePort();
  const args = ['account', 'add', 'work', '--url', sim.url, '--kind', 'cloud', '--username', 'alice', '--oauth-client-id', CLIENT_ID, '--oauth-client-secret-stdin', '--redirect-port', String(port), '--no-verify'];
  const added = await sandbox.cli(options.staticFallback ? [...args, '--secret-stdin'] : args, { input: options.staticFallback ? `${ALICE_TOKEN}\n${CLIENT_SECRET}\n` : `${CLIENT_SECRET}\n` });
  if (added.code !== 0) throw new Error(`account add failed: ${added.stderr}`);
  const login = await sandbox.cli(['login', 'work', '--timeout', '60']);
  if (login.code !== 0) throw new Error(`login failed: ${login.stderr}`);
  return {
    sim,
    sandbox,
    repoUrl: `${sim.url}/acme/widgets.git`,
    stored,
    status: async () => JSON.parse((await sandbox.cli(['status', '--json'])).stdout).accounts[0],
  };
}

/** Our lines on stderr (git's own lines and the remote's are not ours). */
const ourLines = (result: RunResult) => result.stderr.split('\n').filter((line) => line.startsWith(PREFIX));

/** The attribute names of a helper answer, in order: what the test may print on failure. */
const keysOf = (answer: string) => answer.trim().split('\n').filter(Boolean).map((line) => line.slice(0, line.indexOf('=')));
const valueOf = (answer: string, key: string) => answer.split('\n').find((line) => line.startsWith(`${key}=`))?.slice(key.length + 1);

const ERASE_WITH_FALLBACK = /^git-credential-bitbucket: 127\.0\.0\.1:\d+\/acme\/widgets\.git refused the OAuth access token of account work; the next git operation gets a fresh one, or uses its API token if Bitbucket revoked the access; if this repeats, run `git-credential-bitbucket login work`$/;
const ERASE_WITHOUT_FALLBACK = /^git-credential-bitbucket: 127\.0\.0\.1:\d+\/acme\/widgets\.git refused the OAuth access token of account work; the next git operation gets a fresh one unless Bitbucket revoked the access: then run `git-credential-bitbucket login work`$/;
const FALLBACK_LINE = /^git-credential-bitbucket: account work: OAuth refresh was rejected \(invalid_grant[^)]*\); using its API token\. Run `git-credential-bitbucket login work`$/;

test('git 2.39, with an API token: the failed fetch says what happens next, the next fetch uses the API token and says to log in again', async (t) => {
  const { sim, sandbox, repoUrl, stored, status } = await world(t, { staticFallback: true });
  const clone = await sandbox.git(['clone', '-q', repoUrl, 'widgets']);
  t.is(clone.code, 0, clone.stderr);
  t.true(sim.stats().byUsername['x-token-auth']!.succeeded > 0, 'the clone used the OAuth token');
  const cwd = join(sandbox.root, 'widgets');

  sim.revokeOAuth('alice');
  const refused = await sandbox.git(['fetch', '-q', 'origin'], { cwd });
  t.not(refused.code, 0, 'git before 2.46 never retries a 401');
  t.is(ourLines(refused).length, 1, refused.stderr);
  t.regex(ourLines(refused)[0]!, ERASE_WITH_FALLBACK);
  // One 401 can be a permission problem: nothing is deleted, and only the refresh decides.
  t.truthy(stored().static);
  t.truthy(stored()['oauth-refresh']);
  t.like(await status(), { oauth: { needsLogin: false } });

  const fallback = await sandbox.git(['fetch', '-q', 'origin'], { cwd });
  t.is(fallback.code, 0, fallback.stderr);
  t.is(ourLines(fallback).length, 1, fallback.stderr);
  t.regex(ourLines(fallback)[0]!, FALLBACK_LINE);
  t.true(sim.stats().byUsername.alice!.succeeded > 0, 'the fetch used the API token');
  t.like(await status(), { method: 'static', oauth: { needsLogin: true } });
  t.truthy(stored().static);
  t.truthy(stored()['oauth-refresh']);
});

test('git 2.39, without a static secret: the erase line says to log in, and the next fetch fails with our line', async (t) => {
  const { sim, sandbox, repoUrl, stored } = await world(t, { staticFallback: false });
  t.is((await sandbox.git(['clone', '-q', repoUrl, 'widgets'])).code, 0);
  const cwd = join(sandbox.root, 'widgets');
  sim.revokeOAuth('alice');

  const refused = await sandbox.git(['fetch', '-q', 'origin'], { cwd });
  t.not(refused.code, 0);
  t.is(ourLines(refused).length, 1, refused.stderr);
  t.regex(ourLines(refused)[0]!, ERASE_WITHOUT_FALLBACK);
  t.truthy(stored()['oauth-refresh'], 'the refresh token is kept');

  const next = await sandbox.git(['fetch', '-q', 'origin'], { cwd });
  t.not(next.code, 0);
  t.is(ourLines(next).length, 1, next.stderr);
  t.regex(ourLines(next)[0]!, /^git-credential-bitbucket: account work: OAuth refresh was rejected \(invalid_grant[^)]*\)\. Run `git-credential-bitbucket login work`$/);
  t.truthy(stored()['oauth-refresh']);
});

test('erases that are not about our access token print nothing; through the installed fast-path function, the Node helper still explains', async (t) => {
  const { sim, sandbox } = await world(t, { staticFallback: true });
  const request = (fields: Record<string, string>) => credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git', ...fields });
  const token = valueOf((await sandbox.helper('get', request({}))).stdout, 'password')!;
  sandbox.trackSecrets(token);

  const foreigners: Array<Record<string, string>> = [
    { username: 'x-token-auth', password: 'not-a-token-of-ours-0123456789' },
    { username: 'alice', password: 'not-the-api-token-0123456789' },
    { username: 'x-token-auth' },
  ];
  for (const foreign of foreigners) {
    const erase = await sandbox.helper('erase', request(foreign));
    t.is(erase.stderr, '', `erase as ${foreign.username}`);
  }
  const stillServed = await sandbox.helper('get', request({}));
  t.true(valueOf(stillServed.stdout, 'password') === token, 'an erase of something else leaves our token alone');

  // What `install` puts in git's config: one shell function that sends erase to the Node helper
  // alone (git's cache client would swallow the line). A real `git credential reject` through it
  // drops the token and prints the line once, and the daemon hears the erase once.
  const installed = helperWithFastPathValueFor(HELPER, join(sandbox.configHome, 'run', 'git-cache.sock'));
  const logged = sandbox.requestLog().length;
  const rejected = await sandbox.git(['-c', 'credential.helper=', '-c', `credential.helper=${installed}`, 'credential', 'reject'], { input: request({ username: 'x-token-auth', password: token }) });
  t.is(rejected.code, 0, rejected.stderr);
  t.is(ourLines(rejected).length, 1, rejected.stderr);
  t.regex(ourLines(rejected)[0]!, ERASE_WITH_FALLBACK);
  t.is(rejected.stderr, `${ourLines(rejected)[0]}\n`, 'nothing else on stderr');
  t.deepEqual(
    sandbox.requestLog().slice(logged).map(({ action, channel, outcome }) => ({ action, channel, outcome })),
    [{ action: 'erase', channel: 'helper', outcome: 'access-token-dropped' }],
    'the erase reached the daemon once, through the Node helper',
  );
  t.true(valueOf((await sandbox.helper('get', request({}))).stdout, 'password') !== token, 'the refused token is not handed out again');
  t.false(rejected.stderr.includes(token));
});

/**
 * What git 2.46+ writes to a helper's `get` (credential.c credential_write(), CREDENTIAL_OP_HELPER):
 * its capabilities, then protocol, host, path, username, password_expiry_utc and wwwauth[] as far
 * as it has them, then the state[] helpers answered last time.
 */
function gitGet246(sim: Simulator, retry?: { expiry: string; state: string }): string {
  return [
    'capability[]=authtype',
    'capability[]=state',
    'protocol=http',
    `host=${sim.host}`,
    'path=acme/widgets.git',
    ...(retry ? ['username=x-token-auth', `password_expiry_utc=${retry.expiry}`] : []),
    'wwwauth[]=Basic realm="Bitbucket.org HTTP"',
    ...(retry ? [`state[]=${retry.state}`] : []),
    '',
    '',
  ].join('\n');
}

async function infoRefs(sim: Simulator, username: string, password: string): Promise<number> {
  const response = await fetch(`${sim.url}/acme/widgets.git/info/refs?service=git-upload-pack`, { headers: { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` } });
  await response.arrayBuffer();
  return response.status;
}

test('git 2.46+, with an API token: `continue` makes git ask again after the 401, and the same operation gets the API token', async (t) => {
  const { sim, sandbox, stored, status } = await world(t, { staticFallback: true });
  const first = await sandbox.helper('get', gitGet246(sim));
  t.deepEqual(keysOf(first.stdout), ['capability[]', 'username', 'password', 'password_expiry_utc', 'continue', 'state[]']);
  t.is(valueOf(first.stdout, 'capability[]'), 'state');
  t.is(valueOf(first.stdout, 'username'), 'x-token-auth');
  t.is(valueOf(first.stdout, 'continue'), '1');
  t.is(first.stderr, '');
  const token = valueOf(first.stdout, 'password')!;
  sandbox.trackSecrets(token);
  const state = valueOf(first.stdout, 'state[]')!;
  t.regex(state, /^git-credential-bitbucket:/, 'prefixed, as git asks of state[] values');
  t.false(state.includes(token.slice(0, 12)), 'the state carries no part of the token');
  t.is(await infoRefs(sim, 'x-token-auth', token), 200);

  sim.revokeOAuth('alice');
  t.is(await infoRefs(sim, 'x-token-auth', token), 401);
  // http.c: a 401 with `continue` clears the password and asks the helpers again, with our state.
  const retry = await sandbox.helper('get', gitGet246(sim, { expiry: valueOf(first.stdout, 'password_expiry_utc')!, state }));
  t.true(retry.stdout === `username=alice\npassword=${ALICE_TOKEN}\n`, `answered ${keysOf(retry.stdout).join(', ')}`);
  t.is(ourLines(retry).length, 1, retry.stderr);
  t.regex(ourLines(retry)[0]!, FALLBACK_LINE);
  t.is(await infoRefs(sim, 'alice', ALICE_TOKEN), 200, 'the retried request succeeds');
  t.like(await status(), { method: 'static', oauth: { needsLogin: true } });
  t.truthy(stored().static);
  t.truthy(stored()['oauth-refresh']);
});

test('git 2.46+: no `continue` without a fallback, on a retry, or for older git; a retry with a live grant refreshes', async (t) => {
  const { sim, sandbox } = await world(t, { staticFallback: false });
  const first = await sandbox.helper('get', gitGet246(sim));
  t.deepEqual(keysOf(first.stdout), ['username', 'password', 'password_expiry_utc'], 'nothing to retry with: git erases, and the erase line explains');
  const older = await sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git' }));
  t.deepEqual(keysOf(older.stdout), ['username', 'password', 'password_expiry_utc']);
  sandbox.trackSecrets(valueOf(first.stdout, 'password')!);

  const fallback = await world(t, { staticFallback: true });
  const offered = await fallback.sandbox.helper('get', gitGet246(fallback.sim));
  t.deepEqual(keysOf(offered.stdout), ['capability[]', 'username', 'password', 'password_expiry_utc', 'continue', 'state[]']);
  const token = valueOf(offered.stdout, 'password')!;
  fallback.sandbox.trackSecrets(token);
  const expiry = valueOf(offered.stdout, 'password_expiry_utc')!;
  const state = valueOf(offered.stdout, 'state[]') ?? '';
  // A state that names another token (one refreshed meanwhile) is not a refusal of ours.
  const stale = await fallback.sandbox.helper('get', gitGet246(fallback.sim, { expiry, state: `${state.slice(0, -1)}${state.endsWith('0') ? '1' : '0'}` }));
  t.true(valueOf(stale.stdout, 'password') === token);
  t.deepEqual(keysOf(stale.stdout), ['username', 'password', 'password_expiry_utc'], 'never `continue` twice in one operation');
  t.is(fallback.sim.oauthStats().tokenRequests.refresh_token ?? 0, 0);

  // The grant is alive (the 401 had another cause): the refresh decides, and a fresh token goes out, once.
  const retried = await fallback.sandbox.helper('get', gitGet246(fallback.sim, { expiry, state }));
  t.deepEqual(keysOf(retried.stdout), ['username', 'password', 'password_expiry_utc']);
  const fresh = valueOf(retried.stdout, 'password')!;
  fallback.sandbox.trackSecrets(fresh);
  t.true(fresh !== token, 'the refused token is not handed out again');
  t.is(fallback.sim.oauthStats().tokenRequests.refresh_token, 1);
  t.is(retried.stderr, '');
  t.like(await fallback.status(), { method: 'oauth', oauth: { needsLogin: false } });
});
