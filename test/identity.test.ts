// Commit identities per account (#18 item 3): `account set-identity`, the includes `install`
// writes (includeIf hasconfig:remote.*.url), kept in step by route and account changes, removed
// by `uninstall`, and doctor's view of the repository it runs in. Real git decides every author.

import test, { type ExecutionContext } from 'ava';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import type { SimulatorConfig } from '../fixtures/simulator/config.js';
import { Sandbox } from './support/sandbox.js';
import { simUser } from './support/sim-fixtures.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-identitytest-alice-4b8d2f6a1c';
const BOB_TOKEN = 'ATATT3xFfGF0-identitytest-bob-9e3c7a5d0f';

const SIM_CONFIG: SimulatorConfig = {
  users: [simUser('alice', ALICE_TOKEN, { acme: 'write' }), simUser('bob', BOB_TOKEN, { bob: 'admin' })],
  accessTokens: [],
  workspaces: { acme: ['widgets'], bob: ['notes'] },
  appPasswordsDisabled: true,
};

const GLOBAL_GITCONFIG = '# mine\n[user]\n\tname = Global Name\n\temail = global@example.com\n[init]\n\tdefaultBranch = main\n';
const GLOBAL_AUTHOR = 'Global Name <global@example.com>';
const WORK_AUTHOR = 'Alice Work <alice@acme.example>';
const HOME_AUTHOR = 'Alice Home <alice@home.example>';

interface Report {
  checks: Array<{ check: string; pass: boolean; detail: string; fix?: string }>;
}

/** A sandbox with a plain global git config and two accounts on one host: work (alice) and personal (bob). */
async function world(t: ExecutionContext, withSimulator = false): Promise<{ sandbox: Sandbox; url: string; sim?: Simulator }> {
  const sim = withSimulator ? await startSimulator({ config: SIM_CONFIG }) : undefined;
  const sandbox = new Sandbox();
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim?.close();
  });
  writeFileSync(sandbox.env.GIT_CONFIG_GLOBAL!, GLOBAL_GITCONFIG);
  const url = sim?.url ?? 'https://bitbucket.org';
  await sandbox.addAccount('work', url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  await sandbox.addAccount('personal', url, 'bob', BOB_TOKEN, ['--kind', 'cloud']);
  return { sandbox, url, sim };
}

async function ok(sandbox: Sandbox, args: string[], cwd?: string): Promise<string> {
  const result = await sandbox.cli(args, { cwd });
  if (result.code !== 0) throw new Error(`${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** A repository (no network) whose origin is `remote`. */
async function repoWithRemote(sandbox: Sandbox, dir: string, remote: string): Promise<string> {
  const cwd = join(sandbox.root, dir);
  await sandbox.git(['init', '-q', cwd]);
  await sandbox.git(['remote', 'add', 'origin', remote], { cwd });
  return cwd;
}

/** The author git puts on a new commit in `cwd`. */
async function authorOfNewCommit(sandbox: Sandbox, cwd: string): Promise<string> {
  const commit = await sandbox.git(['commit', '-q', '--allow-empty', '-m', 'identity test'], { cwd });
  if (commit.code !== 0) throw new Error(`commit failed: ${commit.stderr}`);
  return (await sandbox.git(['log', '-1', '--format=%an <%ae>'], { cwd })).stdout.trim();
}

async function setRemote(sandbox: Sandbox, cwd: string, remote: string): Promise<void> {
  await sandbox.git(['remote', 'set-url', 'origin', remote], { cwd });
}

async function setIdentities(sandbox: Sandbox): Promise<void> {
  await ok(sandbox, ['account', 'set-identity', 'work', '--name', 'Alice Work', '--email', 'alice@acme.example']);
  await ok(sandbox, ['account', 'set-identity', 'personal', '--name', 'Alice Home', '--email', 'alice@home.example']);
}

async function doctorIdentity(sandbox: Sandbox, cwd: string): Promise<Report['checks'][number] | undefined> {
  const result = await sandbox.cli(['doctor', '--json'], { cwd });
  return (JSON.parse(result.stdout) as Report).checks.find((check) => check.check.startsWith('identity'));
}

test('commits in clones of two routed repositories carry the two identities; a repository elsewhere keeps the global one', async (t) => {
  const { sandbox, url } = await world(t, true);
  await sandbox.addRoute(`${url}/acme/*`, 'work');
  await sandbox.addRoute(`${url}/bob/*`, 'personal');
  await setIdentities(sandbox);
  const install = await ok(sandbox, ['install']);
  t.regex(install, /identity +work: Alice Work <alice@acme\.example> for remotes by route http:\/\/127\.0\.0\.1:\d+\/acme\/\*/);

  for (const [path, dir] of [['acme/widgets.git', 'widgets'], ['bob/notes.git', 'notes']] as const) {
    const clone = await sandbox.git(['clone', '-q', `${url}/${path}`, dir]);
    t.is(clone.code, 0, clone.stderr);
  }
  t.is(await authorOfNewCommit(sandbox, join(sandbox.root, 'widgets')), WORK_AUTHOR);
  t.is(await authorOfNewCommit(sandbox, join(sandbox.root, 'notes')), HOME_AUTHOR);
  const elsewhere = await repoWithRemote(sandbox, 'elsewhere', 'https://github.com/acme/widgets.git');
  t.is(await authorOfNewCommit(sandbox, elsewhere), GLOBAL_AUTHOR);
  const noRemote = join(sandbox.root, 'no-remote');
  await sandbox.git(['init', '-q', noRemote]);
  t.is(await authorOfNewCommit(sandbox, noRemote), GLOBAL_AUTHOR);
});

test('the remote URL forms routing accepts get the identity routing picks: user@host, case, .git, the username rule', async (t) => {
  const { sandbox, url } = await world(t);
  await sandbox.addRoute(`${url}/acme/*`, 'work');
  await sandbox.addRoute(`${url}/acme/secret`, 'personal');
  await setIdentities(sandbox);
  await ok(sandbox, ['install']);
  const repo = await repoWithRemote(sandbox, 'repo', `${url}/acme/widgets.git`);
  const cases: Array<[string, string]> = [
    [`${url}/acme/widgets.git`, WORK_AUTHOR],
    [`${url}/acme/widgets`, WORK_AUTHOR],
    [`https://x-token-auth@bitbucket.org/acme/widgets.git`, WORK_AUTHOR],
    [`https://alice@bitbucket.org/acme/widgets.git`, WORK_AUTHOR],
    [`https://bitbucket.org/ACME/Widgets.git`, WORK_AUTHOR],
    // The most specific route wins, as it does for the credential.
    [`https://bitbucket.org/acme/secret.git`, HOME_AUTHOR],
    [`https://bitbucket.org/acme/Secret`, HOME_AUTHOR],
    [`https://bitbucket.org/acme/secret-other.git`, WORK_AUTHOR],
    // A username in the URL picks the account before any route.
    [`https://bob@bitbucket.org/acme/widgets.git`, HOME_AUTHOR],
    [`https://alice@bitbucket.org/acme/secret.git`, WORK_AUTHOR],
    [`https://bitbucket.org/nobody/widgets.git`, GLOBAL_AUTHOR],
    [`https://bitbucket.org.evil.example/acme/widgets.git`, GLOBAL_AUTHOR],
    [`git@bitbucket.org:acme/widgets.git`, GLOBAL_AUTHOR],
  ];
  for (const [remote, author] of cases) {
    await setRemote(sandbox, repo, remote);
    t.is(await authorOfNewCommit(sandbox, repo), author, remote);
  }
});

test('a Data Center account alone under its context path gets every repository there without a route', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  writeFileSync(sandbox.env.GIT_CONFIG_GLOBAL!, GLOBAL_GITCONFIG);
  await sandbox.addAccount('corp', 'https://git.corp.example/bitbucket', 'asmith', 'BBDC-identitytest-corp-5e1a9c3b7d');
  await ok(sandbox, ['account', 'set-identity', 'corp', '--email', 'a.smith@corp.example']);
  await ok(sandbox, ['install']);
  const repo = await repoWithRemote(sandbox, 'repo', 'https://git.corp.example/bitbucket/scm/PROJ/repo.git');
  // Only the e-mail was set: the name stays git's own.
  t.is(await authorOfNewCommit(sandbox, repo), 'Global Name <a.smith@corp.example>');
  await setRemote(sandbox, repo, 'https://git.corp.example/other-app/scm/PROJ/repo.git');
  t.is(await authorOfNewCommit(sandbox, repo), GLOBAL_AUTHOR);
});

test('route and identity changes after install reach git at once; the includes stay in precedence order', async (t) => {
  const { sandbox, url } = await world(t);
  await sandbox.addRoute(`${url}/acme/secret`, 'work');
  await setIdentities(sandbox);
  await ok(sandbox, ['install']);
  const secret = await repoWithRemote(sandbox, 'secret', `${url}/acme/secret.git`);
  const widgets = await repoWithRemote(sandbox, 'widgets', `${url}/acme/widgets.git`);
  t.is(await authorOfNewCommit(sandbox, widgets), GLOBAL_AUTHOR);

  // The less specific route comes later in config.json and belongs to the later account, yet
  // the more specific one still wins.
  const added = await ok(sandbox, ['route', 'add', `${url}/acme/*`, 'personal']);
  t.regex(added, /Updated the commit identity includes/);
  t.is(await authorOfNewCommit(sandbox, widgets), HOME_AUTHOR);
  t.is(await authorOfNewCommit(sandbox, secret), WORK_AUTHOR);

  await ok(sandbox, ['account', 'set-identity', 'personal', '--email', 'alice@home-new.example']);
  t.is(await authorOfNewCommit(sandbox, widgets), 'Alice Home <alice@home-new.example>', 'a flag left out keeps its value');

  await ok(sandbox, ['route', 'remove', `${url}/acme/*`]);
  t.is(await authorOfNewCommit(sandbox, widgets), GLOBAL_AUTHOR);

  await ok(sandbox, ['account', 'set-identity', 'work', '--clear']);
  t.is(await authorOfNewCommit(sandbox, secret), GLOBAL_AUTHOR);
  t.false(existsSync(join(sandbox.configHome, 'identities', 'work.gitconfig')));

  // A second account on a host takes the whole host from the first: only its routes remain.
  const sandbox2 = new Sandbox();
  t.teardown(() => sandbox2.cleanup());
  writeFileSync(sandbox2.env.GIT_CONFIG_GLOBAL!, GLOBAL_GITCONFIG);
  await sandbox2.addAccount('work', 'https://bitbucket.org', 'alice', ALICE_TOKEN);
  await ok(sandbox2, ['account', 'set-identity', 'work', '--name', 'Alice Work', '--email', 'alice@acme.example']);
  await ok(sandbox2, ['install']);
  const any = await repoWithRemote(sandbox2, 'any', 'https://bitbucket.org/bob/notes.git');
  t.is(await authorOfNewCommit(sandbox2, any), WORK_AUTHOR, 'the only account on the host');
  await sandbox2.addAccount('personal', 'https://bitbucket.org', 'bob', BOB_TOKEN);
  t.is(await authorOfNewCommit(sandbox2, any), GLOBAL_AUTHOR, 'no longer the only account, and no route');
});

test('uninstall removes exactly the includes and the identity files: the git config byte for byte as before', async (t) => {
  const { sandbox, url } = await world(t);
  await sandbox.addRoute(`${url}/acme/*`, 'work');
  await sandbox.addRoute(`${url}/bob/*`, 'personal');
  await setIdentities(sandbox);
  const gitconfig = sandbox.env.GIT_CONFIG_GLOBAL!;
  const before = readFileSync(gitconfig);

  const dryRun = await ok(sandbox, ['install', '--dry-run']);
  t.regex(dryRun, /git config --global --add 'includeIf\.hasconfig:remote\.\*\.url:https:\/\/bitbucket\.org\/\[aA\]\[cC\]\[mM\]\[eE\]\/\*\*\.path' /);
  t.deepEqual(readFileSync(gitconfig), before, 'a dry run changes nothing');
  t.false(existsSync(join(sandbox.configHome, 'identities')));

  await ok(sandbox, ['install']);
  const installed = readFileSync(gitconfig);
  t.true(existsSync(join(sandbox.configHome, 'identities', 'work.gitconfig')));
  t.regex(await ok(sandbox, ['install']), /Nothing to change/);
  t.deepEqual(readFileSync(gitconfig), installed, 'a second install changes nothing');

  const uninstall = await ok(sandbox, ['uninstall']);
  t.regex(uninstall, /removed +includeIf\.hasconfig:remote\.\*\.url:/);
  t.is(readFileSync(gitconfig, 'utf8'), before.toString());
  t.false(existsSync(join(sandbox.configHome, 'identities')));
  // Routes changed after uninstall touch git's config no more.
  await ok(sandbox, ['route', 'add', `${url}/other/*`, 'work']);
  t.is(readFileSync(gitconfig, 'utf8'), before.toString());
});

test('a user.email written after the includes wins: doctor names the file, install puts the includes after it', async (t) => {
  // With the simulator: doctor also checks the accounts with Bitbucket.
  const { sandbox, url } = await world(t, true);
  await sandbox.addRoute(`${url}/acme/*`, 'work');
  await sandbox.addRoute(`${url}/bob/*`, 'personal');
  await ok(sandbox, ['account', 'set-identity', 'work', '--name', 'Alice Work', '--email', 'alice@acme.example']);
  await ok(sandbox, ['install']);
  const repo = await repoWithRemote(sandbox, 'repo', `${url}/acme/widgets.git`);
  const good = await doctorIdentity(sandbox, repo);
  t.true(good?.pass, good?.detail);
  t.true(good!.detail.includes(`origin ${url}/acme/widgets.git → account work (route ${url}/acme/*); git commits here as Alice Work <alice@acme.example>`), good!.detail);

  const gitconfig = sandbox.env.GIT_CONFIG_GLOBAL!;
  appendFileSync(gitconfig, '[user]\n\temail = late@example.com\n');
  t.is(await authorOfNewCommit(sandbox, repo), 'Alice Work <late@example.com>');
  const bad = await doctorIdentity(sandbox, repo);
  t.false(bad?.pass);
  t.true(bad!.detail.includes(`late@example.com> (set in ${gitconfig})`), bad!.detail);
  t.true(bad!.fix!.includes(gitconfig), bad!.fix);

  await ok(sandbox, ['install']);
  t.is(await authorOfNewCommit(sandbox, repo), WORK_AUTHOR);
  t.true((await doctorIdentity(sandbox, repo))?.pass);

  // Routed to an account without an identity: git's own author, and doctor says so.
  await setRemote(sandbox, repo, `${url}/bob/notes.git`);
  const none = await doctorIdentity(sandbox, repo);
  t.true(none?.pass);
  t.regex(none!.detail, /account personal has no commit identity; git commits here as Global Name <late@example\.com>/);
  // Outside a repository there is nothing to say about one.
  t.is(await doctorIdentity(sandbox, sandbox.home), undefined);
});

test('set-identity: any name survives git config quoting; bad input changes nothing and says what to do', async (t) => {
  const { sandbox, url } = await world(t);
  await sandbox.addRoute(`${url}/acme/*`, 'work');
  await ok(sandbox, ['install']);
  const name = `Ann "Q" O'Brien \\ #1 ; x`;
  const set = await ok(sandbox, ['account', 'set-identity', 'work', '--name', name, '--email', 'ann@acme.example']);
  t.regex(set, /commits in the repositories routed to it are by Ann/);
  const repo = await repoWithRemote(sandbox, 'repo', `${url}/acme/widgets.git`);
  t.is(await authorOfNewCommit(sandbox, repo), `${name} <ann@acme.example>`);

  const config = readFileSync(join(sandbox.configHome, 'config.json'), 'utf8');
  for (const args of [
    ['work', '--name', 'two\nlines'],
    ['work', '--email', 'not an address'],
    ['work', '--clear', '--email', 'a@b.example'],
    ['work'],
    ['nobody', '--email', 'a@b.example'],
  ]) {
    const result = await sandbox.cli(['account', 'set-identity', ...args]);
    t.is(result.code, 1, args.join(' '));
    t.is(result.stderr.trim().split('\n').length, 1, result.stderr);
  }
  t.is(readFileSync(join(sandbox.configHome, 'config.json'), 'utf8'), config);

  const list = await ok(sandbox, ['account', 'list']);
  t.regex(list, /COMMITS AS/);
  t.true(list.includes(`${name} <ann@acme.example>`));
  t.regex(await ok(sandbox, ['status']), /work: .*; commits as Ann/);
  const json = JSON.parse(await ok(sandbox, ['account', 'list', '--json'])) as Array<{ name: string; identity: unknown }>;
  t.deepEqual(json.find((row) => row.name === 'work')?.identity, { name, email: 'ann@acme.example' });
});

test('without install, set-identity says how to hand the identity to git', async (t) => {
  const { sandbox } = await world(t);
  const set = await ok(sandbox, ['account', 'set-identity', 'work', '--email', 'alice@acme.example']);
  t.regex(set, /Run `git-credential-bitbucket install` to hand it to git/);
});
