// The native fast path end to end: `install` (by default on Linux and macOS) writes one helper
// value, a shell function that asks git's own credential-cache client first and hands over to
// the Node helper, and real git clones and pushes get their answers from the daemon's cache
// socket. The request log's `channel` says which way each request came; it also shows which way
// each action goes through the function (get: cache client, then Node if nothing came; store:
// cache client alone; erase: Node alone). Where it cannot be set up safely, install goes on
// without it and says why.

import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Simulator, SimulatorConfig } from '../fixtures/simulator/server.js';
import { helperChainFor, helperValueFor, helperWithFastPathValueFor } from '../src/installer/helper-value.js';
import { TestClock } from './support/clock.js';
import { addOAuthAccount, FAKE_BROWSER } from './support/oauth-account.js';
import { HELPER, Sandbox, credentialRequest, type LoggedRequest } from './support/sandbox.js';
import { simUser } from './support/sim-fixtures.js';
import { addWorkAndPersonal, simulatorAndSandbox } from './support/sim-sandbox.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-fastpath-alice-1b3d5f7a9c';
const BOB_TOKEN = 'ATATT3xFfGF0-fastpath-bob-8c6a4e2d0b';
const CLIENT_ID = 'fastpath-oauth-consumer';
const CLIENT_SECRET = 'fastpath-oauth-consumer-secret-4f2a';
const LIFETIME_SECONDS = 3600;

const SIM_CONFIG: SimulatorConfig = {
  users: [simUser('alice', ALICE_TOKEN, { acme: 'write' }), simUser('bob', BOB_TOKEN, { personal: 'admin' })],
  accessTokens: [],
  workspaces: { acme: ['widgets'], personal: ['notes'] },
  oauthConsumers: [{ key: CLIENT_ID, secret: CLIENT_SECRET, name: 'fast path tests', family: 'cloud' }],
  oauth: { accessTokenLifetimeSeconds: LIFETIME_SECONDS, consentUser: 'alice' },
};

async function world(t: ExecutionContext): Promise<{ sim: Simulator; sandbox: Sandbox; clock: TestClock; requests(): LoggedRequest[]; socket: string }> {
  const { sim, sandbox } = await simulatorAndSandbox(t, { config: SIM_CONFIG }, { secrets: [ALICE_TOKEN, BOB_TOKEN, CLIENT_SECRET] });
  const clock = new TestClock(sandbox, [sim]);
  const socket = join(sandbox.configHome, 'run', 'git-cache.sock');
  t.teardown(() => {
    // git's own cache daemon, if a test started one on this sandbox's socket (this one only:
    // other test runs on the machine have theirs).
    for (const pid of spawnSync('pgrep', ['-f', `credential-cache--daemon ${socket}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  // A git configuration with no credential helper at all: `install` adds everything.
  writeFileSync(sandbox.env.GIT_CONFIG_GLOBAL!, '[user]\n\tname = Fast Path\n\temail = fast@example.com\n[init]\n\tdefaultBranch = main\n');
  const requests = () => sandbox.requestLog();
  return { sim, sandbox, clock, requests, socket };
}

/** A plain `install`: the fast path is its default. */
async function install(sandbox: Sandbox): Promise<void> {
  const result = await sandbox.cli(['install']);
  if (result.code !== 0) throw new Error(`install failed: ${result.stderr}`);
}

test('install sets up the fast path by default: git clones and pushes with answers from the daemon, without starting Node', async (t) => {
  const { sim, sandbox, requests } = await world(t);
  await addWorkAndPersonal(sandbox, sim, { alice: ALICE_TOKEN, bob: BOB_TOKEN });
  await install(sandbox);
  const helpers = (await sandbox.git(['config', '--global', '--get-all', `credential.${sim.url}.helper`])).stdout.split('\n');
  t.deepEqual(helpers.slice(0, 3), ['', helperWithFastPathValueFor(HELPER, join(sandbox.configHome, 'run', 'git-cache.sock')), ''], 'one helper value after the reset');
  await sandbox.cli(['daemon', 'start']);

  for (const [repo, dir] of [
    ['acme/widgets', 'widgets'],
    ['personal/notes', 'notes'],
  ]) {
    const clone = await sandbox.git(['clone', '-q', `${sim.url}/${repo}.git`, dir!]);
    t.is(clone.code, 0, clone.stderr);
    const cwd = join(sandbox.root, dir!);
    await sandbox.git(['commit', '-q', '--allow-empty', '-m', 'fast'], { cwd });
    const push = await sandbox.git(['push', '-q', 'origin', 'HEAD:main'], { cwd });
    t.is(push.code, 0, push.stderr);
  }
  const gets = requests().filter((request) => request.action === 'get');
  t.true(gets.length >= 4);
  t.deepEqual([...new Set(gets.map((request) => request.channel))], ['fast-path'], 'every get came through git\'s C client');
  t.deepEqual(
    [...new Set(gets.map((request) => request.account))].sort(),
    ['personal', 'work'],
    'routing is the same through the fast path',
  );
  t.true(requests().some((request) => request.action === 'store' && request.channel === 'fast-path' && request.outcome === 'success-recorded'));
  // git sends store to every helper; the installed function hands store to the cache client alone
  // and get to Node only when the cache client brings no answer, so no request at all came
  // through the Node helper: not one Node start-up for these operations.
  t.deepEqual(requests().filter((request) => request.channel !== 'fast-path'), []);
  t.is(sim.stats().failed, 0);
});

/** Our lines on stderr (git's own lines are not ours). */
const ourLines = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('git-credential-bitbucket: '));
/** The request log from entry `from` on, without what only the daemon knows (accounts, reasons). */
const since = (requests: () => LoggedRequest[], from: number) => requests().slice(from).map(({ action, channel, outcome }) => ({ action, channel, outcome }));

test('installed function, daemon up, no account for the repository: the cache client brings nothing, the Node helper says why, git gets no credential', async (t) => {
  const { sim, sandbox, requests } = await world(t);
  await addWorkAndPersonal(sandbox, sim, { alice: ALICE_TOKEN, bob: BOB_TOKEN });
  await install(sandbox);
  await sandbox.cli(['daemon', 'start']);
  const from = requests().length;

  const fill = await sandbox.git(['credential', 'fill'], { input: credentialRequest({ protocol: 'http', host: sim.host, path: 'elsewhere/gadgets.git' }) });
  t.not(fill.code, 0, 'git found no credential and may not prompt');
  t.true(fill.stdout === '', 'git got no credential');
  t.is(ourLines(fill.stderr).length, 1, fill.stderr);
  t.regex(
    ourLines(fill.stderr)[0]!,
    /^git-credential-bitbucket: no route picks one of the accounts work, personal for http:\/\/127\.0\.0\.1:\d+\/elsewhere\/gadgets\.git; add one, e\.g\. `git-credential-bitbucket route add 'http:\/\/127\.0\.0\.1:\d+\/elsewhere\/\*' work`$/,
  );
  t.deepEqual(
    since(requests, from),
    [
      { action: 'get', channel: 'fast-path', outcome: 'unresolved' },
      { action: 'get', channel: 'helper', outcome: 'unresolved' },
    ],
    'the cache client asked first and brought nothing; the same request then went to Node',
  );
});

test('installed function, daemon up: erase goes to the Node helper alone and explains; store goes to the cache client alone', async (t) => {
  const { sim, sandbox, requests } = await world(t);
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  await install(sandbox);
  await sandbox.cli(['daemon', 'start']);
  const credential = credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git', username: 'alice', password: ALICE_TOKEN });

  const before = requests().length;
  const rejected = await sandbox.git(['credential', 'reject'], { input: credential });
  t.is(rejected.code, 0, rejected.stderr);
  t.is(ourLines(rejected.stderr).length, 1, rejected.stderr);
  t.regex(ourLines(rejected.stderr)[0]!, /^git-credential-bitbucket: 127\.0\.0\.1:\d+ refused the API token of account work \(user alice\); the secret was kept\. .*`git-credential-bitbucket account set-secret work --secret-stdin`$/);
  t.deepEqual(since(requests, before), [{ action: 'erase', channel: 'helper', outcome: 'rejection-recorded' }], 'one erase, through Node');

  const beforeStore = requests().length;
  const approved = await sandbox.git(['credential', 'approve'], { input: credential });
  t.is(approved.code, 0, approved.stderr);
  t.is(approved.stderr, '');
  t.deepEqual(since(requests, beforeStore), [{ action: 'store', channel: 'fast-path', outcome: 'success-recorded' }], 'one store, through the cache client, no Node');
});

test('daemon down: the cache client finds nothing, the Node helper starts the daemon, and the fast path serves the next get', async (t) => {
  const { sim, sandbox, requests, socket } = await world(t);
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  await install(sandbox);
  t.deepEqual(sandbox.daemonPids(), []);
  const clone = await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets']);
  t.is(clone.code, 0, clone.stderr);
  t.is(requests().find((request) => request.action === 'get')?.channel, 'helper');
  t.true(existsSync(socket));
  const fetch = await sandbox.git(['fetch', '-q', 'origin'], { cwd: join(sandbox.root, 'widgets') });
  t.is(fetch.code, 0, fetch.stderr);
  t.is(requests().filter((request) => request.action === 'get').at(-1)?.channel, 'fast-path');
});

test('git\'s own cache daemon on the fast-path socket is stopped and replaced when our daemon starts', async (t) => {
  const { sim, sandbox, requests, socket } = await world(t);
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  await install(sandbox);
  // What a `store` through the cache client does while our daemon is down: git starts its daemon.
  const stored = spawnSync('git', ['credential-cache', '--socket', socket, '--timeout', '60', 'store'], {
    env: sandbox.env,
    input: `protocol=http\nhost=${sim.host}\npath=acme/widgets.git\nusername=alice\npassword=${ALICE_TOKEN}\n`,
  });
  t.is(stored.status, 0);
  const foreign = spawnSync('pgrep', ['-f', `credential-cache--daemon ${socket}`], { encoding: 'utf8' }).stdout.trim();
  t.truthy(foreign, "git's cache daemon holds the socket");

  const clone = await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets']);
  t.is(clone.code, 0, clone.stderr);
  await sandbox.cli(['daemon', 'start']);
  const log = readFileSync(join(sandbox.configHome, 'state', 'daemon.log'), 'utf8');
  t.regex(log, /fast path: stopped a git credential-cache daemon that held the socket/);
  t.is(spawnSync('pgrep', ['-f', `credential-cache--daemon ${socket}`], { encoding: 'utf8' }).stdout.trim(), '');
  const fetch = await sandbox.git(['fetch', '-q', 'origin'], { cwd: join(sandbox.root, 'widgets') });
  t.is(fetch.code, 0, fetch.stderr);
  t.is(requests().filter((request) => request.action === 'get').at(-1)?.channel, 'fast-path');
});

test('OAuth through the fast path: across an expiry, one refresh and no failed operation', async (t) => {
  const { sim, sandbox, clock, requests } = await world(t);
  Object.assign(sandbox.env, { GIT_CREDENTIAL_BITBUCKET_BROWSER: FAKE_BROWSER });
  const added = await addOAuthAccount(sandbox, sim.url, { id: CLIENT_ID, secret: CLIENT_SECRET });
  t.is(added.code, 0, added.stderr);
  const login = await sandbox.cli(['login', 'work', '--timeout', '120']);
  t.is(login.code, 0, login.stderr);
  await install(sandbox);
  await sandbox.cli(['daemon', 'start']);
  t.is((await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets'])).code, 0);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 0, 'the token from login served the clone');
  clock.advance(LIFETIME_SECONDS);
  const fetch = await sandbox.git(['fetch', '-q', 'origin'], { cwd: join(sandbox.root, 'widgets') });
  t.is(fetch.code, 0, fetch.stderr);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 1, 'one refresh across the expiry');
  t.is(sim.stats().failed, 0);
  t.true(requests().filter((request) => request.action === 'get').every((request) => request.channel === 'fast-path' && request.outcome === 'answered-oauth'));
  // The issued tokens are secrets too: the teardown tracks what the store holds (support/sim-sandbox.ts).
});

test('sockets in the shared temp directory: --fast-path is refused, a plain install goes on without it and says why', async (t) => {
  const sandbox = new Sandbox();
  // A config home so deep that its run/git-cache.sock is past a socket path's length limit: the
  // daemon then uses /tmp/git-credential-bitbucket-<uid>-<hash>, a name anyone can create first.
  const deep = join(sandbox.root, 'a-config-home-whose-path-is-long-enough'.repeat(2), 'to-push-the-socket-path-over-the-limit');
  sandbox.env.GIT_CREDENTIAL_BITBUCKET_HOME = deep;
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', ALICE_TOKEN);
  const before = readFileSync(sandbox.env.GIT_CONFIG_GLOBAL!, 'utf8');
  const refused = await sandbox.cli(['install', '--fast-path']);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /^git-credential-bitbucket: --fast-path needs a socket directory no other user can take, but the daemon's sockets are in the shared temporary directory \(\/tmp\/git-credential-bitbucket-\d+-[0-9a-f]{8}(-\d+)?\) because .* gives too long a socket path; set XDG_RUNTIME_DIR .*\n$/);
  t.is(readFileSync(sandbox.env.GIT_CONFIG_GLOBAL!, 'utf8'), before);
  // By default install goes on without the fast path and says why in one line; the Node helper
  // it installs checks the directory on every call.
  const installed = await sandbox.cli(['install']);
  t.is(installed.code, 0, installed.stderr);
  const note = installed.stdout.split('\n')[0]!;
  t.regex(note, /^Installing without the fast path: the daemon's sockets are in the shared temporary directory \(\/tmp\/git-credential-bitbucket-\d+-[0-9a-f]{8}(-\d+)?\) because .* gives too long a socket path, where another user could take the socket's name; set XDG_RUNTIME_DIR .* and run install again to get it\.$/);
  t.regex(installed.stdout.split('\n')[1]!, /^Installed git-credential-bitbucket in /);
  const helpers = (await sandbox.git(['config', '--global', '--get-all', 'credential.https://bitbucket.org.helper'])).stdout;
  t.is(helpers, `\n${HELPER}\n`);
  await sandbox.cli(['daemon', 'stop']);
});

test('--no-fast-path installs the Node helper alone; a later plain install adds the fast path; both flags are refused', async (t) => {
  const { sim, sandbox, requests, socket } = await world(t);
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  const key = `credential.${sim.url}.helper`;
  const helpers = async () => (await sandbox.git(['config', '--global', '--get-all', key])).stdout.split('\n').slice(0, -1);

  const before = readFileSync(sandbox.env.GIT_CONFIG_GLOBAL!, 'utf8');
  const both = await sandbox.cli(['install', '--fast-path', '--no-fast-path']);
  t.is(both.code, 1);
  t.regex(both.stderr, /^git-credential-bitbucket: give --fast-path or --no-fast-path, not both\n$/);
  t.is(readFileSync(sandbox.env.GIT_CONFIG_GLOBAL!, 'utf8'), before);

  const plain = await sandbox.cli(['install', '--no-fast-path']);
  t.is(plain.code, 0, plain.stderr);
  t.deepEqual(await helpers(), ['', HELPER]);
  await sandbox.cli(['daemon', 'start']);
  const clone = await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets']);
  t.is(clone.code, 0, clone.stderr);
  t.deepEqual([...new Set(requests().map((request) => request.channel))], ['helper']);

  const fast = await sandbox.cli(['install']);
  t.is(fast.code, 0, fast.stderr);
  t.regex(fast.stdout, new RegExp(`updated +${key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} = '', then '!f\\(\\) `));
  t.deepEqual(await helpers(), ['', helperWithFastPathValueFor(HELPER, socket)]);
  const fetch = await sandbox.git(['fetch', '-q', 'origin'], { cwd: join(sandbox.root, 'widgets') });
  t.is(fetch.code, 0, fetch.stderr);
  t.is(requests().filter((request) => request.action === 'get').at(-1)?.channel, 'fast-path');

  // And uninstall still removes exactly what install added.
  t.is((await sandbox.cli(['uninstall'])).code, 0);
  t.is(readFileSync(sandbox.env.GIT_CONFIG_GLOBAL!, 'utf8'), before);
});

test('Windows keeps the Node helper alone: no fast path by default, a note for --fast-path', (t) => {
  // Git for Windows' credential-cache has no Unix sockets; this runs on every platform.
  const paths = { cacheSocketPath: '/run/user/1000/git-credential-bitbucket/git-cache.sock', runtimeInSharedTemp: false, runtimeDir: '/run/user/1000/git-credential-bitbucket', configDir: '/home/u/.config/git-credential-bitbucket' };
  const helperPath = 'C:\\Users\\u\\AppData\\Roaming\\npm\\node_modules\\git-credential-bitbucket\\dist\\helper\\git-credential-bitbucket.cjs';
  const plain = { helper: helperValueFor(helperPath, 'win32') };
  t.deepEqual(helperChainFor({ helperPath, choice: 'default', paths, platform: 'win32' }), plain);
  t.deepEqual(helperChainFor({ helperPath, choice: 'off', paths, platform: 'win32' }), plain);
  t.deepEqual(helperChainFor({ helperPath, choice: 'on', paths, platform: 'win32' }), {
    ...plain,
    note: 'The fast path needs Unix sockets in git, which Git for Windows does not have; installing without it.',
  });
  // Linux and macOS: the fast path by default, and --no-fast-path leaves it out.
  for (const platform of ['linux', 'darwin'] as const) {
    t.deepEqual(helperChainFor({ helperPath: '/opt/gcb/h.cjs', choice: 'default', paths, platform }), { helper: helperWithFastPathValueFor('/opt/gcb/h.cjs', paths.cacheSocketPath) }, platform);
    t.deepEqual(helperChainFor({ helperPath: '/opt/gcb/h.cjs', choice: 'off', paths, platform }), { helper: '/opt/gcb/h.cjs' }, platform);
  }
});
