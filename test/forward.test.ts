// `forward` end to end (issue #17): a real sshd on a loopback port, a throwaway second Unix user
// with its own empty HOME as the "remote" side, real git there against the simulator, and the
// local daemon answering through the forwarded socket. Needs root (useradd, sshd): skipped with
// the reason elsewhere, failing under CI=true.

import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Simulator, SimulatorConfig } from '../fixtures/simulator/server.js';
import { cannotCreateUsers, createOtherUser, runAs, type OtherUser } from './support/other-user.js';
import { HELPER, type RunResult, type Sandbox } from './support/sandbox.js';
import { simUser } from './support/sim-fixtures.js';
import { addWorkAndPersonal, simulatorAndSandbox } from './support/sim-sandbox.js';
import { sshdProblem, startSshd, type Sshd } from './support/sshd.js';
import { waitFor, waitUntil } from './support/wait.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-forward-alice-7c5e3a1f9d';
const BOB_TOKEN = 'ATATT3xFfGF0-forward-bob-2b4d6f8a0c';

const SIM_CONFIG: SimulatorConfig = {
  users: [simUser('alice', ALICE_TOKEN, { acme: 'write' }), simUser('bob', BOB_TOKEN, { personal: 'admin' })],
  accessTokens: [],
  workspaces: { acme: ['widgets'], personal: ['notes'] },
  oauthConsumers: [],
};

interface World {
  sim: Simulator;
  sandbox: Sandbox;
  user: OtherUser;
  /** The remote user's HOME: empty but for a git config that would `store` any credential. */
  home: string;
  sshd: Sshd;
}

const problem = cannotCreateUsers ?? sshdProblem;

function forwardTest(title: string, body: (t: ExecutionContext, world: World) => Promise<void>): void {
  if (!problem) test.serial(title, async (t) => body(t, await world(t)));
  else if (process.env.CI === 'true') test(title, (t) => t.fail(`under CI=true this test must run, not skip: ${problem}`));
  else test.skip(`${title} (skipped: ${problem})`, () => undefined);
}

async function world(t: ExecutionContext): Promise<World> {
  const { sim, sandbox } = await simulatorAndSandbox(t, { config: SIM_CONFIG }, { secrets: [ALICE_TOKEN, BOB_TOKEN] });
  await addWorkAndPersonal(sandbox, sim, { alice: ALICE_TOKEN, bob: BOB_TOKEN });
  const home = mkdtempSync(join(tmpdir(), 'gcb-remote-home-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const user = await createOtherUser(t, { loginHome: home });
  chmodSync(home, 0o700);
  // What a careless remote user has: any credential git hands this helper lands in ~/.git-credentials.
  writeFileSync(join(home, '.gitconfig'), '[credential]\n\thelper = store\n[user]\n\tname = Remote\n\temail = remote@example.com\n[init]\n\tdefaultBranch = main\n');
  chownSync(join(home, '.gitconfig'), user.uid, user.gid);
  const sshd = await startSshd(t, user);
  return { sim, sandbox, user, home, sshd };
}

/** `forward ... -- ssh -F CONFIG remote SCRIPT`, running until the script ends. */
function forwardOverSsh({ sandbox, sshd }: World, forwardArgs: string[], script: string): Promise<RunResult> {
  return sandbox.cli(['forward', ...forwardArgs, '--', 'ssh', '-F', sshd.clientConfig, sshd.host, script]);
}

/** Waits for a file the remote script creates, failing early if the session ends first. */
async function remoteReached(session: Promise<RunResult>, file: string): Promise<void> {
  let ended: RunResult | undefined;
  void session.then((result) => (ended = result));
  await waitUntil(file, () => existsSync(file) || ended !== undefined);
  if (!existsSync(file)) throw new Error(`the forward ended before ${file} (exit ${ended?.code}): ${ended?.stderr}`);
}

/** Remote sh lines: clone `repo` into `dir` and say whether it worked. */
const tryClone = (sim: Simulator, repo: string, dir: string) => `if git clone -q ${sim.url}/${repo}.git ${dir} 2>/dev/null; then echo ${dir}-cloned; else echo ${dir}-refused; fi`;

/** The forward sockets sshd made on the remote side (random names in /tmp) that belong to `user`. */
function remoteSockets(user: OtherUser): string[] {
  return readdirSync('/tmp')
    .filter((name) => /^gcb-fwd-[0-9a-f]{32}\.sock$/.test(name))
    .map((name) => join('/tmp', name))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.uid === user.uid);
}

/** The environment of every process of `user`, for a look for secrets. */
function environments(user: OtherUser): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (statSync(`/proc/${entry}`).uid !== user.uid) continue;
      found.push(readFileSync(`/proc/${entry}/environ`, 'latin1'));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile());
}

function assertNoSecretIn(t: ExecutionContext, texts: Array<[string, string]>): void {
  const leaks = texts.flatMap(([where, text]) => [ALICE_TOKEN, BOB_TOKEN].filter((secret) => text.includes(secret)).map((secret) => `${secret.slice(0, 4)}… in ${where}`));
  t.deepEqual(leaks, [], 'a secret reached the remote side');
}

forwardTest('through `forward --account work -- ssh`, git on the remote host clones and pushes with the local account, gets nothing for another account, and keeps no secret', async (t, w) => {
  const { sim, sandbox, user, home } = w;
  const script = [
    'set -e',
    'cd "$HOME"',
    'export GIT_TERMINAL_PROMPT=0',
    `git clone -q ${sim.url}/acme/widgets.git widgets`,
    'cd widgets && git commit -q --allow-empty -m "from the remote host" && git push -q origin HEAD:main && git fetch -q origin && cd ..',
    tryClone(sim, 'personal/notes', 'notes'),
    // What a hostile remote side could do with the token it got: report it refused.
    `printf 'protocol=http\\nhost=${sim.host}\\npath=acme/widgets.git\\n\\n' | git credential fill | git credential reject`,
    'touch "$HOME/ready"',
    'while [ ! -e "$HOME/release" ]; do sleep 0.1; done',
  ].join('\n');
  const session = forwardOverSsh(w, ['--account', 'work'], script);

  let remoteSocket: string | undefined;
  try {
    await remoteReached(session, join(home, 'ready'));
    const [found, ...more] = remoteSockets(user);
    remoteSocket = found;
    t.truthy(remoteSocket, 'sshd made the forwarded socket');
    t.deepEqual(more, [], 'one socket per session');
    t.is(statSync(remoteSocket!).mode & 0o777, 0o600, 'the remote socket is the remote user\'s alone');
    const envs = environments(user);
    t.true(envs.some((env) => env.includes('GIT_CONFIG_COUNT=3\0')), 'the remote processes were found and carry the git settings');
    assertNoSecretIn(t, envs.map((env, i): [string, string] => [`the environment of remote process #${i}`, env]));
  } finally {
    // Whatever failed above, the remote script ends (a remote command outlives a cut session).
    writeFileSync(join(home, 'release'), '');
  }

  const result = await session;
  t.is(result.code, 0, result.stderr);
  t.true(result.stdout.includes('notes-refused'), 'a repository only another account can reach got a credential');
  t.false(remoteSocket !== undefined && existsSync(remoteSocket), 'the remote socket outlived the session');
  t.false(existsSync(join(home, '.git-credentials')), 'the remote user\'s store helper got our token');
  assertNoSecretIn(t, filesUnder(home).map((file): [string, string] => [file, readFileSync(file, 'latin1')]));

  const opened = readFileSync(join(sandbox.configHome, 'state', 'daemon.log'), 'utf8').split('\n').find((line) => line.includes('"msg":"forward opened"'));
  const local = (JSON.parse(opened!) as { socket: string; forward: string });
  t.regex(local.forward, /^remote-\d+$/);
  t.true(await waitFor(() => !existsSync(local.socket)), 'the local forward socket outlived the session');

  const requests = sandbox.requestLog().filter((request) => request.channel === 'forward');
  t.true(requests.length > 0);
  t.true(requests.every((request) => (request as { forward?: string }).forward === local.forward), 'every request through the forward is logged with its name');
  t.true(requests.some((request) => request.action === 'get' && request.account === 'work' && request.outcome === 'answered'));
  t.true(requests.some((request) => request.action === 'get' && request.account === 'personal' && request.outcome === 'outside-forward'));
  t.true(requests.some((request) => request.action === 'erase' && request.account === 'work' && request.outcome === 'ignored-from-forward'), 'the remote erase is logged');
  t.false(sandbox.requestLog().some((request) => request.action === 'store'), 'store never crosses a forward');
  // The remote erase dropped nothing and marked nothing rejected: the local user is served as before.
  const accounts = JSON.parse((await sandbox.cli(['account', 'list', '--json'])).stdout) as Array<{ name: string; rejectedAt: string | null }>;
  t.is(accounts.find((account) => account.name === 'work')?.rejectedAt, null);
  const localGet = await sandbox.helper('get', `protocol=http\nhost=${sim.host}\npath=acme/widgets.git\n\n`);
  t.true(localGet.stdout.includes(`password=${ALICE_TOKEN}\n`), 'the local secret is still served');
});

forwardTest('two sessions at once each get their own scope, and `forward --list` and `status` show both', async (t, w) => {
  const { sim, sandbox, home } = w;
  const script = (me: string, other: string) =>
    [
      'cd "$HOME" && export GIT_TERMINAL_PROMPT=0',
      `touch ${me}-up && while [ ! -e ${other}-up ]; do sleep 0.1; done`,
      tryClone(sim, 'acme/widgets', `${me}-widgets`),
      tryClone(sim, 'personal/notes', `${me}-notes`),
      `touch ${me}-finished && while [ ! -e release ]; do sleep 0.1; done`,
    ].join('\n');
  const work = forwardOverSsh(w, ['--account', 'work'], script('a', 'b'));
  const personal = forwardOverSsh(w, ['--account', 'personal'], script('b', 'a'));
  try {
    await remoteReached(work, join(home, 'a-finished'));
    await remoteReached(personal, join(home, 'b-finished'));
    const listed = JSON.parse((await sandbox.cli(['forward', '--list', '--json'])).stdout) as Array<{ name: string; accounts: string[] }>;
    t.deepEqual(listed.map((forward) => forward.accounts.join(',')).sort(), ['personal', 'work']);
    const status = await sandbox.cli(['status']);
    t.regex(status.stdout, /Forwards \(2\):\n {2}remote-\d+: account\(s\) (work|personal); socket /);
  } finally {
    writeFileSync(join(home, 'release'), '');
  }

  const [a, b] = await Promise.all([work, personal]);
  t.is(a.code, 0, a.stderr);
  t.is(b.code, 0, b.stderr);
  t.deepEqual(a.stdout.split('\n').filter(Boolean), ['a-widgets-cloned', 'a-notes-refused']);
  t.deepEqual(b.stdout.split('\n').filter(Boolean), ['b-widgets-refused', 'b-notes-cloned']);
  t.true(await waitFor(async () => (await sandbox.cli(['forward', '--list'])).stdout === 'No forwards open.\n'));
});

/** A long-running `forward --socket-only`: its output so far, and its end. */
function socketOnly(sandbox: Sandbox, args: string[]): { output(): string; ended: Promise<RunResult>; interrupt(): void } {
  const child = spawn(process.execPath, [HELPER, 'forward', '--socket-only', ...args], { env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const ended = new Promise<RunResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { output: () => stdout, ended, interrupt: () => child.kill('SIGINT') };
}

forwardTest('`forward --socket-only`: git run as another user with the printed settings works, only with --allow-other-users, and stops once the forward is closed', async (t, { sim, sandbox, user, home }) => {
  const cloneAs = (settings: string, dir: string) =>
    runAs(user, 'sh', ['-c', `${settings}\ncd "$HOME" && git clone -q ${sim.url}/acme/widgets.git ${dir}`], { env: { HOME: home, GIT_TERMINAL_PROMPT: '0' } });
  const settingsOf = (output: string) => output.split('\n').find((line) => line.startsWith('export GIT_CONFIG_COUNT='))!;

  // The default: only this uid may connect.
  const own = socketOnly(sandbox, ['--account', 'work', '--name', 'private']);
  await waitUntil('the private forward\'s settings', () => own.output().includes('export GIT_CONFIG_COUNT='));
  t.regex(own.output(), /Only processes of uid 0 \(and root\) can connect/);
  t.not((await cloneAs(settingsOf(own.output()), 'refused')).code, 0, 'another uid used a forward opened without --allow-other-users');
  own.interrupt();
  const ownEnd = await own.ended;
  t.is(ownEnd.code, 0, ownEnd.stderr);
  t.regex(ownEnd.stdout, /Closed forward private\.\n$/);

  const shared = socketOnly(sandbox, ['--account', 'work', '--name', 'container', '--allow-other-users']);
  await waitUntil('the shared forward\'s settings', () => shared.output().includes('docker run -v '));
  const settings = settingsOf(shared.output());
  const socket = /^Socket: (.+)$/m.exec(shared.output())![1]!;
  const cloned = await cloneAs(settings, 'widgets');
  t.is(cloned.code, 0, cloned.stderr);

  const closed = await sandbox.cli(['forward', '--close', 'container']);
  t.is(closed.code, 0, closed.stderr);
  const end = await shared.ended;
  t.is(end.code, 1);
  t.regex(end.stderr, /forward container was closed/);
  t.true(await waitFor(() => !existsSync(socket)), 'the socket outlived the forward');
  t.not((await cloneAs(settings, 'after')).code, 0, 'git still got credentials after the forward was closed');
  assertNoSecretIn(t, [['the forward\'s output', shared.output() + end.stderr], ...filesUnder(home).map((file): [string, string] => [file, readFileSync(file, 'latin1')])]);
  t.deepEqual(
    sandbox.requestLog().filter((request) => request.channel === 'forward').map((request) => [(request as { forward?: string }).forward, request.outcome]),
    [['container', 'answered']],
    'only the shared forward answered, once',
  );
});
