// What a user installs: `npm pack` gives a tarball that `npm install -g --prefix DIR TARBALL`
// turns into a working DIR/bin/git-credential-bitbucket (--version, an account, `get` from git,
// `install` pointing git at it). And the README, which is in that tarball, links nothing outside
// the repository.

import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { assertAnswer } from './support/answers.js';
import { REPO_ROOT, Sandbox, credentialRequest } from './support/sandbox.js';

const SECRET = 'ATATT3x-packtest-work-5c4b3a29181f';
/** Errors that mean "no registry and no cache here", not "the package is broken". */
const OFFLINE = /\b(ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH)\b/;

/** npm with the test runner's own environment: its cache and registry settings, not a sandbox's. */
function npm(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

test('npm pack gives a tarball that npm install -g --prefix DIR installs into a working DIR/bin/git-credential-bitbucket', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'gcb-pack-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  // dist/ is built before the tests run (npm test); packing must not rebuild it under other tests' feet.
  const packed = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], REPO_ROOT);
  t.is(packed.code, 0, packed.stderr);
  const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: Array<{ path: string }> }];
  const shipped = files.map((file) => file.path);
  t.true(shipped.includes('dist/helper/git-credential-bitbucket.cjs'));
  t.true(shipped.includes('dist/daemon/main.js'));
  t.false(shipped.some((path) => path.startsWith('src/') || path.startsWith('test/')), 'only the build ships');

  const prefix = join(work, 'prefix');
  // --ignore-scripts: the optional keychain binding would be compiled; the file store needs none.
  // --prefer-offline: npm's cache first, the registry only for what it lacks.
  const installed = await npm(['install', '-g', '--prefix', prefix, join(work, filename), '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], work);
  if (installed.code !== 0 && OFFLINE.test(installed.stderr) && process.env.CI !== 'true') {
    t.log(`not checked: the dependencies are neither in npm's cache nor reachable: ${installed.stderr.split('\n')[0]}`);
    t.pass();
    return;
  }
  t.is(installed.code, 0, installed.stderr);
  const bin = join(prefix, 'bin', 'git-credential-bitbucket');
  t.true(existsSync(bin));

  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const shown = await sandbox.run(bin, ['--version']);
  t.deepEqual([shown.code, shown.stdout], [0, `${version}\n`], shown.stderr);

  sandbox.trackSecrets(SECRET);
  const added = await sandbox.run(bin, ['account', 'add', 'work', '--url', 'https://bitbucket.org', '--username', 'alice', '--secret-stdin', '--no-verify'], { input: SECRET + '\n' });
  t.is(added.code, 0, added.stderr);
  const get = await sandbox.run(bin, ['get'], { input: credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' }), secretOutput: true });
  assertAnswer(t, get.stdout, `username=alice\npassword=${SECRET}\n`, 'the installed helper answers get (through its own daemon)');

  const install = await sandbox.run(bin, ['install']);
  t.is(install.code, 0, install.stderr);
  const helpers = await sandbox.git(['config', '--global', '--get-all', 'credential.https://bitbucket.org.helper']);
  const installedHelper = join(prefix, 'lib', 'node_modules', 'git-credential-bitbucket', 'dist', 'helper', 'git-credential-bitbucket.cjs');
  // The default: one shell function, git's cache client on the daemon's socket first, then the installed copy.
  const chain = helpers.stdout.split('\n').filter(Boolean);
  t.is(chain.length, 1, helpers.stdout);
  t.regex(chain[0] ?? '', /git credential-cache --socket \S+git-cache\.sock --timeout 1 get/, helpers.stdout);
  t.true(chain[0]?.includes(`exec ${installedHelper} "$@"`), `git is pointed at the installed copy, by absolute path: ${helpers.stdout}`);
  // git itself, through that chain.
  const fill = await sandbox.git(['credential', 'fill'], { input: 'protocol=https\nhost=bitbucket.org\npath=acme/widgets.git\n\n', secretOutput: true });
  assertAnswer(t, fill.stdout, `protocol=https\nhost=bitbucket.org\npath=acme/widgets.git\nusername=alice\npassword=${SECRET}\n`, 'git credential fill');
  sandbox.assertNoSecretLeaks(t);
});

test('every link in the README points to a file inside the repository (or to the web)', (t) => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const outside: string[] = [];
  const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
  // Paths written as code are links a reader follows too.
  targets.push(...[...readme.matchAll(/`(\.\.?\/[^`\s]+)`/g)].map((match) => match[1]!));
  for (const target of targets) {
    if (/^(https?:|mailto:|#)/.test(target)) continue;
    const path = resolve(REPO_ROOT, target.split('#')[0]!);
    if (relative(REPO_ROOT, path).startsWith('..') || !existsSync(path)) outside.push(target);
  }
  t.deepEqual(outside, []);
});
