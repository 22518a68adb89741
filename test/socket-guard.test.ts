// Issue #12: with the runtime directory loosened to 0755 and the sockets to 0666, another Unix
// user received a secret on the main socket and on the fast path. Node exposes no SO_PEERCRED, so
// the daemon re-checks its runtime directory and both sockets on every connection it accepts.
// These tests loosen a sandbox the way a careless `chmod -R` would and ask as a throwaway second
// Unix user (created with useradd, run through setpriv), which needs root: elsewhere they are
// skipped with the reason, and under CI=true they fail instead.

import test, { type ExecutionContext } from 'ava';
import { chmodSync, chownSync, existsSync, lstatSync, readFileSync, renameSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { WIRE_VERSION } from '../src/shared/wire.js';
import { runAs, type OtherUser } from './support/other-user.js';
import { otherUserTest } from './support/other-user-test.js';
import { Sandbox, credentialRequest } from './support/sandbox.js';
import { waitFor } from './support/wait.js';

const SECRET = 'ATATT3x-socketguard-5e4d3c2b1a09f8e7';
const GET = credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' });
const MAIN_GET = JSON.stringify({ v: WIRE_VERSION, type: 'credential', action: 'get', credential: { protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' } }) + '\n';
const FAST_GET = `action=get\ntimeout=1\n${GET}`;
/** Every wait in these tests ends on an event; this only bounds a test that went wrong. */
const CAP_MS = 30_000;

/**
 * Opens `count` connections to a socket, sends `payload` on each (half-closing after it for the
 * fast path), prints "connected" once all are connected, then one JSON list of what each received.
 */
const CLIENT = `
const net = require('node:net');
const [path, payload, count, mode] = process.argv.slice(1);
const received = [];
let connected = 0;
let closed = 0;
for (let i = 0; i < Number(count); i++) {
  const socket = net.connect(path);
  received[i] = '';
  socket.on('connect', () => {
    socket.write(payload);
    if (mode === 'half-close') socket.end();
    if (++connected === Number(count)) process.stdout.write('connected\\n');
  });
  socket.on('data', (chunk) => {
    received[i] += chunk;
    if (mode === 'line' && received[i].includes('\\n')) socket.destroy();
  });
  socket.on('error', (error) => (received[i] += '<' + error.code + '>'));
  socket.on('close', () => {
    if (++closed === Number(count)) process.stdout.write(JSON.stringify(received) + '\\n');
  });
}
`;

/** What each connection of the other user's client received; `whenConnected` runs once all are queued. */
async function otherUserClient(user: OtherUser, socket: string, payload: string, count: number, whenConnected?: () => void): Promise<string[]> {
  let told = false;
  const result = await runAs(user, process.execPath, ['-e', CLIENT, socket, payload, String(count), payload === MAIN_GET ? 'line' : 'half-close'], {
    onStdout: (text) => {
      if (!told && text.startsWith('connected\n')) {
        told = true;
        whenConnected?.();
      }
    },
  });
  const lines = result.stdout.split('\n');
  if (lines[0] !== 'connected') throw new Error(`the other user's client did not connect: ${result.stderr.trim()}`);
  return JSON.parse(lines[1]!) as string[];
}

async function sandboxWithDaemon(t: ExecutionContext): Promise<Sandbox> {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', SECRET);
  const started = await sandbox.cli(['daemon', 'start']);
  if (started.code !== 0) throw new Error(`daemon start failed: ${started.stderr}`);
  return sandbox;
}

const runtimeOf = (sandbox: Sandbox) => join(sandbox.configHome, 'run');
const mainSocketOf = (sandbox: Sandbox) => join(runtimeOf(sandbox), 'daemon.sock');
const fastSocketOf = (sandbox: Sandbox) => join(runtimeOf(sandbox), 'git-cache.sock');
const modeOf = (path: string) => lstatSync(path).mode & 0o777;
const logOf = (sandbox: Sandbox) => readFileSync(join(sandbox.configHome, 'state', 'daemon.log'), 'utf8');

/** What a careless `chmod -R go+rX` and `chmod 666` do: the path to the sockets open to everyone. */
function loosen(sandbox: Sandbox): void {
  for (const dir of [sandbox.root, sandbox.configHome, runtimeOf(sandbox)]) chmodSync(dir, 0o755);
  for (const socket of [mainSocketOf(sandbox), fastSocketOf(sandbox)]) chmodSync(socket, 0o666);
}

/** The directory is private again; the stopped daemon removed its sockets after setting them back, as its log says. */
function assertRepaired(t: ExecutionContext, sandbox: Sandbox): void {
  t.is(modeOf(runtimeOf(sandbox)), 0o700, 'the runtime directory is private again');
  for (const socket of [mainSocketOf(sandbox), fastSocketOf(sandbox)]) {
    if (existsSync(socket)) t.is(modeOf(socket) & 0o077, 0, `${socket} is private again`);
  }
  const refusals = logOf(sandbox).split('\n').filter((line) => line.includes('"msg":"refused a connection'));
  const last = refusals.at(-1) ?? '';
  t.regex(last, /run was mode 0755, set back to 0700/);
  t.regex(last, /daemon\.sock was mode 0666, set back to 0600/);
  t.regex(last, /git-cache\.sock was mode 0666, set back to 0600/);
  t.regex(last, /the daemon stops serving"/);
}

/** The raw wire request as the daemon's own user would send it; what came back before the close. */
function exchange(socketPath: string, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let received = '';
    const cap = setTimeout(() => socket.destroy(), CAP_MS);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.includes('\n')) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(cap);
      resolve(received);
    });
  });
}

otherUserTest('another user gets nothing on either socket once the runtime directory and sockets were loosened, and the modes are repaired', async (t, user) => {
  const sandbox = await sandboxWithDaemon(t);

  loosen(sandbox);
  const main = await otherUserClient(user, mainSocketOf(sandbox), MAIN_GET, 1);
  t.false(main.some((answer) => answer.includes(SECRET)), 'the other user received the secret on the main socket');
  assertRepaired(t, sandbox);
  // The user's own helper is served (by a fresh daemon: see the next test for why).
  t.true((await sandbox.helper('get', GET)).stdout.includes(`password=${SECRET}\n`), 'the owner is served again');

  loosen(sandbox);
  const fast = await runAs(user, 'git', ['credential-cache', '--socket', fastSocketOf(sandbox), 'get'], { input: GET });
  t.false(fast.stdout.includes(SECRET), 'the other user received the secret on the fast path');
  assertRepaired(t, sandbox);
  t.true((await sandbox.helper('get', GET)).stdout.includes(`password=${SECRET}\n`), 'the owner is served again');
});

otherUserTest('connections another user queued while the directory was loose are not answered after the repair', async (t, user) => {
  const sandbox = await sandboxWithDaemon(t);
  const [pid] = sandbox.daemonPids();
  loosen(sandbox);
  // A stopped daemon accepts nothing: every connection waits in the listen backlog, and all of
  // them are accepted in one go when it continues, the first one finding the loose modes.
  process.kill(pid!, 'SIGSTOP');
  let queued = 0;
  let resumed = false;
  const resume = () => {
    if (++queued < 2 || resumed) return;
    resumed = true;
    process.kill(pid!, 'SIGCONT');
  };
  let results: string[][];
  try {
    results = await Promise.all([
      otherUserClient(user, mainSocketOf(sandbox), MAIN_GET, 4, resume),
      otherUserClient(user, fastSocketOf(sandbox), FAST_GET, 4, resume),
    ]);
  } finally {
    // A client that failed before all were queued must not leave the daemon stopped.
    if (!resumed) process.kill(pid!, 'SIGCONT');
  }
  const answered = results.flat().filter((answer) => answer.includes(SECRET)).length;
  t.is(answered, 0, `${answered} of 8 queued connections of the other user received the secret`);
  assertRepaired(t, sandbox);
  t.true((await sandbox.helper('get', GET)).stdout.includes(`password=${SECRET}\n`), 'the owner is served again');
});

otherUserTest('a runtime directory that now belongs to another user: the daemon answers nothing and stops serving', async (t, user) => {
  const sandbox = await sandboxWithDaemon(t);
  const [pid] = sandbox.daemonPids();
  chownSync(runtimeOf(sandbox), user.uid, user.gid);
  const fast = await sandbox.git(['credential-cache', '--socket', fastSocketOf(sandbox), 'get'], { input: GET, secretOutput: true });
  t.false(fast.stdout.includes(SECRET), 'the fast path answered from a directory another user owns');
  t.true(await waitFor(() => !sandbox.daemonPids().includes(pid!)), 'the daemon still runs');
  t.regex(logOf(sandbox), /"msg":"refused a connection: .*run belongs to uid \d+/);
});

test('a runtime directory replaced by a symbolic link: the daemon answers nothing and stops serving', async (t) => {
  const sandbox = await sandboxWithDaemon(t);
  const [pid] = sandbox.daemonPids();
  const runtime = runtimeOf(sandbox);
  renameSync(runtime, `${runtime}.moved`);
  symlinkSync(`${runtime}.moved`, runtime);
  const answer = await exchange(mainSocketOf(sandbox), MAIN_GET);
  t.false(answer.includes(SECRET), 'the daemon answered through a symbolic link');
  t.is(answer, '');
  t.true(await waitFor(() => !sandbox.daemonPids().includes(pid!)), 'the daemon still runs');
  t.regex(logOf(sandbox), /"msg":"refused a connection: .*run is a symbolic link/);
});
