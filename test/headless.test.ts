// Issue #14 item 5, a first run on a server: no display, no browser opener, no keyring. `login`
// takes the pasted redirect address (or code) on stdin while its loopback listener waits, says so,
// says when the browser could not be opened, and when nothing answers says what helps; `status` and `account list` with the keychain
// unreachable show everything that needs no secret and mark what does. Real processes, real
// simulator, a real missing D-Bus session.

import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Simulator, SimulatorConfig } from '../fixtures/simulator/server.js';
import { masked } from './support/answers.js';
import { addOAuthAccount, grantConsent } from './support/oauth-account.js';
import { HELPER, Sandbox, credentialRequest } from './support/sandbox.js';
import { simUser } from './support/sim-fixtures.js';
import { simulatorAndSandbox } from './support/sim-sandbox.js';
import { waitUntil } from './support/wait.js';

const CLIENT_ID = 'headless-oauth-consumer';
const CLIENT_SECRET = 'headless-oauth-consumer-secret-8e1f';
const ALICE_TOKEN = 'ATATT3xFfGF0-headless-alice-4b6d8f0a2c';
/** Far beyond any wait a passing test has; only a login that ignores stdin runs into it. */
const LOGIN_TIMEOUT_SECONDS = 120;

// --- status and account list with the keychain unreachable ------------------------------------

/** A configuration a user set up with the keychain, seen from a shell where the keychain cannot be reached. */
function keychainWorld(t: ExecutionContext): Sandbox {
  // No D-Bus session (delete by the sandbox), no display: the Secret Service cannot be reached.
  const sandbox = new Sandbox({ secretStore: 'default', env: { DISPLAY: undefined, WAYLAND_DISPLAY: undefined } });
  t.teardown(() => sandbox.cleanup());
  mkdirSync(join(sandbox.configHome, 'state'), { recursive: true });
  writeFileSync(
    join(sandbox.configHome, 'config.json'),
    JSON.stringify({
      version: 1,
      secretStore: 'keychain',
      accounts: [
        { name: 'work', kind: 'cloud', url: 'https://bitbucket.org', username: 'alice', secretKind: 'api-token', secretExpiresAt: '2099-01-31' },
        { name: 'corp', kind: 'datacenter', url: 'https://git.corp.example/bitbucket', username: 'alice.corp', oauth: { clientId: 'corp-client', redirectPort: 47823 } },
      ],
      routes: [{ pattern: 'https://bitbucket.org/acme/*', account: 'work' }],
      daemon: {},
      oauth: {},
    }),
  );
  writeFileSync(join(sandbox.configHome, 'state', 'accounts-state.json'), JSON.stringify({ work: { lastSuccessAt: '2025-03-01T10:00:00.000Z' } }));
  return sandbox;
}

const KEYCHAIN_ERROR = /the keychain secret store \(Secret Service over D-Bus\) cannot be used: .*D-Bus/;

test('keychain unreachable: status shows daemon, config, accounts and routes, marks what needs the keychain, names the problem; exit 1', async (t) => {
  const sandbox = keychainWorld(t);
  const status = await sandbox.cli(['status']);
  t.is(status.code, 1, status.stderr);
  t.regex(status.stdout, /^Daemon: /m);
  t.regex(status.stdout, new RegExp(`^Config: ${join(sandbox.configHome, 'config.json').replace(/[.]/g, '\\.')}$`, 'm'));
  t.regex(status.stdout, /^Secret store: keychain .*chosen in config\.json\n {2}keychain not usable: .*D-Bus/m);
  t.regex(status.stdout, /^ {2}work: cloud https:\/\/bitbucket\.org, user alice, API token \(stored: \?\) \(expires 2099-01-31\); last success 2025-03-01T10:00:00\.000Z$/m);
  t.regex(status.stdout, /^ {2}corp: datacenter https:\/\/git\.corp\.example\/bitbucket, user alice\.corp, OAuth \(logged in: \?\); not used yet$/m);
  t.regex(status.stdout, /^ {2}\?: unknown, the secret store cannot be read \(see above\)$/m);
  t.regex(status.stdout, /^Routes \(1\):\n {2}https:\/\/bitbucket\.org\/acme\/\* → work$/m);

  const json = await sandbox.cli(['status', '--json']);
  t.is(json.code, 1, json.stderr);
  const report = JSON.parse(json.stdout);
  t.regex(report.secretStore.keychainProblem, /D-Bus/);
  t.like(report.accounts[0], { name: 'work', method: 'unknown', secretKind: 'api-token', secretStored: null, lastSuccessAt: '2025-03-01T10:00:00.000Z' });
  t.like(report.accounts[1], { name: 'corp', method: 'unknown', oauth: { clientId: 'corp-client', needsLogin: null } });
  t.regex(report.accounts[0].secretStoreProblem, KEYCHAIN_ERROR);
  t.is(report.routes.length, 1);
});

test('keychain unreachable: account list shows every account with ? where the keychain is needed, and one line saying why; exit 1', async (t) => {
  const sandbox = keychainWorld(t);
  const list = await sandbox.cli(['account', 'list']);
  t.is(list.code, 1, list.stderr);
  t.regex(list.stdout, /^NAME +KIND +URL +USERNAME +AUTH +STATE$/m);
  t.regex(list.stdout, /^work +cloud +https:\/\/bitbucket\.org +alice +API token \?, expires 2099-01-31 +last success 2025-03-01T10:00:00\.000Z$/m);
  t.regex(list.stdout, /^corp +datacenter +https:\/\/git\.corp\.example\/bitbucket +alice\.corp +OAuth \? +not used yet$/m);
  t.is(list.stderr.trim().split('\n').length, 1, list.stderr);
  t.regex(list.stderr, /^git-credential-bitbucket: \? marks what is unknown because the secret store cannot be read: /);
  t.regex(list.stderr, KEYCHAIN_ERROR);

  const json = await sandbox.cli(['account', 'list', '--json']);
  t.is(json.code, 1);
  t.deepEqual(
    JSON.parse(json.stdout).map((row: { name: string; secretStored: boolean | null }) => [row.name, row.secretStored]),
    [
      ['work', null],
      ['corp', null],
    ],
  );
});

// --- login on a machine where no browser opens ---------------------------------------------------

function simConfig(): SimulatorConfig {
  return {
    users: [simUser('alice', ALICE_TOKEN, { acme: 'write' })],
    accessTokens: [],
    workspaces: { acme: ['widgets'] },
    oauthConsumers: [{ key: CLIENT_ID, secret: CLIENT_SECRET, name: 'headless tests', family: 'cloud' }],
    oauth: { accessTokenLifetimeSeconds: 3600, consentUser: 'alice' },
  };
}

async function oauthWorld(t: ExecutionContext): Promise<{ sim: Simulator; sandbox: Sandbox }> {
  const { sim, sandbox } = await simulatorAndSandbox(t, { config: simConfig() }, { secrets: [CLIENT_SECRET, ALICE_TOKEN] });
  const added = await addOAuthAccount(sandbox, sim.url, { id: CLIENT_ID, secret: CLIENT_SECRET }, { args: ['--no-verify'] });
  if (added.code !== 0) throw new Error(`account add failed: ${added.stderr}`);
  return { sim, sandbox };
}

interface LoginProcess {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** `login work` as a person types it in a terminal of a server, stdin left open for a paste. */
function startLogin(sandbox: Sandbox, env: NodeJS.ProcessEnv, timeoutSeconds = LOGIN_TIMEOUT_SECONDS): LoginProcess {
  const merged = { ...sandbox.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  const child = spawn(process.execPath, [HELPER, 'login', 'work', '--timeout', String(timeoutSeconds)], { env: merged, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

const AUTHORIZE_LINE = /^ {2}(http\S+authorize\S+)$/m;
const PASTE_HINT = /paste that whole address \(or just the code\) here and press Enter\. Waiting up to 120 s\./;

async function loggedInAnswer(t: ExecutionContext, sim: Simulator, sandbox: Sandbox): Promise<void> {
  const answer = await sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git' }));
  t.regex(masked(answer.stdout), /^username=x-token-auth\npassword=‹\d+ characters›\npassword_expiry_utc=\d+\n$/);
}

test('login with a browser opener that fails: says so, refuses a bad paste and keeps waiting, and a pasted code completes it', async (t) => {
  const { sim, sandbox } = await oauthWorld(t);
  // An opener that runs and fails (xdg-open without a browser exits non-zero the same way).
  const failing = startLogin(sandbox, { GIT_CREDENTIAL_BITBUCKET_BROWSER: 'false' });
  await waitUntil('login reports the failed opener', () => /could not open a browser \(false exited with status 1\)/.test(failing.stderr()));
  failing.child.kill('SIGTERM');
  await failing.exited;

  const login = startLogin(sandbox, { GIT_CREDENTIAL_BITBUCKET_BROWSER: join(sandbox.root, 'no-such-opener') });
  await waitUntil('login prints the address and waits', () => AUTHORIZE_LINE.test(login.stdout()) && PASTE_HINT.test(login.stdout()));
  t.regex(login.stdout(), /^Opening Bitbucket in your browser to log in account work\. If nothing opens, visit this address \(on any machine\):$/m);
  await waitUntil('login says the browser did not open', () => login.stderr().includes('could not open a browser'));
  t.regex(login.stderr(), /^git-credential-bitbucket: could not open a browser \(\S+no-such-opener: not found\); open the address above in a browser and paste the address it is sent to here$/m);

  const location = await grantConsent(sim, AUTHORIZE_LINE.exec(login.stdout())![1]!);
  // A line that is no answer, then another login's address: each refused, the login goes on.
  login.child.stdin.write('not a code at all\n');
  await waitUntil('the bad paste is refused', () => login.stderr().includes('does not look like an authorization code'));
  const forged = new URL(location);
  forged.searchParams.set('state', 'another-login-state');
  login.child.stdin.write(`${forged.href}\n`);
  await waitUntil('the other login is refused', () => login.stderr().includes('belongs to another login'));
  t.is(login.child.exitCode, null, 'still waiting');
  t.is(sim.oauthStats().tokenRequests.authorization_code, 0);

  login.child.stdin.write(`${new URL(location).searchParams.get('code')}\n`);
  t.is(await login.exited, 0, login.stderr());
  t.regex(login.stdout(), /Logged in account work with OAuth/);
  t.is(sim.oauthStats().tokenRequests.authorization_code, 1);
  await loggedInAnswer(t, sim, sandbox);
});

test('login with no display and no opener configured: opens nothing, says why, and the pasted address completes it', async (t) => {
  const { sim, sandbox } = await oauthWorld(t);
  const login = startLogin(sandbox, { GIT_CREDENTIAL_BITBUCKET_BROWSER: undefined, DISPLAY: undefined, WAYLAND_DISPLAY: undefined });
  await waitUntil('login prints the address and waits', () => AUTHORIZE_LINE.test(login.stdout()) && PASTE_HINT.test(login.stdout()));
  t.regex(login.stdout(), /^No browser can be opened here \(no display: DISPLAY and WAYLAND_DISPLAY are unset\)\. To log in account work, open this address in a browser on any machine:$/m);
  t.false(login.stdout().includes('Opening Bitbucket'));
  const location = await grantConsent(sim, AUTHORIZE_LINE.exec(login.stdout())![1]!);
  login.child.stdin.write(`${location}\n`);
  t.is(await login.exited, 0, login.stderr());
  t.regex(login.stdout(), /Logged in account work with OAuth/);
  await loggedInAnswer(t, sim, sandbox);
});

test('a login nobody answers ends at --timeout and says what helps: login again, paste the address, or --no-browser', async (t) => {
  const { sim, sandbox } = await oauthWorld(t);
  // An opener that "opens" and nobody behind it; stdin stays open and nothing is pasted.
  const login = startLogin(sandbox, { GIT_CREDENTIAL_BITBUCKET_BROWSER: 'true' }, 1);
  t.is(await login.exited, 1);
  t.regex(
    login.stderr(),
    /^git-credential-bitbucket: login of account work failed: no answer from the browser within 1 s; nothing was stored\. Run `git-credential-bitbucket login work` again; if the browser does not come back here by itself, paste the address it ended on \(http:\/\/127\.0\.0\.1:\d+\/\?code=…\) while login waits, or add --no-browser where no browser can reach 127\.0\.0\.1\n$/m,
  );
  t.is(sim.oauthStats().tokenRequests.authorization_code, 0);
});
