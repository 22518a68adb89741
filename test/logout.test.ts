// The OAuth life cycle from the command line: `logout`, `account set-oauth` and `account remove`
// against the simulator, with the built helper and a real daemon. The daemon is the only writer of
// OAuth tokens: every test checks what git gets right after the command, from the daemon that was
// already running and holding the old tokens in memory.

import test, { type ExecutionContext } from 'ava';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import { parseRequest } from '../src/daemon/server.js';
import { WIRE_VERSION } from '../src/shared/wire.js';
import { assertAnswer, masked } from './support/answers.js';
import { REPO_ROOT, Sandbox, credentialRequest, type RunResult } from './support/sandbox.js';
import { freePort, simUser } from './support/sim-fixtures.js';

const CLIENT_ID = 'lifecycle-consumer-key-01';
const CLIENT_SECRET = 'lifecycle-consumer-secret-4b6d8f0a2c';
const OTHER_CLIENT_ID = 'lifecycle-consumer-key-02';
const OTHER_CLIENT_SECRET = 'lifecycle-consumer-secret-9e1c3a5b7d';
const ALICE_TOKEN = 'ATATT3xFfGF0-lifecycle-alice-6a8c0e2f4b';
const FAKE_BROWSER = join(REPO_ROOT, 'test', 'support', 'fake-browser.mjs');
const OAUTH_ANSWER = /^username=x-token-auth\npassword=‹\d+ characters›\npassword_expiry_utc=\d+\n$/;

interface World {
  sim: Simulator;
  sandbox: Sandbox;
  port: number;
  cli(args: string[], input?: string): Promise<RunResult>;
  get(): Promise<RunResult>;
  /** The secrets.json slots of account `work`. */
  stored(): Record<string, string>;
  config(): { accounts: Array<{ name: string; oauth?: { clientId: string; redirectPort: number } }>; routes: Array<{ pattern: string; account: string }> };
  login(): Promise<void>;
}

/** Account `work` (alice, Cloud) with a route; `oauth` adds the first OAuth client, `secret` the API token. */
async function world(t: ExecutionContext, options: { oauth: boolean; secret: boolean }): Promise<World> {
  const sim = await startSimulator({
    config: {
      users: [simUser('alice', ALICE_TOKEN, { acme: 'write' })],
      accessTokens: [],
      workspaces: { acme: ['widgets'] },
      oauthConsumers: [
        { key: CLIENT_ID, secret: CLIENT_SECRET, name: 'life cycle tests', family: 'cloud', scopes: ['repository', 'repository:write'] },
        { key: OTHER_CLIENT_ID, secret: OTHER_CLIENT_SECRET, name: 'life cycle tests, second consumer', family: 'cloud', scopes: ['repository', 'repository:write'] },
      ],
      oauth: { accessTokenLifetimeSeconds: 3600, consentUser: 'alice' },
    },
  });
  const sandbox = new Sandbox();
  Object.assign(sandbox.env, { GIT_CREDENTIAL_BITBUCKET_BROWSER: FAKE_BROWSER });
  sandbox.trackSecrets(CLIENT_SECRET, OTHER_CLIENT_SECRET, ALICE_TOKEN);
  const configHome = sandbox.configHome;
  const stored = () => (JSON.parse(readFileSync(join(configHome, 'secrets.json'), 'utf8')) as { secrets: Record<string, Record<string, string>> }).secrets.work ?? {};
  t.teardown(async () => {
    sandbox.trackStoredSecrets();
    await sandbox.cleanup();
    await sim.close();
  });
  const port = await freePort();
  const args = ['account', 'add', 'work', '--url', sim.url, '--kind', 'cloud', '--username', 'alice', '--no-verify'];
  if (options.secret) args.push('--secret-stdin');
  if (options.oauth) args.push('--oauth-client-id', CLIENT_ID, '--oauth-client-secret-stdin', '--redirect-port', String(port));
  const input = [options.secret && ALICE_TOKEN, options.oauth && CLIENT_SECRET].filter(Boolean).map((line) => `${line}\n`).join('');
  const added = await sandbox.cli(args, { input });
  if (added.code !== 0) throw new Error(`account add failed: ${added.stderr}`);
  await sandbox.addRoute(`${sim.url}/acme/*`, 'work');
  return {
    sim,
    sandbox,
    port,
    cli: (cliArgs, cliInput) => sandbox.cli(cliArgs, cliInput === undefined ? {} : { input: cliInput }),
    get: () => sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git' })),
    stored,
    config: () => JSON.parse(readFileSync(join(configHome, 'config.json'), 'utf8')),
    login: async () => {
      const login = await sandbox.cli(['login', 'work', '--timeout', '120']);
      if (login.code !== 0) throw new Error(`login failed: ${login.stderr}`);
      // Tokens a later step deletes are still secrets for the leak scan at teardown.
      sandbox.trackStoredSecrets();
    },
  };
}

const slots = (world: World) => Object.keys(world.stored()).sort();

test('logout --help, logout -h and account set-oauth --help print their usage and change nothing', async (t) => {
  const { sandbox, cli, config } = await world(t, { oauth: true, secret: false });
  const before = readFileSync(join(sandbox.configHome, 'config.json'), 'utf8');
  for (const args of [['logout', '--help'], ['logout', '-h'], ['account', 'set-oauth', '--help'], ['account', 'set-oauth', 'work', '-h', '--remove']]) {
    const help = await cli(args);
    t.is(help.code, 0, args.join(' '));
    t.regex(help.stdout, args[0] === 'logout' ? /^Usage: git-credential-bitbucket logout NAME\n/ : /^Usage: git-credential-bitbucket account set-oauth NAME --oauth-client-id ID/, args.join(' '));
    t.is(help.stderr, '');
  }
  t.deepEqual(sandbox.daemonPids(), [], 'no daemon was started');
  t.is(readFileSync(join(sandbox.configHome, 'config.json'), 'utf8'), before);
  t.truthy(config().accounts[0]!.oauth);
  const usage = await cli([]);
  t.regex(usage.stdout, /^ {2}logout NAME +drop an account's OAuth tokens; keep the account$/m);
  t.regex((await cli(['account', '--help'])).stdout, /account set-oauth NAME --oauth-client-id ID/);
});

test('logout drops the tokens in the running daemon; the account, its routes and its API token stay and serve git at once', async (t) => {
  const w = await world(t, { oauth: true, secret: true });
  await w.login();
  t.regex(masked((await w.get()).stdout), OAUTH_ANSWER, 'the daemon holds the OAuth token');
  t.like(w.sandbox.requestLog().find((line) => line.action === 'oauth-login'), { channel: 'cli', account: 'work', outcome: 'logged-in' }, 'login handed the tokens to the daemon');

  const logout = await w.cli(['logout', 'work']);
  t.is(logout.code, 0, logout.stderr);
  t.is(logout.stdout, 'Logged out account work: its OAuth tokens are deleted. git now gets its API token; `git-credential-bitbucket login work` uses OAuth again.\n');
  t.deepEqual(slots(w), ['oauth-client-secret', 'static']);
  t.like(w.config(), { accounts: [{ name: 'work', oauth: { clientId: CLIENT_ID } }], routes: [{ account: 'work' }] });
  const after = await w.get();
  assertAnswer(t, after.stdout, `username=alice\npassword=${ALICE_TOKEN}\n`, 'the API token, from the daemon that held the OAuth token');
  t.regex(after.stderr, /account work: it has not logged in with OAuth yet; using its API token\. Run `git-credential-bitbucket login work`/);
  t.like(w.sandbox.requestLog().find((line) => line.action === 'oauth-logout'), { outcome: 'tokens-dropped' });
  t.like(JSON.parse((await w.cli(['status', '--json'])).stdout).accounts[0], { method: 'static', oauth: { needsLogin: true, needsLoginReason: 'not logged in yet' } });

  const again = await w.cli(['logout', 'work']);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /^Account work was not logged in with OAuth; nothing to delete\. git now gets its API token/);
  await w.login();
  t.regex(masked((await w.get()).stdout), OAUTH_ANSWER, 'login brings OAuth back');
});

test('logout starts the daemon when none runs; without a static secret git then gets nothing and is told to log in', async (t) => {
  const w = await world(t, { oauth: true, secret: false });
  await w.login();
  t.is((await w.cli(['daemon', 'stop'])).code, 0);
  t.deepEqual(w.sandbox.daemonPids(), []);
  const logout = await w.cli(['logout', 'work']);
  t.is(logout.code, 0, logout.stderr);
  t.is(logout.stdout, 'Logged out account work: its OAuth tokens are deleted. git gets no credential from this account until `git-credential-bitbucket login work`.\n');
  t.deepEqual(slots(w), ['oauth-client-secret']);
  const after = await w.get();
  t.is(masked(after.stdout), '');
  t.regex(after.stderr, /account work: it has not logged in with OAuth yet\. Run `git-credential-bitbucket login work`/);
  const noClient = await w.cli(['logout', 'nobody']);
  t.is(noClient.code, 1);
  t.regex(noClient.stderr, /^git-credential-bitbucket: no account named nobody \(accounts: work\)/);
});

test('when the daemon cannot start, logout and login fail with its reason and change nothing (login before the browser opens)', async (t) => {
  const w = await world(t, { oauth: true, secret: false });
  await w.login();
  t.is((await w.cli(['daemon', 'stop'])).code, 0);
  const before = readFileSync(join(w.sandbox.configHome, 'secrets.json'), 'utf8');
  // A file where the daemon's state directory must be: the daemon exits at start-up saying why.
  const state = join(w.sandbox.configHome, 'state');
  renameSync(state, `${state}.aside`);
  writeFileSync(state, 'not a directory');
  const reason = /the daemon could not start: cannot create \S+\/state: EEXIST \(a file stands where a directory must be\); move it away/;

  const logout = await w.cli(['logout', 'work']);
  t.is(logout.code, 1);
  t.regex(logout.stderr, /^git-credential-bitbucket: logout of account work failed \(nothing was deleted\): /);
  t.regex(logout.stderr, reason);
  const login = await w.cli(['login', 'work', '--timeout', '120']);
  t.is(login.code, 1);
  t.regex(login.stderr, /^git-credential-bitbucket: login of account work failed \(nothing was stored\): /);
  t.regex(login.stderr, reason);
  t.false(login.stdout.includes('Opening Bitbucket'), 'no browser was opened');
  t.is(w.sim.oauthStats().tokenRequests.authorization_code, 1, 'only the first login reached Bitbucket');
  t.true(readFileSync(join(w.sandbox.configHome, 'secrets.json'), 'utf8') === before, 'the secret store is unchanged');

  rmSync(state);
  renameSync(`${state}.aside`, state);
  t.regex(masked((await w.get()).stdout), OAUTH_ANSWER, 'the tokens still serve git');
});

test('account set-oauth adds OAuth in place, keeps the tokens for the same client, drops them for a new one; --remove goes back to the API token', async (t) => {
  const w = await world(t, { oauth: false, secret: true });
  const routes = w.config().routes;

  const noSecret = await w.cli(['account', 'set-oauth', 'work', '--oauth-client-id', CLIENT_ID]);
  t.is(noSecret.code, 1);
  t.regex(noSecret.stderr, /a Bitbucket Cloud OAuth consumer has a secret: pipe it and pass --oauth-client-secret-stdin/);
  t.is(w.config().accounts[0]!.oauth, undefined, 'nothing changed');

  const set = await w.cli(['account', 'set-oauth', 'work', '--oauth-client-id', CLIENT_ID, '--oauth-client-secret-stdin', '--redirect-port', String(w.port)], `${CLIENT_SECRET}\n`);
  t.is(set.code, 0, set.stderr);
  t.is(set.stdout, `Account work: OAuth client ${CLIENT_ID}, callback http://127.0.0.1:${w.port}/. Run \`git-credential-bitbucket login work\` to log in.\n`);
  t.deepEqual(w.config().routes, routes, 'the routes stay');
  await w.login();
  const first = await w.get();
  t.regex(masked(first.stdout), OAUTH_ANSWER);

  // The same client, nothing piped: the client secret and the tokens stay.
  const same = await w.cli(['account', 'set-oauth', 'work', '--oauth-client-id', CLIENT_ID]);
  t.is(same.code, 0, same.stderr);
  t.is(same.stdout, `Account work: OAuth client ${CLIENT_ID}, callback http://127.0.0.1:${w.port}/; its OAuth tokens were kept.\n`);
  assertAnswer(t, (await w.get()).stdout, first.stdout, 'the same token as before');

  // Another client: the first one's tokens go, through the daemon that holds them.
  const changed = await w.cli(['account', 'set-oauth', 'work', '--oauth-client-id', OTHER_CLIENT_ID, '--oauth-client-secret-stdin', '--redirect-port', String(w.port)], `${OTHER_CLIENT_SECRET}\n`);
  t.is(changed.code, 0, changed.stderr);
  t.is(changed.stdout, `Account work: OAuth client ${OTHER_CLIENT_ID}, callback http://127.0.0.1:${w.port}/; the old client's tokens are deleted. Run \`git-credential-bitbucket login work\` to log in.\n`);
  t.deepEqual(slots(w), ['oauth-client-secret', 'static']);
  t.true(w.stored()['oauth-client-secret'] === OTHER_CLIENT_SECRET, 'the new client secret is stored');
  const fallback = await w.get();
  assertAnswer(t, fallback.stdout, `username=alice\npassword=${ALICE_TOKEN}\n`, 'the API token until the next login');
  t.regex(fallback.stderr, /it has not logged in with OAuth yet; using its API token/);
  await w.login();
  t.regex(masked((await w.get()).stdout), OAUTH_ANSWER, 'logged in with the new client');

  const removed = await w.cli(['account', 'set-oauth', 'work', '--remove']);
  t.is(removed.code, 0, removed.stderr);
  t.is(removed.stdout, `Removed the OAuth client ${OTHER_CLIENT_ID} of account work and its tokens; git now gets its API token.\n`);
  t.deepEqual(slots(w), ['static']);
  t.is(w.config().accounts[0]!.oauth, undefined);
  t.deepEqual(w.config().routes, routes);
  const plain = await w.get();
  assertAnswer(t, plain.stdout, `username=alice\npassword=${ALICE_TOKEN}\n`, 'the API token');
  t.is(plain.stderr, '');
  const twice = await w.cli(['account', 'set-oauth', 'work', '--remove']);
  t.is(twice.code, 1);
  t.regex(twice.stderr, /^git-credential-bitbucket: account work has no OAuth client; nothing was changed\n$/);
});

test('account set-oauth --remove refuses an account with no static secret, and changes nothing', async (t) => {
  const w = await world(t, { oauth: true, secret: false });
  await w.login();
  const refused = await w.cli(['account', 'set-oauth', 'work', '--remove']);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /^git-credential-bitbucket: account work has no static secret, so without its OAuth client git would get nothing from it; nothing was changed\. Add one first with `git-credential-bitbucket account set-secret work --secret-stdin`, or remove the account\n$/);
  t.deepEqual(slots(w), ['oauth-access', 'oauth-client-secret', 'oauth-refresh']);
  t.like(w.config().accounts[0], { oauth: { clientId: CLIENT_ID } });
  t.regex(masked((await w.get()).stdout), OAUTH_ANSWER);
  const mixed = await w.cli(['account', 'set-oauth', 'work', '--remove', '--oauth-client-id', OTHER_CLIENT_ID]);
  t.is(mixed.code, 1);
  t.regex(mixed.stderr, /--remove takes no other option/);
});

test('account remove makes the running daemon drop the tokens: the same account added again is not logged in', async (t) => {
  const w = await world(t, { oauth: true, secret: false });
  await w.login();
  t.regex(masked((await w.get()).stdout), OAUTH_ANSWER, 'the daemon holds the token');
  const removed = await w.cli(['account', 'remove', 'work']);
  t.is(removed.code, 0, removed.stderr);
  t.regex(removed.stdout, /^Removed account work, 3 secret\(s\) from the file store and its routes /);
  t.deepEqual(slots(w), []);
  const args = ['account', 'add', 'work', '--url', w.sim.url, '--kind', 'cloud', '--username', 'alice', '--no-verify', '--oauth-client-id', CLIENT_ID, '--oauth-client-secret-stdin', '--redirect-port', String(w.port)];
  t.is((await w.cli(args, `${CLIENT_SECRET}\n`)).code, 0);
  const after = await w.get();
  t.is(masked(after.stdout), '', 'no token of the removed account');
  t.regex(after.stderr, /account work: it has not logged in with OAuth yet/);
});

test('the daemon takes oauth-login only with well-formed tokens, and never repeats a token in its refusal', (t) => {
  const token = 'refresh-token-that-must-not-be-echoed-0123456789';
  const line = (tokens: unknown) => JSON.stringify({ v: WIRE_VERSION, type: 'oauth-login', account: 'work', tokens });
  t.like(parseRequest(line({ accessToken: 'a', refreshToken: token, expiresAt: 1 })), { type: 'oauth-login', account: 'work', tokens: { expiresAt: 1 } });
  for (const tokens of [undefined, null, { accessToken: 'a', refreshToken: token }, { accessToken: '', refreshToken: token, expiresAt: 1 }, { accessToken: `a\n${token}`, refreshToken: token, expiresAt: 1 }, { accessToken: 'a', refreshToken: token, expiresAt: 'soon' }]) {
    const parsed = parseRequest(line(tokens));
    t.true('error' in parsed && parsed.error.type === 'error' && parsed.error.code === 'bad-request', JSON.stringify(tokens === undefined ? 'undefined' : Object.keys(tokens ?? {})));
    t.false(JSON.stringify(parsed).includes(token));
  }
  t.like(parseRequest(JSON.stringify({ v: WIRE_VERSION, type: 'oauth-logout', account: 'work' })), { type: 'oauth-logout', account: 'work' });
  t.true('error' in parseRequest(JSON.stringify({ v: WIRE_VERSION, type: 'oauth-logout' })));
  t.true('error' in parseRequest(JSON.stringify({ v: WIRE_VERSION, type: 'reload', account: 'work' })), 'reload is gone');
});
