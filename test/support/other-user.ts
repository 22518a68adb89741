// A throwaway second Unix user for the tests (and the bench) that must show what another uid can
// and cannot reach (socket-guard, forward). Creating one needs root (useradd): elsewhere such
// tests are skipped with the reason (other-user-test.ts), and under CI=true they fail instead.
// No ava import here: the bench loads this module outside the test runner.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync } from 'node:fs';

export interface OtherUser {
  name: string;
  uid: number;
  gid: number;
}

/** What the helpers need of a test (ava's ExecutionContext has it; the bench passes its own). */
export interface Teardowns {
  teardown(fn: () => unknown): void;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Every wait on these processes ends on an event; this only bounds a test that went wrong. */
const CAP_MS = 60_000;

const isRoot = process.getuid?.() === 0;
const missingTools = ['useradd', 'userdel', 'setpriv'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0);
export const cannotCreateUsers = !isRoot
  ? 'they run as root (to create a throwaway user with useradd)'
  : missingTools.length > 0
    ? `${missingTools.join(', ')} not installed (util-linux, passwd)`
    : undefined;

/**
 * A user removed at teardown. With `loginHome` (an existing directory, handed over to the user)
 * it can log in with a key (sshd refuses locked accounts, so its password is '*', not '!') and
 * has a POSIX shell; otherwise it has no home and no shell.
 */
export async function createOtherUser(t: Teardowns, options: { loginHome?: string } = {}): Promise<OtherUser> {
  const name = `gcbtest-${randomBytes(4).toString('hex')}`;
  const login = options.loginHome === undefined ? ['--shell', '/usr/sbin/nologin'] : ['--home-dir', options.loginHome, '--shell', '/bin/sh', '--password', '*'];
  // useradd fails while another process holds the passwd lock; that is worth a few more tries.
  let added: Run = { code: null, stdout: '', stderr: '' };
  for (let attempt = 0; attempt < 20; attempt++) {
    added = await run('useradd', ['--system', '--no-create-home', ...login, name]);
    if (added.code === 0 || !/lock/i.test(added.stderr)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (added.code !== 0) throw new Error(`useradd ${name} failed: ${added.stderr.trim()}`);
  t.teardown(async () => {
    const removed = await run('userdel', [name]);
    if (removed.code !== 0) throw new Error(`userdel ${name} failed: ${removed.stderr.trim()}`);
  });
  const id = (flag: string) => Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
  const user = { name, uid: id('-u'), gid: id('-g') };
  if (options.loginHome !== undefined) chownSync(options.loginHome, user.uid, user.gid);
  return user;
}

export function run(command: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; onStdout?: (text: string) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(stdout);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    const cap = setTimeout(() => child.kill('SIGKILL'), CAP_MS);
    child.on('close', (code) => {
      clearTimeout(cap);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A command as the other user, with nothing of ours in its environment (HOME and more from `env`). */
export function runAs(user: OtherUser, command: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; onStdout?: (text: string) => void } = {}): Promise<Run> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LANG: 'C', ...options.env };
  return run('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', command, ...args], { ...options, env });
}
