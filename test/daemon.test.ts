// The daemon's life: one per user, racing starts, stale sockets, idle exit, permissions,
// hostile clients, and a corrupt config file.

import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { WIRE_VERSION } from '../src/shared/wire.js';
import { assertAnswer, masked } from './support/answers.js';
import { Sandbox, credentialRequest, REPO_ROOT } from './support/sandbox.js';
import { WAIT_CAP_MS, waitFor } from './support/wait.js';

const SECRET = 'ATATT3x-daemontest-9b8c7d6e5f4a3b2c';
const GET = credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' });
const DAEMON = join(REPO_ROOT, 'dist', 'daemon', 'daemon.cjs');

async function sandboxWithAccount(): Promise<Sandbox> {
  const sandbox = new Sandbox();
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', SECRET);
  return sandbox;
}

/**
 * Sends raw bytes to the daemon socket and returns its answer line, or what came before the
 * connection closed. Waits as long as the daemon takes (a loaded machine is slow), up to a cap.
 */
function rawExchange(socketPath: string, payload: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.includes('\n')) socket.destroy();
    });
    socket.on('error', () => resolve(received));
    socket.on('close', () => resolve(received));
    socket.on('connect', () => socket.write(payload));
    socket.setTimeout(WAIT_CAP_MS, () => {
      socket.destroy();
      resolve(`${received}(no answer within ${WAIT_CAP_MS / 1000} s)`);
    });
  });
}

const socketOf = (sandbox: Sandbox) => join(sandbox.configHome, 'run', 'daemon.sock');

/** A hung daemon: it accepts on the daemon socket, reads every request and never answers. */
async function listenWithoutAnswering(t: ExecutionContext, sandbox: Sandbox): Promise<void> {
  mkdirSync(join(sandbox.configHome, 'run'), { recursive: true, mode: 0o700 });
  const connections: Socket[] = [];
  const silent = createServer((socket) => {
    connections.push(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => silent.listen(socketOf(sandbox), resolve));
  t.teardown(() => {
    for (const socket of connections) socket.destroy();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
}

test('daemon start, status and stop', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  const stopped = await sandbox.cli(['daemon', 'status', '--json']);
  t.is(stopped.code, 3);
  t.false(JSON.parse(stopped.stdout).running);
  t.is((await sandbox.cli(['daemon', 'start'])).code, 0);
  const status = JSON.parse((await sandbox.cli(['daemon', 'status', '--json'])).stdout);
  t.true(status.running);
  t.deepEqual(sandbox.daemonPids(), [status.pid]);
  t.is(status.configDir, sandbox.configHome);
  const stop = await sandbox.cli(['daemon', 'stop']);
  t.regex(stop.stdout, new RegExp(`Stopped the daemon \\(pid ${status.pid}\\)`));
  // "Stopped" means the process is gone, not only its sockets.
  t.deepEqual(sandbox.daemonPids(), []);
  t.false(existsSync(socketOf(sandbox)));
});

test('the socket directory, socket, config, secrets and log are the user\'s alone', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  await sandbox.helper('get', GET);
  const mode = (path: string) => statSync(path).mode & 0o777;
  t.is(mode(join(sandbox.configHome, 'run')), 0o700);
  t.is(mode(socketOf(sandbox)) & 0o077, 0);
  t.is(mode(sandbox.configHome), 0o700);
  t.is(mode(join(sandbox.configHome, 'config.json')), 0o600);
  t.is(mode(join(sandbox.configHome, 'secrets.json')), 0o600);
  t.is(mode(join(sandbox.configHome, 'state', 'daemon.log')), 0o600);
  t.false(readFileSync(join(sandbox.configHome, 'config.json'), 'utf8').includes(SECRET));
});

test('daemons racing at start-up: exactly one serves, the others exit cleanly', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  const children = Array.from({ length: 6 }, () => spawn(process.execPath, [DAEMON], { env: sandbox.env, stdio: 'ignore' }));
  const exits = new Map<number, number | null>();
  for (const child of children) child.on('exit', (code) => exits.set(child.pid!, code));
  // The losers exit as soon as they see the winner, however long starting took them; the
  // winner serves until it is stopped.
  t.true(await waitFor(() => exits.size >= 5), `${exits.size} of 6 daemons exited`);
  t.deepEqual([...exits.values()], [0, 0, 0, 0, 0], 'the losers exit cleanly');
  const winner = children.find((child) => !exits.has(child.pid!))!;
  t.deepEqual(sandbox.daemonPids(), [winner.pid!]);
  const answer = await sandbox.helper('get', GET);
  t.regex(masked(answer.stdout), /^username=alice\n/);
  t.is(JSON.parse((await sandbox.cli(['daemon', 'status', '--json'])).stdout).pid, winner.pid, 'the winner answered');
});

test('a daemon killed with SIGKILL leaves a stale socket that the next request replaces', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  await sandbox.helper('get', GET);
  const [first] = sandbox.daemonPids();
  process.kill(first!, 'SIGKILL');
  t.true(await waitFor(() => !sandbox.daemonPids().includes(first!)));
  t.true(existsSync(socketOf(sandbox)), 'the killed daemon left its socket file behind');
  const answer = await sandbox.helper('get', GET);
  assertAnswer(t, answer.stdout, `username=alice\npassword=${SECRET}\n`);
  const pids = sandbox.daemonPids();
  t.is(pids.length, 1);
  t.not(pids[0], first);
  t.regex(readFileSync(join(sandbox.configHome, 'state', 'daemon.log'), 'utf8'), /replaced a stale socket/);
});

test('the daemon exits after its idle time and the next request starts a new one', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  // Started directly, not by a helper: with one second of idle time a helper on a loaded
  // machine might reach it only after it left.
  const idle = spawn(process.execPath, [DAEMON], { env: { ...sandbox.env, GIT_CREDENTIAL_BITBUCKET_IDLE_TIMEOUT: '1' }, stdio: 'ignore' });
  const log = join(sandbox.configHome, 'state', 'daemon.log');
  const logged = (pattern: RegExp) => existsSync(log) && pattern.test(readFileSync(log, 'utf8'));
  t.true(await waitFor(() => logged(new RegExp(`"pid":${idle.pid},.*"msg":"daemon started"`))), 'the daemon started');
  t.true(await waitFor(() => idle.exitCode !== null), 'the daemon is still running after its idle time');
  t.is(idle.exitCode, 0);
  t.true(logged(new RegExp(`"pid":${idle.pid},.*"reason":"idle timeout"`)), 'it left because it was idle');
  t.false(existsSync(socketOf(sandbox)));
  const answer = await sandbox.helper('get', GET);
  t.regex(masked(answer.stdout), /^username=alice\n/);
  const [next] = sandbox.daemonPids();
  t.true(next !== undefined && next !== idle.pid, 'a new daemon answered');
});

test('hostile clients get an error answer and the daemon keeps serving', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  await sandbox.cli(['daemon', 'start']);
  const [pid] = sandbox.daemonPids();
  const socket = socketOf(sandbox);
  t.regex(await rawExchange(socket, 'not json\n'), /"code":"bad-request"/);
  t.regex(await rawExchange(socket, `{"v":${WIRE_VERSION},"type":"credential","action":"get","credential":{"host":["x"]}}\n`), /"code":"bad-request"/);
  t.regex(await rawExchange(socket, `{"v":${WIRE_VERSION},"type":"credential","action":"get","credential":{"host":"a\\nb"}}\n`), /"code":"bad-request"/);
  t.regex(await rawExchange(socket, `{"v":${WIRE_VERSION},"type":"launch-missiles"}\n`), /"code":"bad-request"/);
  t.regex(await rawExchange(socket, Buffer.alloc(300 * 1024, 'x')), /"code":"too-large"/);
  t.deepEqual(sandbox.daemonPids(), [pid!]);
  const answer = await sandbox.helper('get', GET);
  t.regex(masked(answer.stdout), /^username=alice\n/);
});

test('a helper of another wire version makes the old daemon hand over to a new one', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  await sandbox.cli(['daemon', 'start']);
  const [old] = sandbox.daemonPids();
  t.regex(await rawExchange(socketOf(sandbox), '{"v":999,"type":"ping"}\n'), /"code":"version-mismatch"/);
  t.true(await waitFor(() => !sandbox.daemonPids().includes(old!)));
  const answer = await sandbox.helper('get', GET);
  t.regex(masked(answer.stdout), /^username=alice\n/);
});

test('a corrupt config.json is named in the error and left byte-for-byte unchanged', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  const file = join(sandbox.configHome, 'config.json');
  const corrupt = Buffer.from('{"version": 1, "accounts": [ {"name": "work", \n  oops');
  writeFileSync(file, corrupt);

  const get = await sandbox.helper('get', GET);
  t.is(masked(get.stdout), '');
  t.true(get.stderr.includes(`${file}: is not valid JSON`), get.stderr);
  for (const args of [['account', 'list'], ['route', 'add', 'https://bitbucket.org/acme/*', 'work'], ['status']]) {
    const result = await sandbox.cli(args);
    t.is(result.code, 1, args.join(' '));
    t.true(result.stderr.includes(file), result.stderr);
  }
  const add = await sandbox.cli(['account', 'add', 'other', '--url', 'https://bitbucket.org', '--username', 'bob', '--secret-stdin', '--no-verify'], { input: 'ATATT3x-never-stored-1234567\n' });
  t.is(add.code, 1);
  t.deepEqual(readFileSync(file), corrupt);
  t.false(readFileSync(join(sandbox.configHome, 'secrets.json'), 'utf8').includes('never-stored'));
  // Structurally wrong (valid JSON) is reported the same way.
  writeFileSync(file, '{"accounts": [{"name": "x", "kind": "cloud", "url": "https://bitbucket.org", "username": "a", "secret": "ATATT3x-in-config-oops"}]}');
  const secretInConfig = await sandbox.cli(['account', 'list']);
  t.regex(secretInConfig.stderr, /holds a secret; secrets belong in the secret store/);
  t.false(secretInConfig.stderr.includes('ATATT3x-in-config-oops'));
});

test('a relative GIT_CREDENTIAL_BITBUCKET_HOME means the same place to the helper and the daemon', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const relative = { GIT_CREDENTIAL_BITBUCKET_HOME: 'gcb' };
  const add = await sandbox.cli(['account', 'add', 'work', '--url', 'https://bitbucket.org', '--username', 'alice', '--secret-stdin', '--no-verify'], { input: SECRET, env: relative });
  t.is(add.code, 0, add.stderr);
  const answer = await sandbox.helper('get', GET, { env: relative });
  assertAnswer(t, answer.stdout, `username=alice\npassword=${SECRET}\n`, answer.stderr);
  t.is(sandbox.daemonPids().length, 1);
});

test('idle timeouts outside the documented range are refused: the environment value is ignored and logged, config.json is an error', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  // 0.001 s once made every get and store fail after 10 s; 3,000,000 s is more than a timer holds.
  for (const value of ['0.001', '3000000']) {
    const env = { GIT_CREDENTIAL_BITBUCKET_IDLE_TIMEOUT: value };
    t.regex(masked((await sandbox.helper('get', GET, { env })).stdout), /^username=alice\n/);
    t.is((await sandbox.helper('store', GET, { env })).code, 0);
    t.is(sandbox.daemonPids().length, 1);
    const log = readFileSync(join(sandbox.configHome, 'state', 'daemon.log'), 'utf8');
    t.true(log.includes(`GIT_CREDENTIAL_BITBUCKET_IDLE_TIMEOUT=${value} was ignored: it must be a number of seconds from 1 to 604800`));
    t.regex(log, /"idleTimeoutSeconds":3600/);
    t.notRegex(log, /idle timeout/);
    await sandbox.cli(['daemon', 'stop']);
    // `daemon stop` returns once the socket is gone; the process may still be finishing.
    t.true(await waitFor(() => sandbox.daemonPids().length === 0), 'the stopped daemon exited');
  }
  const configFile = join(sandbox.configHome, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8'));
  config.daemon = { idleTimeoutSeconds: 0.001 };
  const text = JSON.stringify(config);
  writeFileSync(configFile, text);
  const list = await sandbox.cli(['route', 'list']);
  t.is(list.code, 1);
  t.regex(list.stderr, /config\.json: daemon\.idleTimeoutSeconds must be a number of seconds from 1 to 604800; fix or move the file/);
  t.is(readFileSync(configFile, 'utf8'), text);
});

test('helper timeouts outside their range are named on stderr and not used', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  const answer = await sandbox.helper('get', GET, { env: { GIT_CREDENTIAL_BITBUCKET_ANSWER_TIMEOUT_MS: '0.5' } });
  t.regex(masked(answer.stdout), /^username=alice\n/);
  t.regex(answer.stderr, /GIT_CREDENTIAL_BITBUCKET_ANSWER_TIMEOUT_MS=0\.5 was ignored: it must be a number of milliseconds from 100 to 300000/);
});

test('the helper refuses a socket directory that others can enter, before sending anything', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  const runtime = join(sandbox.configHome, 'run');
  mkdirSync(runtime, { recursive: true });
  chmodSync(runtime, 0o777);
  const answer = await sandbox.helper('get', GET);
  t.is(masked(answer.stdout), '');
  t.regex(answer.stderr, /refusing to use the daemon socket: .*run can be entered by other users/);
  t.deepEqual(sandbox.daemonPids(), []);
  chmodSync(runtime, 0o700);
  t.regex(masked((await sandbox.helper('get', GET)).stdout), /^username=alice\n/);
});

test('a secrets file with loose permissions is tightened back to 0600 on use', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  const secrets = join(sandbox.configHome, 'secrets.json');
  chmodSync(secrets, 0o644);
  t.regex(masked((await sandbox.helper('get', GET)).stdout), /^username=alice\n/);
  t.is(statSync(secrets).mode & 0o777, 0o600);
});

test('a daemon that cannot start: every helper waiting for it prints its one-line reason at once, no stdout', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  // The state directory is a file: the daemon dies at start-up, before it has a log.
  const state = join(sandbox.configHome, 'state');
  writeFileSync(state, 'not a directory');
  // A start timeout far beyond what the failure takes: only the daemon's reason can end the wait.
  const env = { GIT_CREDENTIAL_BITBUCKET_START_TIMEOUT_MS: '60000' };
  const answers = await Promise.all(Array.from({ length: 4 }, () => sandbox.helper('get', GET, { env })));
  for (const answer of answers) {
    t.is(answer.stdout, '');
    t.is(answer.code, 0);
    t.is(
      answer.stderr,
      `git-credential-bitbucket: the daemon could not start: cannot create ${state}: EEXIST (a file stands where a directory must be); move it away; git will ask elsewhere\n`,
    );
  }
  // git then falls through to its prompt (disabled here) and fails cleanly.
  const git = await sandbox.git(['ls-remote', 'https://bitbucket.org/acme/widgets.git'], { env });
  t.not(git.code, 0);
  // Fixed, the next get starts the daemon.
  rmSync(state);
  t.regex((await sandbox.helper('get', GET)).stdout, /^username=alice\n/);
});

test('a daemon that accepts but never answers: the helper gives up after its answer timeout', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  await listenWithoutAnswering(t, sandbox);
  const answer = await sandbox.helper('get', GET, { env: { GIT_CREDENTIAL_BITBUCKET_ANSWER_TIMEOUT_MS: '500' } });
  t.is(masked(answer.stdout), '');
  t.regex(answer.stderr, /^git-credential-bitbucket: the daemon did not answer within 0\.5 s; git will ask elsewhere\n$/);
});

test('a hung daemon holds git for the default answer timeout of 20 s, not a minute', async (t) => {
  const sandbox = await sandboxWithAccount();
  t.teardown(() => sandbox.cleanup());
  await listenWithoutAnswering(t, sandbox);
  const answer = await sandbox.helper('get', GET);
  t.is(answer.stdout, '');
  t.regex(answer.stderr, /^git-credential-bitbucket: the daemon did not answer within 20 s; git will ask elsewhere\n$/);
});
