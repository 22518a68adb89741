// The helper as git runs it: protocol handling, malformed input, and what it may import.

import test from 'ava';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { assertAnswer, masked } from './support/answers.js';
import { Sandbox, credentialRequest, HELPER, HELPER_MODULES } from './support/sandbox.js';

const WORK_SECRET = 'ATATT3x-helpertest-work-7f3a9c1e5b';
const OTHER_SECRET = 'ATCTT3x-helpertest-bot-4d2e8a6f0c';

async function sandboxWithAccounts(): Promise<Sandbox> {
  const sandbox = new Sandbox();
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', WORK_SECRET);
  await sandbox.addAccount('bot', 'https://bitbucket.org', 'acme-bot', OTHER_SECRET, ['--secret-kind', 'access-token']);
  await sandbox.addRoute('https://bitbucket.org/acme/*', 'work');
  await sandbox.addRoute('https://bitbucket.org/acme/ci-*', 'bot');
  return sandbox;
}

test('get answers with the routed account and the git username of its secret kind', async (t) => {
  const sandbox = await sandboxWithAccounts();
  t.teardown(() => sandbox.cleanup());
  const work = await sandbox.helper('get', credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' }));
  assertAnswer(t, work.stdout, `username=alice\npassword=${WORK_SECRET}\n`);
  t.is(work.stderr, '');
  const bot = await sandbox.helper('get', 'url=https://bitbucket.org/acme/ci-tools.git\n\n');
  assertAnswer(t, bot.stdout, `username=x-token-auth\npassword=${OTHER_SECRET}\n`);
  t.is(sandbox.daemonPids().length, 1);
  sandbox.assertNoSecretLeaks(t);
});

test('newer git attributes are accepted (git 2.41+ and 2.46+ send them)', async (t) => {
  const sandbox = await sandboxWithAccounts();
  t.teardown(() => sandbox.cleanup());
  const result = await sandbox.helper(
    'get',
    'capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=bitbucket.org\npath=acme/widgets.git\nwwwauth[]=Basic realm="Bitbucket.org HTTP"\n\n',
  );
  t.is(result.code, 0);
  t.regex(masked(result.stdout), /^username=alice\npassword=/);
  t.false(result.stdout.includes('oauth_refresh_token'));
});

test('unknown actions exit 0 silently without starting a daemon', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  for (const action of ['capabilities', 'approve', 'frobnicate']) {
    const result = await sandbox.helper(action, 'protocol=https\nhost=bitbucket.org\n\n');
    t.deepEqual([result.code, result.stdout, result.stderr], [0, '', ''], action);
  }
  t.deepEqual(sandbox.daemonPids(), []);
  // Malformed input is refused by the helper itself: no daemon is started for it either.
  const malformed = await sandbox.helper('get', 'protocol=https\nnot a pair\n\n');
  t.regex(malformed.stderr, /malformed request/);
  t.deepEqual(sandbox.daemonPids(), []);
});

test('store and erase print nothing on stdout; erase keeps the secret and marks the account rejected', async (t) => {
  const sandbox = await sandboxWithAccounts();
  t.teardown(() => sandbox.cleanup());
  const request = { protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git', username: 'alice', password: WORK_SECRET };
  const stored = await sandbox.helper('store', credentialRequest(request));
  t.deepEqual([stored.stdout, stored.stderr], ['', '']);
  const erased = await sandbox.helper('erase', credentialRequest(request));
  t.is(masked(erased.stdout), '');
  t.regex(erased.stderr, /bitbucket\.org\/acme\/widgets\.git refused the API token of account work \(user alice\); the secret was kept/);
  // Someone else's rejected credential is none of our business.
  const foreign = await sandbox.helper('erase', credentialRequest({ ...request, password: 'typed-at-a-prompt' }));
  t.is(foreign.stderr, '');
  const status = JSON.parse((await sandbox.cli(['status', '--json'])).stdout);
  const work = status.accounts.find((account: { name: string }) => account.name === 'work');
  t.truthy(work.rejectedAt);
  t.is(work.rejectedPath, 'acme/widgets.git');
  t.true(work.secretStored);
  const again = await sandbox.helper('get', credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' }));
  assertAnswer(t, again.stdout, `username=alice\npassword=${WORK_SECRET}\n`);
  sandbox.assertNoSecretLeaks(t);
});

test('malformed input: one stderr line, no stdout, and the daemon is not disturbed', async (t) => {
  const sandbox = await sandboxWithAccounts();
  t.teardown(() => sandbox.cleanup());
  await sandbox.cli(['daemon', 'start']);
  const [pid] = sandbox.daemonPids();
  const cases: Array<[string, Buffer]> = [
    ['no equals sign', Buffer.from('protocol=https\nthis-is-not-a-pair\n\n')],
    ['NUL byte', Buffer.from('protocol=https\nhost=bitbucket.org\0\n\n')],
    ['over 64 KiB', Buffer.from('protocol=https\nhost=' + 'a'.repeat(70 * 1024) + '\n\n')],
    ['invalid UTF-8', Buffer.concat([Buffer.from('protocol=https\nhost='), Buffer.from([0xc3, 0x28]), Buffer.from('\n\n')])],
    ['url without scheme', Buffer.from('url=bitbucket.org/acme/x.git\n\n')],
  ];
  for (const [name, input] of cases) {
    const result = await sandbox.helper('get', input);
    t.is(masked(result.stdout), '', name);
    t.is(result.code, 0, name);
    t.is(result.stderr.trim().split('\n').length, 1, name);
    t.regex(result.stderr, /^git-credential-bitbucket: ignored a malformed request from git: /, name);
  }
  t.deepEqual(sandbox.daemonPids(), [pid!]);
  const ok = await sandbox.helper('get', credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' }));
  t.regex(masked(ok.stdout), /^username=alice\n/);
});

/** The helper with a given standard input; async, so that the other tests' children get their input meanwhile. */
function runWithStdin(sandbox: Sandbox, stdin: number | 'ignore', action = 'get', shell?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = shell ? spawn('sh', ['-c', shell, HELPER, action], { env: sandbox.env }) : spawn(HELPER, [action], { env: sandbox.env, stdio: [stdin, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.stdin?.end();
    child.on('close', (status) => resolvePromise({ status, stdout, stderr }));
  });
}

test('odd standard inputs: a directory or a write-only descriptor gets one line, none gets a stack trace', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const dir = openSync(sandbox.root, 'r');
  const writeOnly = openSync(`${sandbox.root}/write-only`, 'w');
  t.teardown(() => {
    closeSync(dir);
    closeSync(writeOnly);
  });
  const refused: Array<[string, Promise<Awaited<ReturnType<typeof runWithStdin>>>, RegExp]> = [
    ['directory', runWithStdin(sandbox, dir), /standard input is a directory \(EISDIR\)/],
    ['directory, store', runWithStdin(sandbox, dir, 'store'), /ignored `store`: standard input is a directory/],
    ['write-only descriptor', runWithStdin(sandbox, writeOnly), /standard input is not open for reading \(EBADF\)/],
  ];
  for (const [name, running, cause] of refused) {
    const result = await running;
    t.deepEqual([result.status, result.stdout], [0, ''], name);
    t.is(result.stderr.trim().split('\n').length, 1, name);
    t.regex(result.stderr, /^git-credential-bitbucket: ignored `(get|store)`: .*, not a request from git; give it the credential lines git writes/, name);
    t.regex(result.stderr, cause, name);
  }
  // Node gives a child's piped stdin as a socket (libuv's socketpair): the shell case ends it at once.
  const silent: Array<[string, Promise<Awaited<ReturnType<typeof runWithStdin>>>]> = [
    ['/dev/null', runWithStdin(sandbox, 'ignore')],
    ['closed', runWithStdin(sandbox, 'ignore', 'get', 'exec "$0" "$1" <&-')],
    ['empty socket', runWithStdin(sandbox, 'ignore', 'get', 'exec "$0" "$1"')],
  ];
  for (const [name, running] of silent) {
    const result = await running;
    t.deepEqual([result.status, result.stdout, result.stderr], [0, '', ''], name);
  }
  // Nothing was asked, so nothing started a daemon.
  t.deepEqual(sandbox.daemonPids(), []);
});

test('protocol fuzz: hundreds of random inputs never crash the helper or the daemon', async (t) => {
  const sandbox = await sandboxWithAccounts();
  t.teardown(() => sandbox.cleanup());
  await sandbox.cli(['daemon', 'start']);
  const [pid] = sandbox.daemonPids();
  let seed = 0x5eed;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const pieces = ['protocol=', 'https', 'host=', 'bitbucket.org', 'path=', 'acme/', 'username=', 'url=', 'https://', '@', ':', '=', '\n', '\n\n', '\r\n', '\0', 'wwwauth[]=', '%zz', '%41', 'ä', '\u{1F600}', '/', '..', ' '];
  const inputs: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    if (i % 10 === 0) {
      inputs.push(Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256))));
    } else {
      inputs.push(Buffer.from(Array.from({ length: 1 + Math.floor(random() * 12) }, () => pieces[Math.floor(random() * pieces.length)]).join('')));
    }
  }
  const actions = ['get', 'store', 'erase'];
  let index = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (index < inputs.length) {
      const i = index++;
      const action = actions[i % 3]!;
      const result = await sandbox.helper(action, inputs[i]!);
      if (result.code !== 0 || result.signal) failures.push(`#${i} ${action}: exit ${result.code} ${result.signal} ${result.stderr}`);
      if (/internal error|TypeError|at .*\.js:\d+/.test(result.stderr)) failures.push(`#${i} ${action}: ${result.stderr}`);
      // Only a well-formed request routed to an account gets an answer, and only to get.
      if (result.stdout !== '' && !(action === 'get' && /^username=[^\n]+\npassword=[^\n]+\n$/.test(result.stdout))) {
        failures.push(`#${i} ${action}: unexpected stdout`);
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  t.deepEqual(failures, []);
  t.deepEqual(sandbox.daemonPids(), [pid!]);
  const ok = await sandbox.helper('get', credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' }));
  t.regex(masked(ok.stdout), /^username=alice\n/);
});

/** The modules `entry` loads at start-up (static imports, followed), and the packages among them. */
function staticImports(entry: string): { seen: Set<string>; external: string[] } {
  const seen = new Set<string>();
  const external: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    // Static imports only: dynamic import() is how the CLI and its commands are loaded lazily.
    const clause = String.raw`(?:type\s+)?(?:\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*\{[^}]*\})?)`;
    const pattern = new RegExp(String.raw`^(?:import|export)\s+${clause}\s+from\s+['"]([^'"]+)['"]|^import\s+['"]([^'"]+)['"]`, 'gm');
    for (const match of source.matchAll(pattern)) {
      const specifier = match[1] ?? match[2]!;
      if (specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else external.push(`${file}: ${specifier}`);
    }
  };
  visit(entry);
  return { seen, external };
}

test('the helper loads only node:* modules on the get/store/erase path', (t) => {
  // The scanner must see a package import where there is one (the daemon's log module).
  const logModule = staticImports(join(dirname(HELPER_MODULES), '..', 'daemon', 'log.js'));
  t.true(logModule.external.some((entry) => entry.endsWith(': pino')), logModule.external.join('\n'));

  const { seen, external } = staticImports(HELPER_MODULES);
  t.deepEqual(external, []);
  t.true(seen.has(join(dirname(HELPER_MODULES), '..', 'client', 'daemon-client.js')));
  t.false([...seen].some((file) => file.includes(`${join('dist', 'daemon')}${sep}`) || file.includes(`${join('dist', 'cli')}${sep}`)));

  // The bundle git actually runs: only built-in modules at load time; the CLI, the trace and the
  // daemon's answerer for daemonless runs (CI) come in through dynamic import(), the code that
  // starts the daemon (needed only when none runs) through a require of its own bundle.
  const bundle = readFileSync(HELPER, 'utf8');
  const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)|\brequire\('([^']+)'\)/g)].map((match) => match[1] ?? match[2]!);
  t.true(required.length > 0);
  t.deepEqual(required.filter((specifier) => !specifier.startsWith('node:')), []);
  const imported = [...bundle.matchAll(/\bimport\("([^"]+)"\)/g)].map((match) => match[1]).sort();
  t.deepEqual(imported.sort(), ['../cli/main.js', '../daemon/in-process.js', './trace.js']);
  t.true(bundle.includes('("../client/daemon-start.cjs")'));
});

test('the command table loads no command: --version and a word git may add pay for none of them', (t) => {
  const cli = join(dirname(HELPER_MODULES), '..', 'cli');
  const { seen, external } = staticImports(join(cli, 'main.js'));
  t.deepEqual(external, []);
  const loaded = [...seen].map((file) => relative(join(cli, '..'), file)).sort();
  t.deepEqual(loaded, ['cli/commands.js', 'cli/main.js', 'cli/suggest.js', 'cli/usage.js', 'core/version.js', 'shared/paths.js', 'shared/runtime-dir.js']);
});
