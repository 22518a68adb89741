// Issue #14 item 9, tracing: GIT_CREDENTIAL_BITBUCKET_TRACE makes the helper write what git asked,
// which account answered and why (the daemon's decision, returned with its answer) and how long it
// took, to stderr or a file; `git-credential-bitbucket trace` follows the daemon's decisions as
// they happen, which also covers git's own cache client (the fast path), whose stderr and
// environment nobody sees. Real git against the simulator; never a secret in any of it.

import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator, type SimulatorConfig } from '../fixtures/simulator/server.js';
import { HELPER, Sandbox, credentialRequest } from './support/sandbox.js';
import { simUser } from './support/sim-fixtures.js';
import { waitUntil } from './support/wait.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-trace-alice-5e7c9a1b3d';
const BOB_TOKEN = 'ATATT3xFfGF0-trace-bob-2f4d6b8a0c';

const SIM_CONFIG: SimulatorConfig = {
  users: [simUser('alice', ALICE_TOKEN, { acme: 'write' }), simUser('bob', BOB_TOKEN, { personal: 'admin' })],
  accessTokens: [],
  workspaces: { acme: ['widgets'], personal: ['notes'] },
  oauthConsumers: [],
};

async function world(t: ExecutionContext, options: { fastPath?: boolean } = {}): Promise<{ sim: Simulator; sandbox: Sandbox }> {
  const sim = await startSimulator({ config: SIM_CONFIG });
  const sandbox = new Sandbox();
  sandbox.trackSecrets(ALICE_TOKEN, BOB_TOKEN);
  const cacheSocket = join(sandbox.configHome, 'run', 'git-cache.sock');
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim.close();
    for (const pid of spawnSync('pgrep', ['-f', `credential-cache--daemon ${cacheSocket}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  await sandbox.addAccount('personal', sim.url, 'bob', BOB_TOKEN, ['--kind', 'cloud']);
  await sandbox.addRoute(`${sim.url}/acme/*`, 'work');
  await sandbox.addRoute(`${sim.url}/personal/*`, 'personal');
  if (options.fastPath) {
    // No helper configured: `install` writes the chain a user gets, fast path first.
    writeFileSync(sandbox.env.GIT_CONFIG_GLOBAL!, '[user]\n\tname = Trace\n\temail = trace@example.com\n[init]\n\tdefaultBranch = main\n');
    const installed = await sandbox.cli(['install']);
    if (installed.code !== 0) throw new Error(`install failed: ${installed.stderr}`);
  }
  return { sim, sandbox };
}

function assertNoSecret(t: ExecutionContext, text: string, where: string): void {
  t.false(text.includes(ALICE_TOKEN), `alice's token is in ${where}`);
  t.false(text.includes(BOB_TOKEN), `bob's token is in ${where}`);
}

/** A running `trace`: what it printed so far, and a way to stop it as Ctrl-C does. */
interface TraceProcess {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

async function startTrace(sandbox: Sandbox, args: string[] = []): Promise<TraceProcess> {
  const child = spawn(process.execPath, [HELPER, 'trace', ...args], { env: sandbox.env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdin.end();
  await waitUntil('trace follows the daemon', () => stderr.includes('following the daemon'));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

test('GIT_CREDENTIAL_BITBUCKET_TRACE=1: git clone shows what git asked, the account, the route and the times; never the token', async (t) => {
  const { sim, sandbox } = await world(t);
  const clone = await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets'], { env: { GIT_CREDENTIAL_BITBUCKET_TRACE: '1' } });
  t.is(clone.code, 0, clone.stderr);
  const host = sim.host;
  const lines = clone.stderr.split('\n').filter((line) => line.includes('git-credential-bitbucket trace: '));
  t.true(lines.some((line) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} git-credential-bitbucket trace: git asked get for http://${host}/acme/widgets\\.git`).test(line)), clone.stderr);
  t.true(
    lines.some((line) => new RegExp(`trace: account work: answered \\(route http://${host}/acme/\\*\\) in \\d+\\.\\d ms in the daemon; git gets username, password; \\d+\\.\\d ms since the helper started$`).test(line)),
    clone.stderr,
  );
  // git's store after the clone worked: the password is named, never shown.
  t.true(lines.some((line) => /git asked store for .*username alice; also sent: password/.test(line)), clone.stderr);
  t.true(lines.some((line) => /account work: success-recorded \(username alice in the URL\)/.test(line)), clone.stderr);
  assertNoSecret(t, clone.stderr, "git's stderr");
  assertNoSecret(t, clone.stdout, "git's stdout");

  // Unset, or 0: not one trace line.
  const quiet = await sandbox.git(['clone', '-q', `${sim.url}/personal/notes.git`, 'notes'], { env: { GIT_CREDENTIAL_BITBUCKET_TRACE: '0' } });
  t.is(quiet.code, 0, quiet.stderr);
  t.false(quiet.stderr.includes('trace'), quiet.stderr);
});

test('GIT_CREDENTIAL_BITBUCKET_TRACE=/path: the trace goes to that file (0600), git output stays clean; a refused request says why', async (t) => {
  const { sim, sandbox } = await world(t);
  const file = join(sandbox.root, 'helper-trace.log');
  const env = { GIT_CREDENTIAL_BITBUCKET_TRACE: file };
  const clone = await sandbox.git(['clone', '-q', `${sim.url}/personal/notes.git`, 'notes'], { env });
  t.is(clone.code, 0, clone.stderr);
  t.false(clone.stderr.includes('trace'), clone.stderr);
  // An unroutable request: the decision and the line git's user was told.
  const nowhere = await sandbox.helper('get', credentialRequest({ protocol: 'http', host: 'elsewhere.example' }), { env });
  t.is(nowhere.stdout, '');
  const unrouted = await sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'other/repo.git' }), { env });
  t.is(unrouted.stdout, '');
  t.true(existsSync(file));
  t.is(statSync(file).mode & 0o777, 0o600);
  const trace = readFileSync(file, 'utf8');
  t.regex(trace, new RegExp(`git asked get for http://${sim.host}/personal/notes\\.git`));
  t.regex(trace, /account personal: answered \(route http:\/\/[^ ]+\/personal\/\*\) in [\d.]+ ms in the daemon; git gets username, password/);
  t.regex(trace, /git asked get for http:\/\/elsewhere\.example\n.*no account: not-ours in [\d.]+ ms in the daemon; git gets nothing/);
  t.regex(trace, new RegExp(`git asked get for http://${sim.host}/other/repo\\.git\\n.*no account: unresolved \\(.+\\) in [\\d.]+ ms in the daemon; git gets nothing`));
  assertNoSecret(t, trace, 'the trace file');
});

test('`trace` follows the daemon: fast-path and helper requests, each with account, route and time, until Ctrl-C; it follows a restarted daemon', async (t) => {
  const { sim, sandbox } = await world(t, { fastPath: true });
  const trace = await startTrace(sandbox);

  const clone = await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets']);
  t.is(clone.code, 0, clone.stderr);
  const fastPathGet = new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} get fast-path ${sim.host}/acme/widgets\\.git → account work: answered \\(route http://${sim.host}/acme/\\*\\) in \\d+\\.\\d ms in the daemon$`, 'm');
  await waitUntil('the fast-path get is traced', () => fastPathGet.test(trace.stdout()));
  await waitUntil('the fast-path store is traced', () => /^.* store fast-path .*widgets\.git → account work: success-recorded/m.test(trace.stdout()));
  // The Node helper, as git runs it when the fast path has no answer (an unroutable repository).
  await sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'other/repo.git' }));
  await waitUntil('the helper get is traced', () => new RegExp(`get helper ${sim.host}/other/repo\\.git → no account: unresolved \\(`).test(trace.stdout()));

  // The daemon goes away (idle exit, `daemon stop`): trace follows the next one.
  const stopped = await sandbox.cli(['daemon', 'stop']);
  t.is(stopped.code, 0, stopped.stderr);
  await waitUntil('trace follows the next daemon', () => trace.stderr().includes('following the daemon again'));
  t.regex(trace.stderr(), /the daemon stopped; following the next one/);
  const again = await sandbox.git(['ls-remote', `${sim.url}/personal/notes.git`]);
  t.is(again.code, 0, again.stderr);
  await waitUntil('a request to the new daemon is traced', () => /get fast-path \S+\/personal\/notes\.git → account personal: answered/.test(trace.stdout()));

  trace.child.kill('SIGINT');
  t.is(await trace.exited, 0, trace.stderr());
  assertNoSecret(t, trace.stdout(), "trace's output");
  assertNoSecret(t, trace.stderr(), "trace's stderr");
});

test('`trace --json`: one RequestEvent per line, nothing else on stdout', async (t) => {
  const { sim, sandbox } = await world(t, { fastPath: true });
  const trace = await startTrace(sandbox, ['--json']);
  const listed = await sandbox.git(['ls-remote', `${sim.url}/acme/widgets.git`]);
  t.is(listed.code, 0, listed.stderr);
  await waitUntil('the get is traced', () => trace.stdout().includes('"action":"get"'));
  trace.child.kill('SIGTERM');
  t.is(await trace.exited, 0, trace.stderr());
  const events = trace
    .stdout()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  t.like(events[0], { action: 'get', channel: 'fast-path', host: sim.host, path: 'acme/widgets.git', account: 'work', outcome: 'answered' });
  t.is(typeof events[0]!.latencyMs, 'number');
  assertNoSecret(t, trace.stdout(), "trace's output");
});

test('the helper git runs stays within 20 KiB and loads the trace module only when the variable is set', (t) => {
  t.true(statSync(HELPER).size <= 20 * 1024, `the bundle is ${statSync(HELPER).size} bytes`);
  const bundle = readFileSync(HELPER, 'utf8');
  t.regex(bundle, /if ?\(trace\) ?\(await import\("\.\/trace\.js"\)\)/);
});

test('`trace` gets no forward events: forwards opening and closing under it leave it following the same daemon, with requests only on stdout', async (t) => {
  const { sim, sandbox } = await world(t);
  const trace = await startTrace(sandbox, ['--json']);
  const forward = spawn(process.execPath, [HELPER, 'forward', '--socket-only', '--account', 'work', '--name', 'under-trace'], { env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  forward.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const forwardEnded = new Promise<number | null>((resolve) => forward.on('close', resolve));
  t.teardown(() => forward.kill('SIGTERM'));
  await waitUntil('the forward to open', () => output.includes('Socket: '));
  t.is((await sandbox.cli(['forward', '--close', 'under-trace'])).code, 0);
  t.is(await forwardEnded, 1);

  await sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git' }));
  await waitUntil('the get is traced', () => trace.stdout().includes('"action":"get"'));
  trace.child.kill('SIGINT');
  t.is(await trace.exited, 0, trace.stderr());
  t.false(trace.stderr().includes('the daemon stopped'), trace.stderr());
  t.deepEqual(
    trace
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { action: string; channel: string }).channel),
    ['helper'],
  );
});
