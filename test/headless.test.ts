// Issue #14 item 5, a first run on a server: no display, no browser opener, no keyring. `login`
// takes the pasted redirect address (or code) on stdin while its loopback listener waits, says so,
// and says when the browser could not be opened; `status` and `account list` with the keychain
// unreachable show everything that needs no secret and mark what does. Real processes, real
// simulator, a real missing D-Bus session.

import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator, type SimulatorConfig } from '../fixtures/simulator/server.js';
import { masked } from './support/answers.js';
import { HELPER, Sandbox, credentialRequest } from './support/sandbox.js';
import { freePort, simUser } from './support/sim-fixtures.js';
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
