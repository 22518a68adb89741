// Starting the daemon when something is in the way (issue #12): a state directory it may not
// create, leftovers of killed processes (locks, a directory where the socket goes), and the
// predictable /tmp fallback directory that another user may have taken first. Nothing here is
// timed: each test waits for an outcome under a start timeout far longer than the outcome needs,
// so only the behaviour under test (not a stale-lock age or a timeout) can produce it.

import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinModules } from 'node:module';
import { DaemonStart } from '../src/client/daemon-start.js';
import { tryLock } from '../src/shared/holder-lock.js';
import { productPaths } from '../src/shared/paths.js';
import { HELPER, REPO_ROOT, Sandbox, credentialRequest, type RunResult } from './support/sandbox.js';

const SECRET = 'ATATT3x-startuptest-5e4d3c2b1a09';
const GET = credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' });
const DAEMON = join(REPO_ROOT, 'dist', 'daemon', 'daemon.cjs');
const HOLDER_LOCK = pathToFileURL(join(REPO_ROOT, 'dist', 'shared', 'holder-lock.js')).href;
/** Far beyond what any outcome here needs; reaching it means the behaviour under test failed. */
const PATIENT = { GIT_CREDENTIAL_BITBUCKET_START_TIMEOUT_MS: '60000' };
const ANSWER = `username=alice\npassword=${SECRET}\n`;
const isRoot = process.getuid?.() === 0;

async function sandboxWithAccount(env?: NodeJS.ProcessEnv): Promise<Sandbox> {
  const sandbox = new Sandbox(env ? { env } : {});
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', SECRET);
  return sandbox;
}

/** A process that takes `locks` the way the product does and keeps them until it is killed. */
async function lockHolder(locks: string[]): Promise<ChildProcess> {
  const script = `const { tryLock } = await import(${JSON.stringify(HOLDER_LOCK)});
for (const lock of ${JSON.stringify(locks)}) if (!tryLock(lock, 120000)) process.exit(3);
process.stdout.write('held\\n');
setInterval(() => {}, 1 << 30);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  if (chunk.toString() !== 'held\n') throw new Error('the lock holder could not take its locks');
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** Locks left by a process killed while holding them, dated in the future: no age test can call them stale. */
async function leaveStaleLocks(locks: string[]): Promise<void> {
  await kill(await lockHolder(locks));
  const future = new Date(Date.now() + 3600_000);
  for (const lock of locks) utimesSync(lock, future, future);
}

function runDaemonDirectly(sandbox: Sandbox): Promise<RunResult> {
  return sandbox.run(process.execPath, [DAEMON]);
}

const NOBODY = 65534;
/**
 * Why the helper cannot be run as another user here: it needs root, and that user must reach
 * the built helper, the daemon and the packages (a checkout inside a 0700 directory, such as a
 * `mktemp -d` clone, is out of its reach).
 */
function otherUserUnavailableReason(): string | undefined {
  if (!isRoot) return 'needs root to run the helper as another user (root itself may write anywhere)';
  const needed = [HELPER, join(REPO_ROOT, 'dist', 'daemon', 'daemon.cjs'), join(REPO_ROOT, 'package.json')];
  const reachable = spawnSync('sh', ['-c', 'for f; do test -r "$f" || exit 1; done', 'sh', ...needed], { uid: NOBODY, gid: NOBODY }).status === 0;
  return reachable ? undefined : `uid ${NOBODY} cannot read this checkout (${REPO_ROOT} is inside a directory only its owner may enter)`;
}
const otherUserProblem = otherUserUnavailableReason();

(otherUserProblem ? test.skip : test)(`a state directory the daemon may not create (EACCES): the helper says so at once and names no log${otherUserProblem ? ` [skipped: ${otherUserProblem}]` : ''}`, async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  // The config home belongs to root; only its socket directory is the user's, so the daemon,
  // running as that user, can create its socket directory's contents but not `state`.
  const nobody = NOBODY;
  chmodSync(sandbox.root, 0o755);
  mkdirSync(sandbox.configHome, { mode: 0o755 });
  const runtime = join(sandbox.configHome, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  chownSync(runtime, nobody, nobody);
  chownSync(sandbox.home, nobody, nobody);
  const helper = spawn(HELPER, ['get'], { uid: nobody, gid: nobody, cwd: sandbox.home, env: { ...sandbox.env, ...PATIENT }, stdio: 'pipe' });
  helper.stdin.end(GET);
  let stdout = '';
  let stderr = '';
  helper.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  helper.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(helper, 'close')) as [number];
  t.is(code, 0);
  t.is(stdout, '');
  const state = join(sandbox.configHome, 'state');
  t.is(
    stderr,
    `git-credential-bitbucket: the daemon could not start: cannot create ${state}: EACCES (permission denied); make ${sandbox.configHome} writable for you; git will ask elsewhere\n`,
  );
  t.false(existsSync(state));
});

test('helpers waiting for a daemon another helper is starting learn at once why it cannot start', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  writeFileSync(join(sandbox.configHome, 'state'), 'not a directory');
  const runtime = join(sandbox.configHome, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  // Another helper is starting the daemon: it holds the spawn lock and stays alive, so the
  // helper under test waits rather than starting a daemon itself.
  const starter = await lockHolder([join(runtime, 'spawn.lock')]);
  t.teardown(() => kill(starter));
  const waiting = sandbox.helper('get', GET, { env: PATIENT });
  let done = false;
  void waiting.then(() => (done = true));
  // The daemons that helper would wait for: each fails and says why. One that fails after the
  // helper began waiting is the news it waits for (the helper ignores reports from before).
  while (!done) {
    const daemon = await runDaemonDirectly(sandbox);
    t.is(daemon.code, 1);
  }
  const answer = await waiting;
  t.is(answer.stdout, '');
  t.regex(
    answer.stderr,
    /^git-credential-bitbucket: the daemon could not start: cannot create \S+\/state: EEXIST \(a file stands where a directory must be\); move it away; git will ask elsewhere\n$/,
  );
  t.deepEqual(sandbox.daemonPids(), []);
});

test('locks left by killed processes, however young, cost a cold get nothing', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  const runtime = join(sandbox.configHome, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const spawnLock = join(runtime, 'spawn.lock');
  const daemonLock = join(runtime, 'daemon.lock');
  // What a helper and a daemon killed while holding their locks leave behind.
  await leaveStaleLocks([spawnLock, daemonLock]);
  const answer = await sandbox.helper('get', GET);
  t.is(answer.stdout, ANSWER, answer.stderr);
  t.is(answer.stderr, '');
  t.false(existsSync(spawnLock));
  t.false(existsSync(daemonLock));
  await sandbox.cli(['daemon', 'stop']);

  // What an earlier version left: an empty spawn.lock and proper-lockfile's lock directory.
  writeFileSync(spawnLock, '');
  mkdirSync(daemonLock);
  const future = new Date(Date.now() + 3600_000);
  for (const lock of [spawnLock, daemonLock]) utimesSync(lock, future, future);
  const again = await sandbox.helper('get', GET);
  t.is(again.stdout, ANSWER, again.stderr);
  t.false(existsSync(daemonLock));
  t.is(sandbox.daemonPids().length, 1);
});

test('a spawn lock held by a running helper is respected: no second daemon is started', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  const runtime = join(sandbox.configHome, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const starter = await lockHolder([join(runtime, 'spawn.lock')]);
  t.teardown(() => kill(starter));
  const answer = await sandbox.helper('get', GET, { env: { GIT_CREDENTIAL_BITBUCKET_START_TIMEOUT_MS: '1000' } });
  t.is(answer.stdout, '');
  t.regex(answer.stderr, /^git-credential-bitbucket: the daemon did not start within 1 s; git will ask elsewhere\n$/);
  t.deepEqual(sandbox.daemonPids(), []);
  await kill(starter);
  t.is((await sandbox.helper('get', GET)).stdout, ANSWER);
});

for (const [socket, make, what] of [
  ['daemon.sock', (path: string) => mkdirSync(path), 'a directory'],
  ['git-cache.sock', (path: string) => writeFileSync(path, 'not a socket'), 'a file'],
] as const) {
  test(`${what} at ${socket}: one line at once from the helper and from the daemon, and it is left alone`, async (t) => {
    const sandbox = await sandboxWithAccount();
    t.teardown(() => sandbox.cleanup());
    const runtime = join(sandbox.configHome, 'run');
    mkdirSync(runtime, { mode: 0o700 });
    const path = join(runtime, socket);
    make(path);
    const expected = `${path} is ${what}, not the daemon's socket; remove it (the daemon creates its socket there)`;
    const answer = await sandbox.helper('get', GET, { env: PATIENT });
    t.is(answer.stdout, '');
    t.is(answer.stderr, `git-credential-bitbucket: ${expected}; git will ask elsewhere\n`);
    t.deepEqual(sandbox.daemonPids(), []);
    // A daemon started some other way refuses it too, and tells the helpers.
    const daemon = await runDaemonDirectly(sandbox);
    t.is(daemon.code, 1);
    const log = join(sandbox.configHome, 'state', 'daemon.log');
    t.is(daemon.stderr, `git-credential-bitbucket: the daemon could not start: ${expected} (its log: ${log})\n`);
    t.true(readFileSync(join(runtime, 'start-failure'), 'utf8').includes(expected));
    t.true(existsSync(path), 'what was there is left alone');
    rmSync(path, { recursive: true });
    t.is((await sandbox.helper('get', GET)).stdout, ANSWER);
    t.false(existsSync(join(runtime, 'start-failure')), 'a daemon that started removes the old report');
  });
}

test('a daemon started directly never follows a link at its socket directory', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  const victim = mkdtempSync(join(sandbox.root, 'victim-'));
  chmodSync(victim, 0o755);
  symlinkSync(victim, join(sandbox.configHome, 'run'));
  const daemon = await runDaemonDirectly(sandbox);
  t.is(daemon.code, 1);
  t.regex(daemon.stderr, /^git-credential-bitbucket: the daemon could not start: refusing the socket directory \S+\/run: it is a symbolic link; remove it\n$/);
  t.is(statSync(victim).mode & 0o777, 0o755);
  t.deepEqual(readdirSync(victim), []);
});

test('the /tmp fallback: a link or another user\'s directory at the usual name is passed over, never followed', async (t) => {
  // A config home so deep that its socket path would not fit: the sockets go under /tmp.
  const root = mkdtempSync(join(tmpdir(), 'gcb-deep-'));
  const home = join(root, 'd'.repeat(100));
  const sandbox = await sandboxWithAccount({ GIT_CREDENTIAL_BITBUCKET_HOME: home });
  const usual = productPaths(sandbox.env).runtimeDir;
  const [second, third] = [`${usual}-1`, `${usual}-2`];
  t.teardown(async () => {
    await sandbox.cleanup();
    for (const path of [root, usual, second, third]) rmSync(path, { recursive: true, force: true });
  });
  t.false(usual.startsWith(root), usual);

  // Another user's link to a directory of ours.
  const victim = mkdtempSync(join(sandbox.root, 'victim-'));
  chmodSync(victim, 0o755);
  writeFileSync(join(victim, 'notes.txt'), 'mine\n');
  symlinkSync(victim, usual);
  const viaLink = await sandbox.helper('get', GET);
  t.is(viaLink.stdout, ANSWER, viaLink.stderr);
  t.is(statSync(victim).mode & 0o777, 0o755);
  t.deepEqual(readdirSync(victim), ['notes.txt']);
  t.is(readlinkSync(usual), victim);
  t.is(productPaths(sandbox.env).runtimeDir, second);
  t.true(lstatSync(join(second, 'daemon.sock')).isSocket());
  t.is(lstatSync(second).mode & 0o777, 0o700);
  await sandbox.cli(['daemon', 'stop']);

  if (!isRoot) return;
  // Another user's directory (made as root, given to another uid) at the usual name and the next.
  rmSync(usual);
  rmSync(second, { recursive: true });
  for (const path of [usual, second]) {
    mkdirSync(path, { mode: 0o700 });
    chownSync(path, 4242, 4242);
  }
  const pastForeign = await sandbox.helper('get', GET);
  t.is(pastForeign.stdout, ANSWER, pastForeign.stderr);
  for (const path of [usual, second]) {
    t.deepEqual(readdirSync(path), []);
    t.is(lstatSync(path).uid, 4242);
  }
  t.true(lstatSync(join(third, 'daemon.sock')).isSocket());
});

test('the daemon a helper starts is the bundle, with no V8 flag on its command line', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  const answer = await sandbox.helper('get', GET);
  t.is(answer.stdout, ANSWER, answer.stderr);
  const [pid] = sandbox.daemonPids();
  t.truthy(pid);
  // Any V8 flag would make V8 refuse the code cache of Node's own modules (daemon/memory.ts).
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  t.deepEqual(argv, [process.execPath, DAEMON]);
});

test('the daemon bundle loads nothing at start but Node built-ins; undici waits for the first network call', (t) => {
  // The native keychain module comes in through createRequire when first used; everything else is inside.
  const bundle = readFileSync(DAEMON, 'utf8');
  const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]!);
  t.true(required.length > 0);
  t.deepEqual(required.filter((specifier) => !specifier.startsWith('node:') && !builtinModules.includes(specifier)), []);
  // undici (the network stack, 800 KB) only with the first network call: an OAuth refresh, not a static secret.
  // (Built-ins the network code needs, such as node:tls for handed-over CAs, may come with it.)
  const imported = [...bundle.matchAll(/\bimport\("([^"]+)"\)/g)].map((match) => match[1]!);
  t.deepEqual(imported.filter((specifier) => !specifier.startsWith('node:')), ['undici']);
});

test('a helper waiting for the daemon wakes when the socket directory changes, not at the next poll', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'gcb-wait-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const paths = productPaths({ GIT_CREDENTIAL_BITBUCKET_HOME: root });
  mkdirSync(paths.runtimeDir, { recursive: true, mode: 0o700 });
  // Another helper is starting the daemon: this one only waits (and spawns nothing).
  t.true(tryLock(paths.spawnLock, 120_000));
  // A poll far beyond the test's timeout: only the directory watch can end the wait.
  const start = new DaemonStart(paths, { pollMs: 3_600_000 });
  t.teardown(() => start.release());
  start.spawnUnlessStarting();
  t.is(start.failure(), undefined);
  const woken = start.nextChange(3_600_000);
  writeFileSync(join(paths.runtimeDir, 'daemon.sock'), ''); // what bind() does, as far as the directory shows
  await woken;
  t.pass();
});
