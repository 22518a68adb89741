// The pieces of `forward` that need no ssh: how the ssh command line is read, and the remote
// command run by a real POSIX shell (the git settings it exports, the line for a git too old to
// read them), the refusals that open nothing, and a forward process killed.

import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSshCommand, remoteCommand } from '../src/cli/forward-remote.js';
import { HELPER, Sandbox } from './support/sandbox.js';
import { waitFor, waitUntil } from './support/wait.js';

test('the ssh command line: options before and after the host, their arguments, and the remote command', (t) => {
  t.deepEqual(parseSshCommand(['ssh', '-p', '2222', '-tA', '-oUser=me', 'box', 'make', '-j2']), { program: 'ssh', options: ['-p', '2222', '-tA', '-oUser=me'], host: 'box', command: 'make -j2' });
  t.deepEqual(parseSshCommand(['ssh', 'box', '-v', 'ls']), { program: 'ssh', options: ['-v'], host: 'box', command: 'ls' });
  t.deepEqual(parseSshCommand(['ssh', '-i', 'key', '--', 'box']), { program: 'ssh', options: ['-i', 'key'], host: 'box', command: undefined });
  t.throws(() => parseSshCommand(['ssh', '-p']), { message: /-p needs an argument/ });
  t.throws(() => parseSshCommand(['ssh', '-v']), { message: /no host/ });
  for (const flag of ['-N', '-f', '-M', '-S', '-O', '-W']) t.throws(() => parseSshCommand(['ssh', flag, 'x', 'box']), { message: new RegExp(`ssh ${flag} `) }, flag);
});

/** The remote command as sshd runs it (through a shell), with `git` first found in `bin`. */
function runRemote(command: string, bin: string): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync('sh', ['-c', command], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, SHELL: '/bin/sh', HOME: bin } });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

test('the remote command gives the user\'s command the git settings, keeps its exit status, and removes the socket file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-remote-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, "it's.sock");
  writeFileSync(socket, '');
  const result = runRemote(remoteCommand(socket, `git config --get-all credential.helper; git config credential.useHttpPath; exit 7`), dir);
  t.is(result.status, 7);
  t.is(result.stderr, '');
  t.deepEqual(result.stdout.split('\n'), ['', `!f() { test "$1" = store || exec git credential-cache --socket '${socket.replace("'", "'\\''")}' "$@"; }; f`, 'true', '']);
  t.false(spawnSync('test', ['-e', socket]).status === 0, 'the socket file is left behind');
});

test('a git older than 2.31 on the remote host gets one line saying so', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-remote-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [version, old] of [['2.30.9', true], ['2.9.5', true], ['1.8.3.1', true], ['2.31.0', false], ['2.39.5', false]] as const) {
    writeFileSync(join(dir, 'git'), `#!/bin/sh\necho "git version ${version}"\n`);
    chmodSync(join(dir, 'git'), 0o755);
    const result = runRemote(remoteCommand(join(dir, 'sock'), 'true'), dir);
    t.is(result.status, 0);
    if (old) t.is(result.stderr, `git-credential-bitbucket forward: git version ${version} here is older than 2.31, which reads the forwarded credential helper from GIT_CONFIG_COUNT; upgrade git on this host\n`);
    else t.is(result.stderr, '', version);
  }
});

test('without --account and without a terminal, or with an unknown account, nothing is forwarded', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', 'ATATT3x-forward-refusal-0a1b2c3d4e');
  const unnamed = await sandbox.cli(['forward', '--', 'ssh', 'box']);
  t.is(unnamed.code, 1);
  t.is(unnamed.stderr, 'git-credential-bitbucket: name the accounts to forward with --account NAME (once per account); without a terminal to confirm them on, none is forwarded\n');
  const unknown = await sandbox.cli(['forward', '--socket-only', '--account', 'nope']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /^git-credential-bitbucket: forward socket-\d+: no account named nope; see `git-credential-bitbucket account list`\n$/);
  t.is((await sandbox.cli(['forward', '--list'])).stdout, 'No forwards open.\n');
  const close = await sandbox.cli(['forward', '--close', 'nope']);
  t.is(close.code, 1);
  t.regex(close.stderr, /no forward named nope is open/);
});

test('a killed forward process takes its socket with it; `status` lists a forward only while one is open', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', 'ATATT3x-forward-killed-5f6e7d8c9b');
  const child = spawn(process.execPath, [HELPER, 'forward', '--socket-only', '--account', 'work', '--name', 'doomed'], { env: sandbox.env, stdio: ['ignore', 'pipe', 'ignore'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise((resolve) => child.on('close', resolve));
  await waitUntil('the forward\'s socket', () => /^Socket: /m.test(output));
  const socket = /^Socket: (.+)$/m.exec(output)![1]!;
  t.true(existsSync(socket));
  t.regex((await sandbox.cli(['status'])).stdout, /^Forwards \(1\):\n {2}doomed: account\(s\) work; socket /m);
  child.kill('SIGKILL');
  await exited;
  t.true(await waitFor(() => !existsSync(socket)), 'the socket outlived its forward process');
  t.true(await waitFor(async () => (await sandbox.cli(['forward', '--list'])).stdout === 'No forwards open.\n'));
  // With none open, `status` has no forwards section at all (the daemon still runs and is listed).
  const status = await sandbox.cli(['status']);
  t.regex(status.stdout, /^Daemon: running/m);
  t.false(/^Forwards/m.test(status.stdout), status.stdout);
  t.regex(readFileSync(join(sandbox.configHome, 'state', 'daemon.log'), 'utf8'), /"forward":"doomed","reason":"its forward process ended"/);
});
