// OAuth accounts end to end: `login` through the simulator's consent page (driven by a scripted
// browser) or a pasted redirect, then real git through the helper and daemon while the
// simulator's access tokens expire, rotate, get revoked and its token endpoint goes down.

import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startSimulator, type Simulator, type SimulatorConfig } from '../fixtures/simulator/server.js';
import { REPO_ROOT, Sandbox, credentialRequest, HELPER } from './support/sandbox.js';
import { freePort, simUser } from './support/sim-fixtures.js';

const CLIENT_ID = 'sim-oauth-consumer-key-01';
const CLIENT_SECRET = 'sim-oauth-consumer-secret-7d3f9a1c';
const ALICE_TOKEN = 'ATATT3xFfGF0-oauthtest-alice-2c4e6a8b0d';
const FAKE_BROWSER = join(REPO_ROOT, 'test', 'support', 'fake-browser.mjs');

function simConfig(lifetimeSeconds: number): SimulatorConfig {
  return {
    users: [simUser('alice', ALICE_TOKEN, { acme: 'write' })],
    accessTokens: [],
    workspaces: { acme: ['widgets'] },
    oauthConsumers: [{ key: CLIENT_ID, secret: CLIENT_SECRET, name: 'git-credential-bitbucket tests', family: 'cloud', scopes: ['repository', 'repository:write'] }],
    oauth: { accessTokenLifetimeSeconds: lifetimeSeconds, consentUser: 'alice' },
  };
}


interface World {
  sim: Simulator;
  sandbox: Sandbox;
  repoUrl: string;
  login(extraEnv?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }>;
  get(): Promise<{ stdout: string; stderr: string }>;
}

async function world(t: ExecutionContext, options: { lifetimeSeconds: number; marginSeconds: number; staticFallback?: boolean }): Promise<World> {
  const sim = await startSimulator({ config: simConfig(options.lifetimeSeconds) });
  const sandbox = new Sandbox();
  Object.assign(sandbox.env, { GIT_CREDENTIAL_BITBUCKET_BROWSER: FAKE_BROWSER, GIT_CREDENTIAL_BITBUCKET_REFRESH_MARGIN: String(options.marginSeconds) });
  sandbox.trackSecrets(CLIENT_SECRET, ALICE_TOKEN);
  t.teardown(async () => {
    trackStoredTokens(sandbox);
    await sandbox.cleanup();
    await sim.close();
  });
  const port = await freePort();
  const args = ['account', 'add', 'work', '--url', sim.url, '--kind', 'cloud', '--username', 'alice', '--oauth-client-id', CLIENT_ID, '--oauth-client-secret-stdin', '--redirect-port', String(port), '--no-verify'];
  const input = options.staticFallback ? `${ALICE_TOKEN}\n${CLIENT_SECRET}\n` : `${CLIENT_SECRET}\n`;
  const added = await sandbox.cli(options.staticFallback ? [...args, '--secret-stdin'] : args, { input });
  if (added.code !== 0) throw new Error(`account add failed: ${added.stderr}`);
  return {
    sim,
    sandbox,
    repoUrl: `${sim.url}/acme/widgets.git`,
    login: (extraEnv = {}) => sandbox.cli(['login', 'work', '--timeout', '30'], { env: extraEnv }),
    get: () => sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git' })),
  };
}

/** Tokens the simulator issued are secrets too: scan for them as well. */
function trackStoredTokens(sandbox: Sandbox): void {
  let stored: { secrets?: Record<string, Record<string, string>> };
  try {
    stored = JSON.parse(readFileSync(join(sandbox.configHome, 'secrets.json'), 'utf8'));
  } catch {
    return;
  }
  for (const slots of Object.values(stored.secrets ?? {})) {
    for (const [slot, value] of Object.entries(slots)) {
      sandbox.trackSecrets(slot === 'oauth-access' ? (JSON.parse(value) as { token: string }).token : value);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Logs in, failing the test with login's own words when it does not succeed. */
async function loggedIn(login: World['login']): Promise<void> {
  const result = await login();
  if (result.code !== 0) throw new Error(`login failed (exit ${result.code}): ${result.stderr}`);
}

test('login through the browser flow, then clone and push with the OAuth token', async (t) => {
  const { sim, sandbox, repoUrl, login, get } = await world(t, { lifetimeSeconds: 3600, marginSeconds: 300 });
  const result = await login();
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /Logged in account work with OAuth; access token valid until /);
  t.regex(result.stdout, new RegExp(`${sim.url.replace(/[.]/g, '\\.')}/site/oauth2/authorize\\?client_id=${CLIENT_ID}`));
  t.is(sim.oauthStats().tokenRequests.authorization_code, 1);

  const answer = await get();
  const lines = answer.stdout.trim().split('\n');
  t.is(lines[0], 'username=x-token-auth');
  t.true(lines[1]!.startsWith('password=') && lines[1]!.length > 3000, 'the long Cloud token is passed through whole');
  const expiry = Number(/^password_expiry_utc=(\d+)$/m.exec(answer.stdout)?.[1]);
  t.true(Math.abs(expiry - (Date.now() / 1000 + 3600)) < 60);
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

test('--no-browser: the pasted redirect URL completes the login; a forged state or a cancel stores nothing', async (t) => {
  const { sim, sandbox, get, login } = await world(t, { lifetimeSeconds: 3600, marginSeconds: 300 });

  // A redirect with another state is refused and ignored; the login waits on until its timeout.
  const forged = await sandbox.cli(['login', 'work', '--timeout', '3'], { env: { FAKE_BROWSER_STATE: 'forged-state-value' } });
  t.is(forged.code, 1);
  t.regex(forged.stderr, /ignored a redirect with the wrong state/);
  t.regex(forged.stderr, /no answer from the browser within 3 s; nothing was stored/);
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
  child.stderr.resume();
  const url = await new Promise<string>((resolve) =>
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^ {2}(http\S+authorize\S+)$/m.exec(stdout);
      if (match) resolve(match[1]!);
    }),
  );
  const consent = await fetch(url);
  const html = await consent.text();
  const form = new URLSearchParams([...html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]));
  form.set('decision', 'grant');
  const granted = await fetch(new URL('/site/oauth2/authorize', sim.url), { method: 'POST', body: form, redirect: 'manual' });
  const redirect = granted.headers.get('location')!;
  t.regex(redirect, /^http:\/\/127\.0\.0\.1:\d+\/\?code=/);
  child.stdin.end(redirect + '\n');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 0, stdout);
  t.regex(stdout, /Logged in account work with OAuth/);
  t.regex((await get()).stdout, /^username=x-token-auth\npassword=/);
});

test('clone, wait past the access-token lifetime, fetch and push: no prompt, exactly one refresh', async (t) => {
  const { sim, sandbox, repoUrl, login } = await world(t, { lifetimeSeconds: 8, marginSeconds: 1 });
  await loggedIn(login);
  t.is((await sandbox.git(['clone', '-q', repoUrl, 'widgets'])).code, 0);
  // Counted from here: a slow clone may itself have fallen inside the refresh margin.
  const before = sim.oauthStats().tokenRequests.refresh_token;
  await sleep(8200);
  const cwd = join(sandbox.root, 'widgets');
  const fetched = await sandbox.git(['fetch', 'origin'], { cwd });
  t.is(fetched.code, 0, fetched.stderr);
  await sandbox.git(['commit', '-q', '--allow-empty', '-m', 'after expiry'], { cwd });
  const pushed = await sandbox.git(['push', '-q', 'origin', 'HEAD:main'], { cwd });
  t.is(pushed.code, 0, pushed.stderr);
  t.is(sim.oauthStats().tokenRequests.refresh_token - before, 1, 'one refresh across the expiry');
  t.is(sim.stats().failed, 0, 'no git request was ever refused');
});

test('zero failed git operations across at least 10 expiries, one at a time and 10 at a time', async (t) => {
  const { sim, sandbox, repoUrl, login } = await world(t, { lifetimeSeconds: 2, marginSeconds: 1 });
  await loggedIn(login);
  t.is((await sandbox.git(['clone', '-q', repoUrl, 'widgets'])).code, 0);
  const cwd = join(sandbox.root, 'widgets');
  const failures: string[] = [];
  let operations = 0;
  const fetchOnce = async () => {
    operations++;
    const result = await sandbox.git(['fetch', '-q', 'origin'], { cwd });
    if (result.code !== 0) failures.push(result.stderr);
  };
  const refreshes = () => sim.oauthStats().tokenRequests.refresh_token;
  const deadline = Date.now() + 90_000;
  while (refreshes() < 5 && Date.now() < deadline) await fetchOnce();
  while (refreshes() < 11 && Date.now() < deadline) await Promise.all(Array.from({ length: 10 }, fetchOnce));
  t.deepEqual(failures, []);
  t.true(refreshes() >= 11, `only ${refreshes()} refreshes in ${operations} operations`);
  t.is(sim.stats().failed, 0);
  t.is(sim.oauthStats().staleRefreshUses, 0);
});

test('200 concurrent gets for an expired access token make exactly one token request', async (t) => {
  // The refreshed token lives 3 s: long enough for all 200 answers even on a loaded machine.
  const { sim, sandbox, login } = await world(t, { lifetimeSeconds: 3, marginSeconds: 0 });
  await loggedIn(login);
  await sandbox.cli(['daemon', 'start']);
  await sleep(3200);
  const socket = join(sandbox.configHome, 'run', 'daemon.sock');
  const request = JSON.stringify({ v: 1, type: 'credential', action: 'get', credential: { protocol: 'http', host: sim.host, path: 'acme/widgets.git' } }) + '\n';
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
  const passwords = new Set(answers.map((answer) => (JSON.parse(answer) as { attributes: string[][] }).attributes.find(([key]) => key === 'password')?.[1]));
  t.is(passwords.size, 1);
  t.truthy([...passwords][0]);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 1);
});

test('SIGKILL right after a refresh: the rotated refresh token survives and the old one is never sent again', async (t) => {
  const { sim, sandbox, login, get } = await world(t, { lifetimeSeconds: 2, marginSeconds: 0.5 });
  await loggedIn(login);
  await sleep(1600);
  t.regex((await get()).stdout, /^username=x-token-auth/);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 1);
  for (const pid of sandbox.daemonPids()) process.kill(pid, 'SIGKILL');
  await sleep(1600);
  const after = await get();
  t.regex(after.stdout, /^username=x-token-auth/, after.stderr);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 2);
  t.is(sim.oauthStats().staleRefreshUses, 0);
  t.is(sim.oauthStats().failures.invalid_grant ?? 0, 0);
});

test('revoked in Bitbucket: fall back to the API token with advice, or no answer without one; login again restores OAuth', async (t) => {
  const { sim, sandbox, repoUrl, login, get } = await world(t, { lifetimeSeconds: 2, marginSeconds: 0.5, staticFallback: true });
  await loggedIn(login);
  sim.revokeOAuth('alice');
  await sleep(1600);
  const fallback = await get();
  t.is(fallback.stdout, `username=alice\npassword=${ALICE_TOKEN}\n`);
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
  t.is(nothing.stdout, '');
  t.regex(nothing.stderr, /account work: OAuth refresh was rejected .*\. Run `git-credential-bitbucket login work`/);

  await loggedIn(login);
  t.regex((await get()).stdout, /^username=x-token-auth\n/);
  t.like(JSON.parse((await sandbox.cli(['status', '--json'])).stdout).accounts[0], { method: 'oauth', oauth: { needsLogin: false } });
});

test('token endpoint down: nothing deleted, the access token used while valid, recovery when it returns', async (t) => {
  const { sim, sandbox, login, get } = await world(t, { lifetimeSeconds: 3, marginSeconds: 2 });
  await loggedIn(login);
  const first = await get();
  sim.setTokenEndpointDown(true);
  await sleep(1200); // inside the margin: a refresh is due, the token still valid
  const whileDown = await get();
  t.is(whileDown.stdout, first.stdout, 'the still-valid token is served');
  await sleep(2200); // now expired, endpoint still down
  const expired = await get();
  t.is(expired.stdout, '');
  t.regex(expired.stderr, /account work: the token endpoint answered HTTP 503.*It will be retried shortly/);
  const secrets = JSON.parse(readFileSync(join(sandbox.configHome, 'secrets.json'), 'utf8')).secrets.work;
  t.truthy(secrets['oauth-refresh'], 'the refresh token was kept');
  sim.setTokenEndpointDown(false);
  let recovered = '';
  for (let i = 0; i < 40 && !recovered.startsWith('username='); i++) {
    await sleep(250);
    recovered = (await get()).stdout;
  }
  t.regex(recovered, /^username=x-token-auth\n/);
  t.not(recovered, first.stdout);
});

test('erase of an issued access token drops only that token; the next get refreshes', async (t) => {
  const { sim, sandbox, login, get } = await world(t, { lifetimeSeconds: 3600, marginSeconds: 300 });
  await loggedIn(login);
  const first = await get();
  const password = /^password=(.*)$/m.exec(first.stdout)![1]!;
  const erase = await sandbox.helper('erase', credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git', username: 'x-token-auth', password }));
  t.regex(erase.stderr, /^git-credential-bitbucket: [^\n]+ refused the OAuth access token of account work; the next git operation gets a fresh one unless Bitbucket revoked the access: then run `git-credential-bitbucket login work`\n$/);
  const second = await get();
  t.not(second.stdout, first.stdout);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 1);
  // A refresh token offered by git on store is ignored: ours is the one that counts.
  await sandbox.helper('store', credentialRequest({ protocol: 'http', host: sim.host, username: 'x-token-auth', password: 'x'.repeat(20), oauth_refresh_token: 'from-another-helper-123' }));
  const stored = JSON.parse(readFileSync(join(sandbox.configHome, 'secrets.json'), 'utf8')).secrets.work;
  t.not(stored['oauth-refresh'], 'from-another-helper-123');
});

test('Data Center: login with PKCE and no client secret; git gets the user slug with the token', async (t) => {
  const config = simConfig(3600);
  config.oauthConsumers = [{ key: 'dc-application-link-01', name: 'git-credential-bitbucket tests', family: 'datacenter' }];
  const sim = await startSimulator({ config });
  const sandbox = new Sandbox();
  Object.assign(sandbox.env, { GIT_CREDENTIAL_BITBUCKET_BROWSER: FAKE_BROWSER });
  t.teardown(async () => {
    trackStoredTokens(sandbox);
    await sandbox.cleanup();
    await sim.close();
  });
  const port = await freePort();
  const added = await sandbox.cli(['account', 'add', 'corp', '--url', sim.url, '--kind', 'datacenter', '--username', 'alice', '--oauth-client-id', 'dc-application-link-01', '--redirect-port', String(port), '--scopes', 'REPO_READ,REPO_WRITE']);
  t.is(added.code, 0, added.stderr);
  const login = await sandbox.cli(['login', 'corp', '--timeout', '30']);
  t.is(login.code, 0, login.stderr);
  t.regex(login.stdout, /\/rest\/oauth2\/latest\/authorize\?.*code_challenge_method=S256/);
  t.regex(login.stdout, /scope=REPO_READ\+REPO_WRITE/);
  t.is(sim.oauthStats().tokenRequests.authorization_code, 1);
  const answer = await sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'scm/acme/widgets.git' }));
  t.regex(answer.stdout, /^username=alice\npassword=[^\n]{3000,}\npassword_expiry_utc=\d+\n$/);
});

test('account verify checks the OAuth token the daemon holds, through the API and git; after a revocation it says to log in', async (t) => {
  const { sim, sandbox, login } = await world(t, { lifetimeSeconds: 3600, marginSeconds: 300 });
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
