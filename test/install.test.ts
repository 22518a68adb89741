// `install` / `uninstall` (src/installer): real git config files in a sandbox, real git, the real
// built helper, and the simulator for "install, then a plain git clone works".

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import type { SimulatorConfig } from '../fixtures/simulator/config.js';
import { helperValueFor, helperWithFastPathValueFor } from '../src/installer/helper-value.js';
import { HELPER, REPO_ROOT, Sandbox } from './support/sandbox.js';
import { pathWithGitSaying } from './support/git-saying.js';
import { simUser } from './support/sim-fixtures.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-installtest-alice-7f3a9c1e5b';
const BOB_TOKEN = 'ATATT3xFfGF0-installtest-bob-2d8e4b6a0c';
const CORP_TOKEN = 'BBDC-installtest-corp-4a1c8e2f9d7b';

const SIM_CONFIG: SimulatorConfig = {
  users: [simUser('alice', ALICE_TOKEN, { acme: 'write', alice: 'admin' }), simUser('bob', BOB_TOKEN, { bob: 'admin' })],
  accessTokens: [],
  workspaces: { acme: ['widgets'], alice: ['notes'], bob: ['notes'] },
  appPasswordsDisabled: true,
};

/** A user's global git config with unrelated keys, a comment and a generic helper: what install must leave alone. */
const USER_GITCONFIG = [
  '# my settings',
  '[user]',
  '\tname = Sandbox Tester',
  '\temail = tester@example.com',
  '[credential]',
  '\thelper = cache --timeout=600',
  '[alias]',
  '\tst = status -sb',
  '[init]',
  '\tdefaultBranch = main',
  '',
].join('\n');

/** A sandbox whose global git config is `text` (no credential settings unless `text` has them). */
function sandboxWith(t: { teardown(fn: () => Promise<void> | void): void }, text: string): { sandbox: Sandbox; gitconfig: string } {
  const sandbox = new Sandbox();
  // The installer does not care where secrets live; the file store works on a machine without a keychain.
  sandbox.env.GIT_CREDENTIAL_BITBUCKET_SECRET_STORE = 'file';
  sandbox.trackSecrets(ALICE_TOKEN, BOB_TOKEN, CORP_TOKEN);
  t.teardown(() => sandbox.cleanup());
  const gitconfig = sandbox.env.GIT_CONFIG_GLOBAL!;
  writeFileSync(gitconfig, text);
  return { sandbox, gitconfig };
}

async function withSimulator(t: { teardown(fn: () => Promise<void> | void): void }): Promise<Simulator> {
  const sim = await startSimulator({ config: SIM_CONFIG });
  t.teardown(() => sim.close());
  return sim;
}

/** Our value after a plain install on Linux and macOS: the Node helper behind the fast path, one shell function. */
function installedChain(sandbox: Sandbox, helper = HELPER): string[] {
  return [helperWithFastPathValueFor(helper, join(sandbox.configHome, 'run', 'git-cache.sock'))];
}

async function values(sandbox: Sandbox, key: string): Promise<string[]> {
  const result = await sandbox.git(['config', '--global', '--null', '--get-all', key]);
  return result.stdout.split('\0').slice(0, -1);
}

test('fresh HOME with only GIT_CONFIG_GLOBAL: install, then a plain git clone succeeds through the helper', async (t) => {
  const sim = await withSimulator(t);
  const { sandbox, gitconfig } = sandboxWith(t, '');
  // Two accounts on one host with routes: the clone works only if useHttpPath was set as well.
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  await sandbox.addAccount('personal', sim.url, 'bob', BOB_TOKEN, ['--kind', 'cloud']);
  await sandbox.addRoute(`${sim.url}/acme/*`, 'work');
  await sandbox.addRoute(`${sim.url}/bob/*`, 'personal');

  const before = await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'before']);
  t.not(before.code, 0, 'without install git has no credential for the simulator');

  const install = await sandbox.cli(['install']);
  t.is(install.code, 0, install.stderr);
  t.regex(install.stdout, new RegExp(`set +credential\\.${escape(sim.url)}\\.helper`));
  t.regex(install.stdout, new RegExp(`set +credential\\.${escape(sim.url)}\\.useHttpPath = true`));
  t.deepEqual(await values(sandbox, `credential.${sim.url}.helper`), ['', ...installedChain(sandbox)]);
  t.true(readFileSync(gitconfig, 'utf8').includes(HELPER), 'the helper is named by its absolute path');

  const clone = await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets']);
  t.is(clone.code, 0, clone.stderr);
  const bobClone = await sandbox.git(['clone', '-q', `${sim.url}/bob/notes.git`, 'notes']);
  t.is(bobClone.code, 0, bobClone.stderr);
  t.true(sim.stats().byUsername.alice!.succeeded > 0);
  t.true(sim.stats().byUsername.bob!.succeeded > 0);
  sandbox.assertNoSecretLeaks(t);
});

test('install twice: git config --global --list identical; uninstall: the file byte for byte as before', async (t) => {
  const { sandbox, gitconfig } = sandboxWith(t, USER_GITCONFIG);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', ALICE_TOKEN);
  await sandbox.addAccount('corp', 'https://git.corp/bitbucket', 'alice', CORP_TOKEN);
  await sandbox.addRoute('https://bitbucket.org/acme/*', 'work');

  const first = await sandbox.cli(['install']);
  t.is(first.code, 0, first.stderr);
  // The summary names every key it set.
  for (const key of ['credential.https://bitbucket.org.helper', 'credential.https://bitbucket.org.useHttpPath', 'credential.https://git.corp/bitbucket.helper']) {
    t.regex(first.stdout, new RegExp(`set +${escape(key)} = `));
  }
  t.notRegex(first.stdout, /git\.corp\/bitbucket\.useHttpPath/, 'one account and no route on git.corp: no useHttpPath');
  const listed = (await sandbox.git(['config', '--global', '--list'])).stdout;
  const bytes = readFileSync(gitconfig);
  t.not(bytes.toString(), USER_GITCONFIG);

  const second = await sandbox.cli(['install']);
  t.is(second.code, 0, second.stderr);
  t.regex(second.stdout, /Nothing to change/);
  t.is((await sandbox.git(['config', '--global', '--list'])).stdout, listed);
  t.deepEqual(readFileSync(gitconfig), bytes);

  const uninstall = await sandbox.cli(['uninstall']);
  t.is(uninstall.code, 0, uninstall.stderr);
  t.regex(uninstall.stdout, /removed +credential\.https:\/\/git\.corp\/bitbucket\.helper/);
  t.is(readFileSync(gitconfig, 'utf8'), USER_GITCONFIG);
  // The user's generic helper and other keys were there before and are there after.
  t.deepEqual(await values(sandbox, 'credential.helper'), ['cache --timeout=600']);
  const again = await sandbox.cli(['uninstall']);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /Nothing to uninstall/);
  t.is(readFileSync(gitconfig, 'utf8'), USER_GITCONFIG);
});

test('uninstall removes only what install added: a key the user added to the same section stays', async (t) => {
  const { sandbox, gitconfig } = sandboxWith(t, USER_GITCONFIG);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', ALICE_TOKEN);
  t.is((await sandbox.cli(['install'])).code, 0);
  t.is((await sandbox.git(['config', '--global', 'credential.https://bitbucket.org.username', 'alice'])).code, 0);
  const uninstall = await sandbox.cli(['uninstall']);
  t.is(uninstall.code, 0, uninstall.stderr);
  t.deepEqual(await values(sandbox, 'credential.https://bitbucket.org.helper'), []);
  t.deepEqual(await values(sandbox, 'credential.https://bitbucket.org.username'), ['alice']);
  t.is(readFileSync(gitconfig, 'utf8'), USER_GITCONFIG + '[credential "https://bitbucket.org"]\n\tusername = alice\n');
});

test('install after account add for a new host adds just that host', async (t) => {
  const { sandbox, gitconfig } = sandboxWith(t, USER_GITCONFIG);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', ALICE_TOKEN);
  t.is((await sandbox.cli(['install'])).code, 0);
  const cloudOnly = readFileSync(gitconfig, 'utf8');
  t.notRegex(cloudOnly, /useHttpPath/, 'a single account without routes needs no useHttpPath');

  await sandbox.addAccount('corp', 'https://git.corp/bitbucket', 'alice', CORP_TOKEN);
  const dryRun = await sandbox.cli(['install', '--dry-run']);
  t.is(dryRun.code, 0, dryRun.stderr);
  const planned = dryRun.stdout.trim().split('\n').slice(1).map((line) => line.trim());
  t.is(planned.length, 2, 'the empty value, the helper behind the fast path');
  t.is(planned[0], `git config --global --add credential.https://git.corp/bitbucket.helper ''`);
  t.true(planned.every((line) => line.startsWith('git config --global --add credential.https://git.corp/bitbucket.helper ')));
  const install = await sandbox.cli(['install']);
  t.is(install.code, 0, install.stderr);
  t.regex(install.stdout, /unchanged +credential\.https:\/\/bitbucket\.org\.helper/);
  t.regex(install.stdout, /set +credential\.https:\/\/git\.corp\/bitbucket\.helper/);
  t.true(readFileSync(gitconfig, 'utf8').startsWith(cloudOnly), 'the existing keys were not rewritten');
  t.deepEqual(await values(sandbox, 'credential.https://git.corp/bitbucket.helper'), ['', ...installedChain(sandbox)]);

  t.is((await sandbox.cli(['uninstall'])).code, 0);
  t.is(readFileSync(gitconfig, 'utf8'), USER_GITCONFIG);
});

test('a user helper for the same URL: refused without --force, replaced with --force, restored by uninstall', async (t) => {
  const userSection = '[credential "https://bitbucket.org"]\n\thelper = store\n';
  const original = USER_GITCONFIG + userSection + '[core]\n\tpager = less\n';
  const { sandbox, gitconfig } = sandboxWith(t, original);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', ALICE_TOKEN);

  const refused = await sandbox.cli(['install']);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /credential\.https:\/\/bitbucket\.org\.helper = store/, 'shows the user helper');
  t.regex(refused.stderr, /--force/);
  t.is(readFileSync(gitconfig, 'utf8'), original);
  const refusedDryRun = await sandbox.cli(['install', '--dry-run']);
  t.is(refusedDryRun.code, 1);

  const forced = await sandbox.cli(['install', '--force']);
  t.is(forced.code, 0, forced.stderr);
  t.regex(forced.stdout, /replaced +credential\.https:\/\/bitbucket\.org\.helper .*was store/);
  t.deepEqual(await values(sandbox, 'credential.https://bitbucket.org.helper'), ['', ...installedChain(sandbox)]);
  // Still idempotent once replaced.
  const again = await sandbox.cli(['install']);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /Nothing to change/);

  const uninstall = await sandbox.cli(['uninstall']);
  t.is(uninstall.code, 0, uninstall.stderr);
  t.regex(uninstall.stdout, /restored +credential\.https:\/\/bitbucket\.org\.helper = store/);
  t.deepEqual(await values(sandbox, 'credential.https://bitbucket.org.helper'), ['store']);
  t.is(readFileSync(gitconfig, 'utf8'), original);
});

test('--dry-run changes nothing and prints exactly the git config commands install runs', async (t) => {
  const { sandbox, gitconfig } = sandboxWith(t, USER_GITCONFIG);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', ALICE_TOKEN);
  await sandbox.addAccount('personal', 'https://bitbucket.org', 'bob', BOB_TOKEN);
  const recordFile = join(sandbox.configHome, 'state', 'git-install.json');

  const dryRun = await sandbox.cli(['install', '--dry-run']);
  t.is(dryRun.code, 0, dryRun.stderr);
  t.is(readFileSync(gitconfig, 'utf8'), USER_GITCONFIG);
  t.false(existsSync(recordFile));
  const commands = dryRun.stdout.split('\n').filter((line) => line.startsWith('  git config '));
  t.is(commands.length, 3, 'helper: the empty value, ours behind the fast path; useHttpPath');

  // The printed commands, run by a shell, produce exactly what install produces.
  for (const command of commands) {
    const result = spawnSync('sh', ['-c', command], { env: sandbox.env, encoding: 'utf8' });
    t.is(result.status, 0, result.stderr);
  }
  const byHand = readFileSync(gitconfig, 'utf8');
  writeFileSync(gitconfig, USER_GITCONFIG);
  t.is((await sandbox.cli(['install'])).code, 0);
  t.is(readFileSync(gitconfig, 'utf8'), byHand);
  t.true(existsSync(recordFile));

  const installed = readFileSync(gitconfig, 'utf8');
  const uninstallDryRun = await sandbox.cli(['uninstall', '--dry-run']);
  t.is(uninstallDryRun.code, 0, uninstallDryRun.stderr);
  t.regex(uninstallDryRun.stdout, /git config --global --unset-all credential\.https:\/\/bitbucket\.org\.helper/);
  t.is(readFileSync(gitconfig, 'utf8'), installed);
  t.true(existsSync(recordFile));
});

test('--keep-other-helpers adds no empty value; a later install without it updates our keys only', async (t) => {
  const { sandbox, gitconfig } = sandboxWith(t, USER_GITCONFIG);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', ALICE_TOKEN);
  t.is((await sandbox.cli(['install', '--keep-other-helpers'])).code, 0);
  t.deepEqual(await values(sandbox, 'credential.https://bitbucket.org.helper'), installedChain(sandbox));
  const update = await sandbox.cli(['install']);
  t.is(update.code, 0, update.stderr);
  t.regex(update.stdout, /updated +credential\.https:\/\/bitbucket\.org\.helper/);
  t.deepEqual(await values(sandbox, 'credential.https://bitbucket.org.helper'), ['', ...installedChain(sandbox)]);
  t.is((await sandbox.cli(['uninstall'])).code, 0);
  t.is(readFileSync(gitconfig, 'utf8'), USER_GITCONFIG);
});

test('a helper path with spaces is quoted so that git runs it: install from there, then clone', async (t) => {
  const sim = await withSimulator(t);
  const { sandbox, gitconfig } = sandboxWith(t, '');
  // A real copy of the product in a directory with spaces (dist, its package.json, its dependencies).
  const product = join(sandbox.root, 'Program Files', 'git credential bitbucket');
  mkdirSync(product, { recursive: true });
  cpSync(join(REPO_ROOT, 'dist'), join(product, 'dist'), { recursive: true });
  cpSync(join(REPO_ROOT, 'package.json'), join(product, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(product, 'node_modules'));
  const helper = join(product, 'dist', 'helper', 'git-credential-bitbucket.cjs');
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);

  // The default (fast path): the Node helper after it is quoted inside a shell function.
  const install = await sandbox.run(process.execPath, [helper, 'install']);
  t.is(install.code, 0, install.stderr);
  t.deepEqual(await values(sandbox, `credential.${sim.url}.helper`), ['', ...installedChain(sandbox, helper)]);
  // No daemon yet: the fast path finds no socket and git runs the Node helper from its quoted path.
  const clone = await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets']);
  t.is(clone.code, 0, clone.stderr);
  t.true(sim.stats().byUsername.alice!.succeeded > 0);
  t.is(sandbox.requestLog().find((request) => request.action === 'get')?.channel, 'helper');

  // Without the fast path the path itself is the value, escaped for the shell.
  const plain = await sandbox.run(process.execPath, [helper, 'install', '--no-fast-path']);
  t.is(plain.code, 0, plain.stderr);
  const expected = helper.replace(/ /g, '\\ ');
  t.deepEqual(await values(sandbox, `credential.${sim.url}.helper`), ['', expected]);
  t.true(readFileSync(gitconfig, 'utf8').includes(expected.replace(/\\/g, '\\\\')), 'git escapes the backslash in the file');
  const fetch = await sandbox.git(['fetch', '-q', 'origin'], { cwd: join(sandbox.root, 'widgets') });
  t.is(fetch.code, 0, fetch.stderr);
  t.is(sandbox.requestLog().filter((request) => request.action === 'get').at(-1)?.channel, 'helper');
});

test('scripts/install-helper.ts (npm run install-helper) runs the same installer, pointing git at dist/', async (t) => {
  const { sandbox, gitconfig } = sandboxWith(t, USER_GITCONFIG);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', ALICE_TOKEN);
  const script = (args: string[]) => sandbox.run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'install-helper.ts'), ...args], { cwd: REPO_ROOT });
  const dryRun = await script(['--dry-run']);
  t.is(dryRun.code, 0, dryRun.stderr);
  t.true(dryRun.stdout.includes(`git config --global --add credential.https://bitbucket.org.helper ''\n`));
  t.true(dryRun.stdout.includes(HELPER), 'the helper in dist/');
  t.is(readFileSync(gitconfig, 'utf8'), USER_GITCONFIG);
  const install = await script(['install']);
  t.is(install.code, 0, install.stderr);
  t.deepEqual(await values(sandbox, 'credential.https://bitbucket.org.helper'), ['', ...installedChain(sandbox)]);
  // The product's own uninstall undoes what the script installed: one record, one implementation.
  const uninstall = await sandbox.cli(['uninstall']);
  t.is(uninstall.code, 0, uninstall.stderr);
  t.is(readFileSync(gitconfig, 'utf8'), USER_GITCONFIG);
  const bad = await script(['--scope', 'nowhere']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /--scope must be one of/);
});

test('--scope local writes the repository config only, and uninstall --scope local undoes it', async (t) => {
  const { sandbox, gitconfig } = sandboxWith(t, USER_GITCONFIG);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', ALICE_TOKEN);
  t.is((await sandbox.git(['init', '-q', 'repo'])).code, 0);
  const cwd = join(sandbox.root, 'repo');
  const repoConfig = join(cwd, '.git', 'config');
  const before = readFileSync(repoConfig, 'utf8');
  const outside = await sandbox.cli(['install', '--scope', 'local']);
  t.is(outside.code, 1, 'outside a repository there is no local config');
  const install = await sandbox.cli(['install', '--scope', 'local'], { cwd });
  t.is(install.code, 0, install.stderr);
  t.true(install.stdout.includes(`${repoConfig} (local)`));
  const local = await sandbox.git(['config', '--local', '--null', '--get-all', 'credential.https://bitbucket.org.helper'], { cwd });
  t.deepEqual(local.stdout.split('\0').slice(0, -1), ['', ...installedChain(sandbox)]);
  t.is(readFileSync(gitconfig, 'utf8'), USER_GITCONFIG);
  const wrongScope = await sandbox.cli(['uninstall'], { cwd });
  t.regex(wrongScope.stdout, /Nothing to uninstall[\s\S]*uninstall --scope local/);
  t.is((await sandbox.cli(['uninstall', '--scope', 'local'], { cwd })).code, 0);
  t.is(readFileSync(repoConfig, 'utf8'), before);
});

test('helper values: absolute paths keep their leading / or drive, shell characters are escaped', (t) => {
  t.is(helperValueFor('/usr/lib/node_modules/git-credential-bitbucket/dist/helper/git-credential-bitbucket.cjs', 'linux'),
    '/usr/lib/node_modules/git-credential-bitbucket/dist/helper/git-credential-bitbucket.cjs');
  t.is(helperValueFor("/Users/Jo O'Neil/My Apps/x (1)/h.cjs", 'darwin'), "/Users/Jo\\ O\\'Neil/My\\ Apps/x\\ \\(1\\)/h.cjs");
  t.is(helperValueFor('C:\\Program Files\\nodejs\\node_modules\\h.cjs', 'win32'), 'C:/Program\\ Files/nodejs/node_modules/h.cjs');
  t.throws(() => helperValueFor('relative/h.cjs', 'linux'));
  // The escaped value, run by the shell the way git runs it, names the original path.
  const path = "/tmp/a b/it's $HOME & `x`";
  const echoed = spawnSync('sh', ['-c', `printf %s ${helperValueFor(path, 'linux')}`], { encoding: 'utf8' });
  t.is(echoed.stdout, path);
});

test('commit identities need git 2.36: an older patch release is told so and gets no includes; a 2.36 release candidate gets them', async (t) => {
  const { sandbox, gitconfig } = sandboxWith(t, USER_GITCONFIG);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', ALICE_TOKEN);
  const identity = await sandbox.cli(['account', 'set-identity', 'work', '--name', 'Alice Work', '--email', 'alice@acme.example']);
  t.is(identity.code, 0, identity.stderr);

  const old = await sandbox.cli(['install'], { env: { PATH: pathWithGitSaying(sandbox.root, '2.35.9 (Apple Git-140)') } });
  t.is(old.code, 0, old.stderr);
  t.true(old.stdout.includes('Commit identities left out: git 2.35 ignores `includeIf "hasconfig:remote.*.url:…"` (git 2.36 or newer applies them); upgrade git and run install again.\n'), old.stdout);
  t.false(readFileSync(gitconfig, 'utf8').includes('includeIf'));

  const candidate = await sandbox.cli(['install'], { env: { PATH: pathWithGitSaying(sandbox.root, '2.36.0.rc1') } });
  t.is(candidate.code, 0, candidate.stderr);
  t.false(candidate.stdout.includes('Commit identities left out'));
  t.regex(candidate.stdout, /identity +work: Alice Work <alice@acme\.example>/);
  t.true(readFileSync(gitconfig, 'utf8').includes('[includeIf "hasconfig:remote.*.url:'));
});

test('refuses when git is missing, too old, or the config file is not writable; --help', async (t) => {
  const { sandbox, gitconfig } = sandboxWith(t, USER_GITCONFIG);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', ALICE_TOKEN);

  const empty = join(sandbox.root, 'empty-bin');
  mkdirSync(empty);
  const missing = await sandbox.cli(['install'], { env: { PATH: empty } });
  t.is(missing.code, 1);
  t.regex(missing.stderr, /git was not found on PATH/);

  const old = join(sandbox.root, 'old-git');
  mkdirSync(old);
  writeFileSync(join(old, 'git'), '#!/bin/sh\necho "git version 2.17.1"\n', { mode: 0o755 });
  const tooOld = await sandbox.cli(['install'], { env: { PATH: `${old}:${process.env.PATH}` } });
  t.is(tooOld.code, 1);
  t.regex(tooOld.stderr, /git 2\.17 is too old/);

  chmodSync(gitconfig, 0o444);
  const readOnly = await sandbox.cli(['install']);
  chmodSync(gitconfig, 0o644);
  t.is(readOnly.code, 1);
  t.regex(readOnly.stderr, new RegExp(`${escape(gitconfig)} is read-only`));

  const noDir = await sandbox.cli(['install'], { env: { GIT_CONFIG_GLOBAL: join(gitconfig, 'below-a-file') } });
  t.is(noDir.code, 1);
  t.regex(noDir.stderr, /below-a-file cannot be reached \(ENOTDIR\); nothing was changed/);
  t.is(readFileSync(gitconfig, 'utf8'), USER_GITCONFIG);

  const noAccounts = sandboxWith(t, USER_GITCONFIG).sandbox;
  const nothing = await noAccounts.cli(['install']);
  t.is(nothing.code, 1);
  t.regex(nothing.stderr, /no accounts/);

  const help = await sandbox.cli(['install', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /--scope[^]*--dry-run[^]*--keep-other-helpers[^]*--force/);
  const bad = await sandbox.cli(['install', '--scope', 'everywhere']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /--scope must be one of global, system, local/);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
