// OAuth accounts end to end: `login` through the simulator's consent page (driven by a scripted
// browser) or a pasted redirect, then real git through the helper and daemon while the
// simulator's access tokens expire, rotate, get revoked and its token endpoint goes down. Time
// moves only when a test says so (support/clock.ts): the daemon and the simulator see a token
// expire at that moment, however slow the machine.

import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { SimulatorConfig } from '../fixtures/simulator/server.js';
import { WIRE_VERSION } from '../src/shared/wire.js';
import { assertAnswer, assertDifferentSecret, masked, passwordOf } from './support/answers.js';
import { TestClock } from './support/clock.js';
import { addOAuthAccount, FAKE_BROWSER, grantConsent } from './support/oauth-account.js';
import { credentialRequest, HELPER } from './support/sandbox.js';
import { freePort, simUser } from './support/sim-fixtures.js';
import { simulatorAndSandbox, type SimulatorAndSandbox } from './support/sim-sandbox.js';

const CLIENT_ID = 'sim-oauth-consumer-key-01';
const CLIENT_SECRET = 'sim-oauth-consumer-secret-7d3f9a1c';
const ALICE_TOKEN = 'ATATT3xFfGF0-oauthtest-alice-2c4e6a8b0d';
const LIFETIME_SECONDS = 3600;
const MARGIN_SECONDS = 300;
/** Far beyond any wait a passing test has; only a broken login runs into it. */
const LOGIN_TIMEOUT_SECONDS = 120;

function simConfig(): SimulatorConfig {
  return {
    users: [simUser('alice', ALICE_TOKEN, { acme: 'write' })],
    accessTokens: [],
    workspaces: { acme: ['widgets'] },
    oauthConsumers: [{ key: CLIENT_ID, secret: CLIENT_SECRET, name: 'git-credential-bitbucket tests', family: 'cloud', scopes: ['repository', 'repository:write'] }],
    oauth: { accessTokenLifetimeSeconds: LIFETIME_SECONDS, consentUser: 'alice' },
  };
}

interface World extends SimulatorAndSandbox {
  clock: TestClock;
  repoUrl: string;
  login(extraEnv?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }>;
  get(): Promise<{ stdout: string; stderr: string }>;
}

async function world(t: ExecutionContext, options: { staticFallback?: boolean } = {}): Promise<World> {
  const { sim, sandbox } = await simulatorAndSandbox(t, { config: simConfig() }, { secrets: [CLIENT_SECRET, ALICE_TOKEN] });
  const clock = new TestClock(sandbox, [sim]);
  Object.assign(sandbox.env, { GIT_CREDENTIAL_BITBUCKET_BROWSER: FAKE_BROWSER, GIT_CREDENTIAL_BITBUCKET_REFRESH_MARGIN: String(MARGIN_SECONDS) });
  const added = await addOAuthAccount(sandbox, sim.url, { id: CLIENT_ID, secret: CLIENT_SECRET }, { args: ['--no-verify'], staticSecret: options.staticFallback ? ALICE_TOKEN : undefined });
  if (added.code !== 0) throw new Error(`account add failed: ${added.stderr}`);
  return {
    sim,
    sandbox,
    clock,
    repoUrl: `${sim.url}/acme/widgets.git`,
    login: (extraEnv = {}) => sandbox.cli(['login', 'work', '--timeout', String(LOGIN_TIMEOUT_SECONDS)], { env: extraEnv }),
    get: () => sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git' })),
  };
}

/** Logs in, failing the test with login's own words when it does not succeed. */
async function loggedIn(login: World['login']): Promise<void> {
  const result = await login();
  if (result.code !== 0) throw new Error(`login failed (exit ${result.code}): ${result.stderr}`);
}

/** An OAuth answer for git: the username, a long token and its expiry; the token's length for checks. */
function tokenAnswer(t: ExecutionContext, stdout: string, username: string): number {
  t.regex(masked(stdout), new RegExp(`^username=${username}\\npassword=‹\\d+ characters›\\npassword_expiry_utc=\\d+\\n$`));
  return passwordOf(stdout).length;
}

/** Resolves with the first match of `pattern` in what `child` prints on `stream`; rejects if it exits first. */
function printed(child: ChildProcessWithoutNullStreams, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    child[stream].on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = pattern.exec(text);
      if (match) resolve(match);
    });
    child.on('close', (code) => reject(new Error(`exited (${code}) before printing ${pattern}: ${text}`)));
  });
}

test('login through the browser flow, then clone and push with the OAuth token', async (t) => {
  const { sim, sandbox, repoUrl, login, get } = await world(t);
  const result = await login();
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /Logged in account work with OAuth; access token valid until /);
  t.regex(result.stdout, new RegExp(`${sim.url.replace(/[.]/g, '\\.')}/site/oauth2/authorize\\?client_id=${CLIENT_ID}`));
  t.is(sim.oauthStats().tokenRequests.authorization_code, 1);

  const answer = await get();
  t.true(tokenAnswer(t, answer.stdout, 'x-token-auth') >= 3000, 'the long Cloud token is passed through whole');
  const expiry = Number(/^password_expiry_utc=(\d+)$/m.exec(answer.stdout)?.[1]);
  t.true(Math.abs(expiry - (Date.now() / 1000 + LIFETIME_SECONDS)) < 600);
  t.false(answer.stdout.includes('oauth_refresh_token'));

  const clone = await sandbox.git(['clone', '-q', repoUrl, 'widgets']);
  t.is(clone.code, 0, clone.stderr);
  const cwd = join(sandbox.root, 'widgets');
  await sandbox.git(['commit', '-q', '--allow-empty', '-m', 'via oauth'], { cwd });
  const push = await sandbox.git(['push', '-q', 'origin', 'HEAD:main'], { cwd });
  t.is(push.code, 0, push.stderr);
  t.true(sim.stats().byUsername['x-token-auth']!.succeeded >= 2);

  const status = JSON.parse((await sandbox.cli(['status', '--json'])).stdout);
  t.like(status.accounts[0], { method: 'oauth', oauth: { clientId: CLIENT_ID, needsLogin: false } });
  t.truthy(status.accounts[0].lastSuccessAt);
});

test('--no-browser: the pasted redirect URL completes the login; a forged state, a cancel or no answer stores nothing', async (t) => {
  const { sim, sandbox, get, login } = await world(t);

  // A redirect with another state is refused and ignored: the login keeps waiting for its own.
  const forged = spawn(process.execPath, [HELPER, 'login', 'work', '--timeout', String(LOGIN_TIMEOUT_SECONDS)], { env: { ...sandbox.env, FAKE_BROWSER_STATE: 'forged-state-value' }, stdio: 'pipe' });
  forged.stdin.end();
  const forgedClosed = new Promise<number | null>((resolve) => forged.on('close', resolve));
  await printed(forged, 'stderr', /ignored a redirect with the wrong state/);
  t.is(forged.exitCode, null, 'still waiting after the forged redirect');
  forged.kill('SIGTERM');
  await forgedClosed;
  // No browser answers at all: the login gives up after its timeout (nothing can arrive earlier).
  const silent = await sandbox.cli(['login', 'work', '--timeout', '1'], { env: { GIT_CREDENTIAL_BITBUCKET_BROWSER: 'true' } });
  t.is(silent.code, 1);
  t.regex(silent.stderr, /no answer from the browser within 1 s; nothing was stored/);
  const cancelled = await login({ FAKE_BROWSER_DECISION: 'deny' });
  t.is(cancelled.code, 1);
  t.regex(cancelled.stderr, /did not grant access \(access_denied\); nothing was stored/);
  t.is(sim.oauthStats().tokenRequests.authorization_code, 0);
  const before = JSON.parse((await sandbox.cli(['status', '--json'])).stdout).accounts[0];
  t.like(before, { method: 'none', oauth: { needsLogin: true, needsLoginReason: 'not logged in yet' } });
  t.regex((await get()).stderr, /account work: it has not logged in with OAuth yet\. Run `git-credential-bitbucket login work`/);

  // The person copies the address the browser was sent to after "Grant access".
  const child = spawn(process.execPath, [HELPER, 'login', 'work', '--no-browser'], { env: sandbox.env, stdio: 'pipe' });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.resume();
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const url = (await printed(child, 'stdout', /^ {2}(http\S+authorize\S+)$/m))[1]!;
  const redirect = await grantConsent(sim, url);
  t.regex(redirect, /^http:\/\/127\.0\.0\.1:\d+\/\?code=/);
  child.stdin.end(redirect + '\n');
  t.is(await closed, 0, stdout);
  t.regex(stdout, /Logged in account work with OAuth/);
  t.regex(masked((await get()).stdout), /^username=x-token-auth\npassword=/);
});

test('clone, then past the access-token lifetime fetch and push: no prompt, exactly one refresh', async (t) => {
  const { sim, sandbox, clock, repoUrl, login } = await world(t);
  await loggedIn(login);
  t.is((await sandbox.git(['clone', '-q', repoUrl, 'widgets'])).code, 0);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 0, 'the token from login served the clone');
  clock.advance(LIFETIME_SECONDS);
  const cwd = join(sandbox.root, 'widgets');
  const fetched = await sandbox.git(['fetch', 'origin'], { cwd });
  t.is(fetched.code, 0, fetched.stderr);
  await sandbox.git(['commit', '-q', '--allow-empty', '-m', 'after expiry'], { cwd });
  const pushed = await sandbox.git(['push', '-q', 'origin', 'HEAD:main'], { cwd });
  t.is(pushed.code, 0, pushed.stderr);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 1, 'one refresh across the expiry');
  t.is(sim.stats().failed, 0, 'no git request was ever refused');
});

test('zero failed git operations across at least 10 expiries, one at a time and 10 at a time', async (t) => {
  const { sim, sandbox, clock, repoUrl, login } = await world(t);
  await loggedIn(login);
  t.is((await sandbox.git(['clone', '-q', repoUrl, 'widgets'])).code, 0);
  const cwd = join(sandbox.root, 'widgets');
  const failures: string[] = [];
  const fetchOnce = async () => {
    const result = await sandbox.git(['fetch', '-q', 'origin'], { cwd });
    if (result.code !== 0) failures.push(result.stderr);
  };
  const refreshes = () => sim.oauthStats().tokenRequests.refresh_token;
  // Five expiries with one fetch each, then six with ten fetches at once.
  const perExpiry: number[] = [];
  for (const concurrent of [1, 1, 1, 1, 1, 10, 10, 10, 10, 10, 10]) {
    const before = refreshes();
    clock.advance(LIFETIME_SECONDS);
    await Promise.all(Array.from({ length: concurrent }, fetchOnce));
    perExpiry.push(refreshes() - before);
  }
  t.deepEqual(failures, []);
  t.deepEqual(perExpiry, Array(11).fill(1), 'exactly one refresh per expiry');
  t.is(sim.stats().failed, 0);
  t.is(sim.oauthStats().staleRefreshUses, 0);
});

test('200 concurrent gets for an expired access token make exactly one token request', async (t) => {
  const { sim, sandbox, clock, login } = await world(t);
  await loggedIn(login);
  await sandbox.cli(['daemon', 'start']);
  clock.advance(LIFETIME_SECONDS);
  const socket = join(sandbox.configHome, 'run', 'daemon.sock');
  const request = JSON.stringify({ v: WIRE_VERSION, type: 'credential', action: 'get', credential: { protocol: 'http', host: sim.host, path: 'acme/widgets.git' } }) + '\n';
  const answers = await Promise.all(
    Array.from(
      { length: 200 },
      () =>
        new Promise<string>((resolve) => {
          const client = connect(socket);
          let data = '';
          client.on('connect', () => client.write(request));
          client.on('data', (chunk) => {
            data += chunk.toString();
            if (data.includes('\n')) client.end();
          });
          client.on('close', () => resolve(data));
          client.on('error', () => resolve(data));
        }),
    ),
  );
  const passwords = new Set(answers.map((answer) => (JSON.parse(answer) as { attributes?: string[][] }).attributes?.find(([key]) => key === 'password')?.[1]));
  t.is(passwords.size, 1, 'every answer holds the same token');
  t.true(([...passwords][0] ?? '').length >= 3000, 'and it is an issued token');
  t.is(sim.oauthStats().tokenRequests.refresh_token, 1);
});

test('SIGKILL right after a refresh: the rotated refresh token survives and the old one is never sent again', async (t) => {
  const { sim, sandbox, clock, login, get } = await world(t);
  await loggedIn(login);
  clock.advance(LIFETIME_SECONDS);
  t.regex(masked((await get()).stdout), /^username=x-token-auth/);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 1);
  for (const pid of sandbox.daemonPids()) process.kill(pid, 'SIGKILL');
  clock.advance(LIFETIME_SECONDS);
  const after = await get();
  t.regex(masked(after.stdout), /^username=x-token-auth/, after.stderr);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 2);
  t.is(sim.oauthStats().staleRefreshUses, 0);
  t.is(sim.oauthStats().failures.invalid_grant ?? 0, 0);
});

test('revoked in Bitbucket: fall back to the API token with advice, or no answer without one; login again restores OAuth', async (t) => {
  const { sim, sandbox, clock, repoUrl, login, get } = await world(t, { staticFallback: true });
  await loggedIn(login);
  sim.revokeOAuth('alice');
  clock.advance(LIFETIME_SECONDS);
  const fallback = await get();
  assertAnswer(t, fallback.stdout, `username=alice\npassword=${ALICE_TOKEN}\n`, 'the API token');
  t.regex(fallback.stderr, /^git-credential-bitbucket: account work: OAuth refresh was rejected \(invalid_grant[^\n]*\); using its API token\. Run `git-credential-bitbucket login work`\n$/);
  const clone = await sandbox.git(['clone', '-q', repoUrl, 'widgets']);
  t.is(clone.code, 0, clone.stderr);
  t.regex(clone.stderr, /using its API token/);
  const status = JSON.parse((await sandbox.cli(['status', '--json'])).stdout).accounts[0];
  t.like(status, { method: 'static', oauth: { needsLogin: true }, secretStored: true });
  const refreshesWhileRevoked = sim.oauthStats().tokenRequests.refresh_token;
  await get();
  t.is(sim.oauthStats().tokenRequests.refresh_token, refreshesWhileRevoked, 'a rejected refresh token is not retried');

  // Without a static secret there is nothing to hand out: no answer, the same advice.
  const secrets = join(sandbox.configHome, 'secrets.json');
  const stored = JSON.parse(readFileSync(secrets, 'utf8'));
  delete stored.secrets.work.static;
  writeFileSync(secrets, JSON.stringify(stored));
  const nothing = await get();
  t.is(masked(nothing.stdout), '');
  t.regex(nothing.stderr, /account work: OAuth refresh was rejected .*\. Run `git-credential-bitbucket login work`/);

  await loggedIn(login);
  t.regex(masked((await get()).stdout), /^username=x-token-auth\n/);
  t.like(JSON.parse((await sandbox.cli(['status', '--json'])).stdout).accounts[0], { method: 'oauth', oauth: { needsLogin: false } });
});

test('token endpoint down: nothing deleted, the access token used while valid, recovery when it returns', async (t) => {
  const { sim, sandbox, clock, login, get } = await world(t);
  await loggedIn(login);
  const first = await get();
  sim.setTokenEndpointDown(true);
  clock.advance(LIFETIME_SECONDS - MARGIN_SECONDS / 2); // inside the margin: a refresh is due, the token still valid
  const whileDown = await get();
  assertAnswer(t, whileDown.stdout, first.stdout, 'the still-valid token is served');
  clock.advance(MARGIN_SECONDS); // now expired (and past the first back-off), endpoint still down
  const expired = await get();
  t.is(masked(expired.stdout), '');
  t.regex(expired.stderr, /account work: the token endpoint answered HTTP 503.*It will be retried shortly/);
  const secrets = JSON.parse(readFileSync(join(sandbox.configHome, 'secrets.json'), 'utf8')).secrets.work;
  t.truthy(secrets['oauth-refresh'], 'the refresh token was kept');
  sim.setTokenEndpointDown(false);
  clock.advance(60); // past the longest back-off
  const recovered = await get();
  t.regex(masked(recovered.stdout), /^username=x-token-auth\n/, recovered.stderr);
  assertDifferentSecret(t, passwordOf(recovered.stdout), passwordOf(first.stdout), 'a new access token after the outage');
});

test('erase of an issued access token drops only that token; the next get refreshes', async (t) => {
  const { sim, sandbox, login, get } = await world(t);
  await loggedIn(login);
  const first = await get();
  const password = passwordOf(first.stdout);
  const erase = await sandbox.helper('erase', credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git', username: 'x-token-auth', password }));
  t.regex(erase.stderr, /^git-credential-bitbucket: [^\n]+ refused the OAuth access token of account work; the next git operation gets a fresh one unless Bitbucket revoked the access: then run `git-credential-bitbucket login work`\n$/);
  const second = await get();
  assertDifferentSecret(t, passwordOf(second.stdout), password, 'a new access token after the erase');
  t.is(sim.oauthStats().tokenRequests.refresh_token, 1);
  // A refresh token offered by git on store is ignored: ours is the one that counts.
  await sandbox.helper('store', credentialRequest({ protocol: 'http', host: sim.host, username: 'x-token-auth', password: 'x'.repeat(20), oauth_refresh_token: 'from-another-helper-123' }));
  const stored = JSON.parse(readFileSync(join(sandbox.configHome, 'secrets.json'), 'utf8')).secrets.work;
  t.true(stored['oauth-refresh'] !== 'from-another-helper-123', 'the refresh token from git was not stored');
});

test('Data Center: login with PKCE and no client secret; git gets the user slug with the token', async (t) => {
  const config = simConfig();
  config.oauthConsumers = [{ key: 'dc-application-link-01', name: 'git-credential-bitbucket tests', family: 'datacenter' }];
  const { sim, sandbox } = await simulatorAndSandbox(t, { config });
  Object.assign(sandbox.env, { GIT_CREDENTIAL_BITBUCKET_BROWSER: FAKE_BROWSER });
  const port = await freePort();
  const added = await sandbox.cli(['account', 'add', 'corp', '--url', sim.url, '--kind', 'datacenter', '--username', 'alice', '--oauth-client-id', 'dc-application-link-01', '--redirect-port', String(port), '--scopes', 'REPO_READ,REPO_WRITE']);
  t.is(added.code, 0, added.stderr);
  const login = await sandbox.cli(['login', 'corp', '--timeout', String(LOGIN_TIMEOUT_SECONDS)]);
  t.is(login.code, 0, login.stderr);
  t.regex(login.stdout, /\/rest\/oauth2\/latest\/authorize\?.*code_challenge_method=S256/);
  t.regex(login.stdout, /scope=REPO_READ\+REPO_WRITE/);
  t.is(sim.oauthStats().tokenRequests.authorization_code, 1);
  const answer = await sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'scm/acme/widgets.git' }));
  t.true(tokenAnswer(t, answer.stdout, 'alice') >= 3000, 'the whole token');
});

test('account verify checks the OAuth token the daemon holds, through the API and git; after a revocation it says to log in', async (t) => {
  const { sim, sandbox, login } = await world(t);
  await loggedIn(login);
  t.is((await sandbox.cli(['route', 'add', `${sim.url}/acme/*`, 'work'])).code, 0);
  const verified = await sandbox.cli(['account', 'verify', 'work', '--json']);
  t.is(verified.code, 0, verified.stdout);
  const [oauth] = JSON.parse(verified.stdout) as Array<{ credential: string; status: string; user?: string; checks: Array<{ name: string; status: string; detail: string }> }>;
  t.like(oauth, { credential: 'OAuth', status: 'pass', user: 'alice' });
  t.like(oauth!.checks.find((check) => check.name === 'git fetch'), { status: 'pass', detail: 'git can fetch acme/widgets as x-token-auth' });
  t.like(oauth!.checks.find((check) => check.name === 'git push'), { status: 'pass' });
  // The daemon handed out its cached token: verifying did not log in or refresh again.
  t.is(sim.oauthStats().tokenRequests.authorization_code, 1);
  t.is(sim.oauthStats().tokenRequests.refresh_token ?? 0, 0);

  sim.revokeOAuth('alice');
  const revoked = await sandbox.cli(['account', 'verify', 'work']);
  t.is(revoked.code, 1);
  t.regex(revoked.stdout, /work — OAuth: FAILED\n {2}FAIL Bitbucket Cloud refused the OAuth access token \(401\): log in again with `git-credential-bitbucket login work`/);
});
