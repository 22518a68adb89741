// What one warm `get` costs the daemon in file-system calls (issue #13 item 4): the real daemon
// runs under strace, the real helper asks it, and the calls naming config.json, the migration
// marker and secrets.json are counted per request. Before, each get looked at config.json three
// times (the idle timer's setting, the router, the store selection), opened
// secrets-migration.json and, with no store chosen, probed secrets.json.

import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertAnswer } from './support/answers.js';
import { REPO_ROOT, Sandbox, credentialRequest } from './support/sandbox.js';
import { keyringTests, startTestKeyring } from './support/keyring.js';
import { waitUntil } from './support/wait.js';

const GET = credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' });
const SECRET = 'ATATT3xFfGF0-config-reads-5c1e7a9d3b';
const GETS = 10;
const STRACE_APT = 'sudo apt-get install -y strace';

function straceProblem(): string | undefined {
  if (spawnSync('sh', ['-c', 'command -v strace'], { stdio: 'ignore' }).status !== 0) return 'strace is not installed';
  // A container may forbid ptrace even of our own children.
  const probe = spawnSync('strace', ['-f', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `strace cannot trace here (${probe.stderr.trim().split('\n')[0]})`;
}

/** The daemon as the helper starts it, but under strace, writing every file-name system call to `trace`. */
async function tracedDaemon(t: ExecutionContext, sandbox: Sandbox): Promise<string> {
  const trace = join(sandbox.root, 'daemon.strace');
  const child = spawn('strace', ['-f', '-qq', '-e', 'trace=%file', '-o', trace, process.execPath, join(REPO_ROOT, 'dist', 'daemon', 'main.js')], {
    env: sandbox.env,
    cwd: '/',
    stdio: 'ignore',
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitUntil('the traced daemon to answer', async () => (await sandbox.cli(['daemon', 'status'])).code === 0);
  return trace;
}

/** `GETS` warm gets; returns the trace lines the daemon wrote while answering them. */
async function tracedGets(t: ExecutionContext, sandbox: Sandbox, trace: string): Promise<string[]> {
  // The first get may read what later ones find cached.
  assertAnswer(t, (await sandbox.helper('get', GET)).stdout, `username=alice\npassword=${SECRET}\n`);
  const before = readFileSync(trace, 'utf8').length;
  for (let i = 0; i < GETS; i++) assertAnswer(t, (await sandbox.helper('get', GET)).stdout, `username=alice\npassword=${SECRET}\n`);
  return readFileSync(trace, 'utf8').slice(before).split('\n');
}

function callsNaming(lines: string[], file: string): string[] {
  return lines.filter((line) => line.includes(`"${file}"`));
}

function assertOneConfigLookPerGet(t: ExecutionContext, sandbox: Sandbox, lines: string[]): void {
  const configCalls = callsNaming(lines, join(sandbox.configHome, 'config.json'));
  t.log(`${configCalls.length} calls naming config.json for ${GETS} gets`);
  t.true(configCalls.length <= GETS, `config.json: ${configCalls.length} calls for ${GETS} gets, such as:\n${configCalls.slice(0, 3).join('\n')}`);
  t.deepEqual(callsNaming(lines, join(sandbox.configHome, 'secrets-migration.json')), [], 'the migration marker is read only when something changed');
}

function straceTests(body: () => void): void {
  const problem = straceProblem();
  if (!problem) {
    body();
    return;
  }
  const title = `file-system call counts need strace: ${problem}; install with: ${STRACE_APT}`;
  if (process.env.CI === 'true') test(title, (t) => t.fail(`under CI=true these tests must run, not skip: ${problem}`));
  else test.skip(title, () => undefined);
}

straceTests(() => {
  test('a warm get looks at config.json at most once and never at the migration marker (file store chosen in config.json)', async (t) => {
    const sandbox = new Sandbox({ secretStore: 'default' });
    t.teardown(() => sandbox.cleanup());
    await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', SECRET, ['--secret-store', 'file']);
    const trace = await tracedDaemon(t, sandbox);
    assertOneConfigLookPerGet(t, sandbox, await tracedGets(t, sandbox, trace));
  });

  keyringTests(
    test,
    () => {
      test.serial('a warm get with the keychain (chosen by default) looks at config.json at most once and never at secrets.json or the migration marker', async (t) => {
        const keyring = await startTestKeyring();
        t.teardown(() => keyring.stop());
        const sandbox = new Sandbox({ secretStore: 'default', env: keyring.env });
        t.teardown(() => sandbox.cleanup());
        await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', SECRET);
        const trace = await tracedDaemon(t, sandbox);
        const lines = await tracedGets(t, sandbox, trace);
        assertOneConfigLookPerGet(t, sandbox, lines);
        t.deepEqual(callsNaming(lines, join(sandbox.configHome, 'secrets.json')), [], 'no probe for a secrets.json on every get');
      });
    },
    'keychain file-system count',
  );
});
