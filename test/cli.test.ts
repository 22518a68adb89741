// The commands people type: accounts, routes, status, and the refusals that keep a bad setup
// from ever reaching git.

import test from 'ava';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { assertAnswer, masked } from './support/answers.js';
import { HELPER, Sandbox, credentialRequest } from './support/sandbox.js';

const WORK = 'ATATT3x-clitest-work-1a2b3c4d5e6f';
const HOME = 'ATATT3x-clitest-home-6f5e4d3c2b1a';

test('account and route listings, as text and JSON, never show a secret', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', WORK);
  await sandbox.addAccount('corp', 'https://git.corp.example/bitbucket/', 'dave', HOME);
  await sandbox.addRoute('https://bitbucket.org/acme/*', 'work');
  await sandbox.addRoute('https://git.corp.example/bitbucket/scm/PROJ/*', 'corp');

  const accounts = JSON.parse((await sandbox.cli(['account', 'list', '--json'])).stdout);
  t.deepEqual(
    accounts.map((account: { name: string; kind: string; url: string; secretKind: string }) => [account.name, account.kind, account.url, account.secretKind]),
    [
      ['work', 'cloud', 'https://bitbucket.org', 'api-token'],
      ['corp', 'datacenter', 'https://git.corp.example/bitbucket', 'access-token'],
    ],
  );
  const routes = JSON.parse((await sandbox.cli(['route', 'list', '--json'])).stdout);
  t.deepEqual(routes, [
    { pattern: 'https://bitbucket.org/acme/*', account: 'work' },
    { pattern: 'https://git.corp.example/bitbucket/scm/PROJ/*', account: 'corp' },
  ]);
  const text = await sandbox.cli(['account', 'list']);
  t.regex(text.stdout, /^NAME +KIND +URL/);
  t.regex(text.stdout, /work +cloud +https:\/\/bitbucket\.org +alice +API token/);
  const status = await sandbox.cli(['status']);
  t.regex(status.stdout, /Secret store: file .*PLAINTEXT/);
  t.regex(status.stdout, /https:\/\/bitbucket\.org\/acme\/\* → work/);
  t.false(readFileSync(join(sandbox.configHome, 'config.json'), 'utf8').includes(WORK));
  sandbox.assertNoSecretLeaks(t);
});

test('account remove deletes its secrets and routes, and only those', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', WORK);
  await sandbox.addAccount('home', 'https://bitbucket.org', 'alice-home', HOME);
  await sandbox.addRoute('https://bitbucket.org/acme/*', 'work');
  await sandbox.addRoute('https://bitbucket.org/alice-home/*', 'home');
  const removed = await sandbox.cli(['account', 'remove', 'work']);
  t.is(removed.code, 0, removed.stderr);
  t.regex(removed.stdout, /Removed account work, 1 secret\(s\) .* and its routes https:\/\/bitbucket\.org\/acme\/\*/);
  const secrets = readFileSync(join(sandbox.configHome, 'secrets.json'), 'utf8');
  t.false(secrets.includes(WORK));
  t.true(secrets.includes(HOME));
  t.deepEqual(JSON.parse((await sandbox.cli(['route', 'list', '--json'])).stdout), [{ pattern: 'https://bitbucket.org/alice-home/*', account: 'home' }]);
  const get = await sandbox.helper('get', credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/x.git' }));
  assertAnswer(t, get.stdout, `username=alice-home\npassword=${HOME}\n`, 'the one remaining account serves the host');
});

test('bad input is refused with a clear message and changes nothing', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', WORK);
  const config = join(sandbox.configHome, 'config.json');
  const secrets = join(sandbox.configHome, 'secrets.json');
  const before = [readFileSync(config), readFileSync(secrets)];
  const refused: Array<[string[], string | undefined, RegExp]> = [
    [['account', 'add', 'x', '--url', 'http://bitbucket.org', '--username', 'a', '--secret-stdin'], 'ATATT3x-clitest-refused-000001\n', /plain http would send the secret unencrypted/],
    [['account', 'add', 'x', '--url', 'https://bitbucket.org', '--username', 'a', '--secret-stdin', '--secret-kind', 'app-password'], 'ATBB-clitest-refused-000002\n', /app passwords stopped working on 2026-06-09; create an API token/],
    [['account', 'add', 'x', '--url', 'https://bitbucket.org', '--username', 'a', '--secret-stdin', '--secret-kind', 'password'], 'clitest-refused-000003\n', /does not accept account passwords for git/],
    [['account', 'add', 'x', '--url', 'https://token@bitbucket.org', '--username', 'a'], undefined, /put the username in --username/],
    [['account', 'add', 'work', '--url', 'https://bitbucket.org', '--username', 'a'], undefined, /account work exists/],
    [['account', 'add', 'bad name', '--url', 'https://bitbucket.org', '--username', 'a'], undefined, /must be 1-64 letters/],
    [['account', 'add', 'x', '--url', 'https://bitbucket.org', '--username', 'a', '--secret-stdin'], '\n', /expected exactly one secret \(one line\) on stdin/],
    [['account', 'add', 'x', '--url', 'https://bitbucket.org', '--username', 'a', '--bogus'], undefined, /account add: unknown option '--bogus'/],
    [['account', 'remove', 'ghost'], undefined, /no account named ghost \(accounts: work\)/],
    [['account', 'set-secret', 'ghost', '--secret-stdin'], 'ATATT3x-clitest-refused-000004\n', /no account named ghost/],
    [['route', 'add', 'https://bitbucket.org/acme/*', 'ghost'], undefined, /no account named ghost/],
    [['route', 'add', 'https://github.com/acme/*', 'work'], undefined, /account work is on https:\/\/bitbucket\.org; a route for it must be on the same host/],
    [['route', 'add', 'bitbucket.org/acme', 'work'], undefined, /must look like https:\/\/bitbucket\.org\/WORKSPACE\/\*/],
    [['route', 'remove', 'https://bitbucket.org/nothing/*'], undefined, /no route https:\/\/bitbucket\.org\/nothing\/\*/],
  ];
  for (const [args, input, message] of refused) {
    if (input?.trim()) sandbox.trackSecrets(input.trim());
    const result = await sandbox.cli(args, input === undefined ? {} : { input });
    t.is(result.code, 1, args.join(' '));
    t.regex(result.stderr, message, args.join(' '));
  }
  t.deepEqual([readFileSync(config), readFileSync(secrets)], before);
  sandbox.assertNoSecretLeaks(t);
});

test('plain http is refused for any host but loopback, and a secret only goes to its own host', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', WORK);
  await sandbox.addAccount('local', 'http://127.0.0.1:7990', 'erin', HOME, ['--kind', 'datacenter']);
  const ask = (fields: Record<string, string>) => sandbox.helper('get', credentialRequest(fields));
  t.is(masked((await ask({ protocol: 'http', host: 'bitbucket.org', path: 'acme/x.git' })).stdout), '');
  t.is(masked((await ask({ protocol: 'https', host: 'bitbucket.org.evil.example', path: 'acme/x.git' })).stdout), '');
  t.is(masked((await ask({ protocol: 'https', host: 'evil.example', path: 'bitbucket.org/acme/x.git' })).stdout), '');
  t.is(masked((await ask({ protocol: 'http', host: '127.0.0.1:7991' })).stdout), '');
  t.regex(masked((await ask({ protocol: 'http', host: '127.0.0.1:7990' })).stdout), /^username=erin\n/);
  // The unanswered ones did reach the daemon, which judged them not ours.
  const outcomes = sandbox.requestLog().map((request) => request.outcome);
  t.deepEqual(outcomes, ['not-ours', 'not-ours', 'not-ours', 'not-ours', 'answered']);

  // A hand-edited config cannot smuggle in a plain-http account for a remote host.
  const file = join(sandbox.configHome, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8'));
  config.accounts.push({ name: 'leaky', kind: 'datacenter', url: 'http://git.corp.example', username: 'x' });
  writeFileSync(file, JSON.stringify(config));
  const leaky = await ask({ protocol: 'http', host: 'git.corp.example' });
  t.is(masked(leaky.stdout), '');
  t.regex(leaky.stderr, /plain http would send the secret unencrypted/);
});

test('--help and unknown sub-commands', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const help = await sandbox.cli(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /account add\|set-secret\|set-oauth\|set-email\|verify\|list\|remove/);
  for (const command of ['account', 'route', 'daemon']) {
    const usage = await sandbox.cli([command, '--help']);
    t.is(usage.code, 0, command);
    t.regex(usage.stdout, new RegExp(`git-credential-bitbucket ${command} `), command);
    t.is((await sandbox.cli([command, 'frobnicate'])).code, 1, command);
  }
  t.regex((await sandbox.cli(['--version'])).stdout, /^\d+\.\d+\.\d+\n$/);
  t.false(existsSync(join(sandbox.configHome, 'config.json')), 'reading commands create no config');
});

test('concurrent adds of one account: one wins, and its secret is the one stored', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const secrets = Array.from({ length: 8 }, (_, i) => `ATATT3x-clitest-race-${i}-abcdef0123`);
  const results = await Promise.all(
    secrets.map((secret) => sandbox.cli(['account', 'add', 'work', '--url', 'https://bitbucket.org', '--username', 'alice', '--secret-stdin', '--no-verify'], { input: secret })),
  );
  const winners = results.flatMap((result, i) => (result.code === 0 ? [i] : []));
  t.is(winners.length, 1, results.map((result) => result.stderr).join(''));
  for (const result of results) if (result.code !== 0) t.regex(result.stderr, /account work exists/);
  const get = await sandbox.helper('get', credentialRequest({ protocol: 'https', host: 'bitbucket.org' }));
  assertAnswer(t, get.stdout, `username=alice\npassword=${secrets[winners[0]!]}\n`);
});

test('account names that are also JavaScript property names are plain names', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('constructor', 'https://bitbucket.org', 'alice', WORK);
  await sandbox.addAccount('hasOwnProperty', 'https://git.corp.example', 'dave', HOME);
  const status = JSON.parse((await sandbox.cli(['status', '--json'])).stdout);
  t.deepEqual(status.accounts.map((account: { secretStored: boolean }) => account.secretStored), [true, true]);
  assertAnswer(t, (await sandbox.helper('get', credentialRequest({ protocol: 'https', host: 'bitbucket.org' }))).stdout, `username=alice\npassword=${WORK}\n`);
});

test('a lock left behind by a killed process is taken over', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', WORK);
  // proper-lockfile's lock is a directory next to the file; this one is a minute old.
  const lock = join(sandbox.configHome, 'config.json.lock');
  mkdirSync(lock);
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  const route = await sandbox.cli(['route', 'add', 'https://bitbucket.org/acme/*', 'work']);
  t.is(route.code, 0, route.stderr);
  t.false(existsSync(lock));
});

test('an expiry date: status and doctor warn two weeks ahead, git hears of it in the last three days', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const day = (offset: number) => new Date(Date.now() + offset * 24 * 3600 * 1000).toISOString().slice(0, 10);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', WORK, ['--expires', day(3)]);
  await sandbox.addAccount('corp', 'https://git.corp.example', 'dave', HOME, ['--expires', day(10)]);
  await sandbox.addAccount('later', 'https://git.later.example', 'erin', 'ATATT3x-clitest-later-9f8e7d6c', ['--expires', day(60)]);
  const get = (host: string) => sandbox.helper('get', credentialRequest({ protocol: 'https', host }));

  const soon = await get('bitbucket.org');
  assertAnswer(t, soon.stdout, `username=alice\npassword=${WORK}\n`, 'still answered');
  t.regex(soon.stderr, new RegExp(`^git-credential-bitbucket: the API token of account work expires on ${day(3)} \\(in [23] days\\); create a new one and run \`git-credential-bitbucket account set-secret work --secret-stdin --expires YYYY-MM-DD\`\\n$`));
  t.is((await get('git.corp.example')).stderr, '', 'ten days ahead: not yet worth a line in git');
  t.is((await get('git.later.example')).stderr, '');

  const status = JSON.parse((await sandbox.cli(['status', '--json'])).stdout) as { accounts: Array<{ name: string; expiryWarning: string | null }> };
  t.deepEqual(status.accounts.map((account) => [account.name, account.expiryWarning !== null]), [['work', true], ['corp', true], ['later', false]]);
  t.regex((await sandbox.cli(['status'])).stdout, /corp: .*WARNING: the access token of account corp expires on/);

  const doctor = JSON.parse((await sandbox.cli(['doctor', '--json'])).stdout) as { checks: Array<{ check: string; pass: boolean }> };
  t.deepEqual(
    doctor.checks.filter((check) => check.check.startsWith('expiry')).map((check) => [check.check, check.pass]),
    [['expiry work', false], ['expiry corp', false], ['expiry later', true]],
  );

  // A new secret clears the old date; a date in the past is reported as expired.
  t.is((await sandbox.cli(['account', 'set-secret', 'work', '--secret-stdin', '--no-verify'], { input: 'ATATT3x-clitest-renewed-1a2b3c4d' })).code, 0);
  t.is((await get('bitbucket.org')).stderr, '');
  t.is((await sandbox.cli(['account', 'set-secret', 'corp', '--secret-stdin', '--no-verify', '--expires', day(-1)], { input: 'ATATT3x-clitest-stale-5e6f7a8b' })).code, 0);
  t.regex((await get('git.corp.example')).stderr, /the access token of account corp expired on /);
  const bad = await sandbox.cli(['account', 'set-secret', 'corp', '--secret-stdin', '--no-verify', '--expires', 'next tuesday'], { input: 'ATATT3x-clitest-never-9a8b7c6d' });
  t.is(bad.code, 1);
  t.regex(bad.stderr, /--expires "next tuesday": give the date the secret expires, as YYYY-MM-DD/);
  sandbox.trackSecrets('ATATT3x-clitest-renewed-1a2b3c4d', 'ATATT3x-clitest-stale-5e6f7a8b');
});

test('account add --secret-stdin waits for a secret that a slow writer sends late (a non-blocking pipe)', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  sandbox.trackSecrets(WORK);
  // A Node parent's pipe is non-blocking: a synchronous read of it failed with EAGAIN (exit 2)
  // when the secret had not arrived yet. The secret is written only after the command has started.
  const child = spawn(process.execPath, [HELPER, 'account', 'add', 'work', '--url', 'https://bitbucket.org', '--username', 'alice', '--secret-stdin', '--no-verify'], {
    env: sandbox.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  // Waiting for the process to exist is an event, not a guess: its first read happens after.
  await new Promise<void>((resolve) => child.once('spawn', resolve));
  setTimeout(() => child.stdin.end(WORK + '\n'), 500);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  t.is(code, 0, stderr);
  assertAnswer(t, (await sandbox.helper('get', credentialRequest({ protocol: 'https', host: 'bitbucket.org' }))).stdout, `username=alice\npassword=${WORK}\n`);
});
