// Nothing half-set-up is kept in silence: an account with no way to authenticate is refused, and
// after the last account on a host goes, `install` takes out what it had added to git's config
// for that host (our empty `helper =` line would keep the user's own helpers from answering
// there), and `account remove` says to run it.

import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HELPER, Sandbox } from './support/sandbox.js';

const WORK = 'ATATT3x-leftovertest-work-3e1f5a7c9b';
const CORP = 'BBDC-leftovertest-corp-8d6b4f2a0e1c';

const USER_GITCONFIG = ['[credential]', '\thelper = cache --timeout=600', '[user]', '\tname = Sandbox Tester', ''].join('\n');

test('account add with neither a secret nor an OAuth client is refused, naming both ways, and saves nothing', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const result = await sandbox.cli(['account', 'add', 'work', '--url', 'https://bitbucket.org', '--username', 'alice']);
  t.is(result.code, 1);
  t.regex(result.stderr, /^git-credential-bitbucket: account work needs a secret or an OAuth client, and was not added: pipe the secret and add --secret-stdin .*, or add --oauth-client-id ID and then run `git-credential-bitbucket login work`\n$/);
  t.false(existsSync(join(sandbox.configHome, 'config.json')));
  t.is((await sandbox.cli(['account', 'list', '--json'])).stdout, '[]\n');
});

test("after the last account on a host is removed, install takes out what it added there and the user's helper answers again", async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const gitconfig = sandbox.env.GIT_CONFIG_GLOBAL!;
  writeFileSync(gitconfig, USER_GITCONFIG);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', WORK);
  await sandbox.addAccount('corp', 'https://git.corp.example', 'dave', CORP);
  await sandbox.addAccount('corp2', 'https://git.corp.example', 'erin', 'BBDC-leftovertest-corp2-1a2b3c4d5e');
  t.is((await sandbox.cli(['install'])).code, 0);
  const helpersFor = async (host: string) => {
    // The helpers git runs for the host, in order, from its own trace.
    const fill = await sandbox.git(['credential', 'fill'], { input: `protocol=https\nhost=${host}\n\n`, env: { GIT_TRACE: '1' }, secretOutput: true });
    return [...fill.stderr.matchAll(/run_command: '?(.*?) get'?$/gm)].map((match) => match[1]!.replace(/^git credential-/, ''));
  };
  // Ours: the fast path (git's cache client on the daemon's socket) and the helper after it.
  const isOurs = (helpers: string[]) => helpers.length > 0 && helpers.every((helper) => helper.includes('git-cache.sock') || helper.includes(HELPER));
  t.true(isOurs(await helpersFor('git.corp.example')));
  t.is((await sandbox.git(['config', '--global', '--get', 'credential.https://git.corp.example.useHttpPath'])).stdout, 'true\n');

  // The second account on the host goes: useHttpPath is no longer needed; the helper stays.
  const one = await sandbox.cli(['account', 'remove', 'corp2']);
  t.false(one.stdout.includes('git still asks'), one.stdout);
  const tidy = await sandbox.cli(['install']);
  t.is(tidy.code, 0, tidy.stderr);
  t.regex(tidy.stdout, /removed +credential\.https:\/\/git\.corp\.example\.useHttpPath \(no account needs it any more\)/);
  t.is((await sandbox.git(['config', '--global', '--get', 'credential.https://git.corp.example.useHttpPath'])).code, 1);

  // The last one goes: remove says what to run, and install takes the host out.
  const removed = await sandbox.cli(['account', 'remove', 'corp']);
  t.is(removed.code, 0, removed.stderr);
  t.regex(removed.stdout, /No account is left on https:\/\/git\.corp\.example, but git still asks this helper for it: run `git-credential-bitbucket install` to remove that from git's config\.\n/);
  const dry = await sandbox.cli(['install', '--dry-run']);
  t.regex(dry.stdout, /git config --global --unset-all credential\.https:\/\/git\.corp\.example\.helper/);
  const install = await sandbox.cli(['install']);
  t.is(install.code, 0, install.stderr);
  t.regex(install.stdout, /removed +credential\.https:\/\/git\.corp\.example\.helper \(no account needs it any more\)/);
  t.deepEqual(await helpersFor('git.corp.example'), ['cache --timeout=600'], "the user's own helper answers for the host again");
  t.true(isOurs(await helpersFor('bitbucket.org')), 'the other host keeps ours');
  const text = readFileSync(gitconfig, 'utf8');
  t.false(text.includes('git.corp.example'), 'the section install had created is gone');
  t.true(text.startsWith(USER_GITCONFIG));
  t.regex((await sandbox.cli(['install'])).stdout, /^Nothing to change/);

  // The very last account: install (or uninstall) leaves the user's file as it was.
  await sandbox.cli(['account', 'remove', 'work']);
  const last = await sandbox.cli(['install']);
  t.is(last.code, 0, last.stderr);
  t.regex(last.stdout, /^Removed git-credential-bitbucket from .* no account is left:/);
  t.is(readFileSync(gitconfig, 'utf8'), USER_GITCONFIG);
  const again = await sandbox.cli(['install']);
  t.is(again.code, 1);
  t.regex(again.stderr, /no accounts in .*; add one first/);
});
