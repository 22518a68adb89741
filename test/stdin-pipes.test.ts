// Every reader of standard input waits for a writer that is slow: a pipe from a Node parent (git
// run by an IDE, a script) is non-blocking, and a synchronous read of it fails with EAGAIN when
// nothing has arrived yet. `account add --secret-stdin` has its own test in cli.test.ts; these
// are the helper's `get` and `login --no-browser`'s pasted address.

import test from 'ava';
import { spawn } from 'node:child_process';
import { assertAnswer } from './support/answers.js';
import { HELPER, Sandbox, credentialRequest } from './support/sandbox.js';

const WORK = 'ATATT3xFfGF0-stdintest-work-2c4e6a8b0d';
const CLIENT_SECRET = 'stdintest-oauth-client-secret-3d5f7b9a1c';

/** Runs the built executable and writes `input` only once it has started, after `delayMs`. */
async function withLateInput(sandbox: Sandbox, args: string[], input: string, delayMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(HELPER, args, { env: sandbox.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // The process exists before the input is written: an event, not a guess about its speed.
  await new Promise<void>((resolve) => child.once('spawn', resolve));
  setTimeout(() => child.stdin.end(input), delayMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout, stderr };
}

test("the helper's get waits for a request that a slow writer sends late", async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', WORK);
  const result = await withLateInput(sandbox, ['get'], credentialRequest({ protocol: 'https', host: 'bitbucket.org' }), 500);
  t.is(result.code, 0, result.stderr);
  t.is(result.stderr, '');
  assertAnswer(t, result.stdout, `username=alice\npassword=${WORK}\n`);
});

test('login --no-browser waits for an address pasted late', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  sandbox.trackSecrets(CLIENT_SECRET);
  const added = await sandbox.cli(['account', 'add', 'oa', '--url', 'https://bitbucket.org', '--username', 'alice', '--oauth-client-id', 'stdintest-client', '--oauth-client-secret-stdin'], {
    input: CLIENT_SECRET + '\n',
  });
  t.is(added.code, 0, added.stderr);
  // A pasted line that is no code at all: refused by the check that comes after the read, so the
  // message proves the late line was read (an EAGAIN would be an internal error, exit 2).
  const result = await withLateInput(sandbox, ['login', 'oa', '--no-browser'], 'not a code at all\n', 500);
  t.is(result.code, 1, result.stderr);
  t.is(result.stderr, 'git-credential-bitbucket: that does not look like an authorization code\n');
  t.regex(result.stdout, /Paste that whole address \(or just the code\) here and press Enter:/);
});
