// `--help` and argument mistakes, through the built executable as a person types them: every
// command and sub-command answers -h/--help with its usage on stdout, exit 0, and does nothing
// else (no daemon started or stopped, no file written, no command module loaded); a mistyped
// option is named, with the usage, and Node's own parser message never reaches the user.

import test from 'ava';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, isGroup } from '../src/cli/commands.js';
import { DEFAULT_REDIRECT_PORT, STATIC_SECRET_KINDS } from '../src/core/accounts.js';
import { SECRET_STORE_ENV } from '../src/core/secrets/open-store.js';
import { SECRET_STORE_KINDS } from '../src/core/secrets/secret-store.js';
import { SCOPES } from '../src/installer/git.js';
import { REPO_ROOT, Sandbox } from './support/sandbox.js';

/** Every command and sub-command of the table, as the words a person types. */
const PATHS: string[][] = COMMANDS.flatMap((command) => [[command.name], ...(isGroup(command) ? command.subcommands.map((sub) => [command.name, sub.name]) : [])]);

test('every command and sub-command prints its usage for -h, --help and `help`, exit 0, and does nothing else', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const failures: string[] = [];
  for (const path of PATHS) {
    for (const args of [[...path, '--help'], [...path, '-h'], ['help', ...path]]) {
      const result = await sandbox.cli(args);
      const said = args.join(' ');
      if (result.code !== 0) failures.push(`${said}: exit ${result.code}: ${result.stderr}`);
      if (result.stderr !== '') failures.push(`${said}: stderr ${result.stderr}`);
      const usage = path.length === 2 ? `Usage: git-credential-bitbucket ${path.join(' ')}` : `git-credential-bitbucket ${path[0]} `;
      if (!result.stdout.includes(usage)) failures.push(`${said}: no "${usage}" in ${result.stdout}`);
    }
  }
  t.deepEqual(failures, []);
  t.deepEqual(sandbox.daemonPids(), [], 'no daemon was started (daemon start --help, doctor --help, status --help)');
  t.false(existsSync(sandbox.configHome), 'nothing was written');
  const top = await sandbox.cli(['--help']);
  t.is(top.code, 0);
  for (const command of COMMANDS) t.true(top.stdout.includes(`\n  ${command.name} `), command.name);
});

test('daemon stop --help leaves a running daemon alone; --help after other arguments still only helps', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  t.is((await sandbox.cli(['daemon', 'start'])).code, 0);
  const before = sandbox.daemonPids();
  t.is(before.length, 1);
  const stop = await sandbox.cli(['daemon', 'stop', '--help']);
  t.is(stop.code, 0);
  t.regex(stop.stdout, /^Usage: git-credential-bitbucket daemon stop\n/);
  t.deepEqual(sandbox.daemonPids(), before);
  // Half-typed commands followed by --help: the usage, and no account or route appears.
  for (const args of [
    ['account', 'add', 'work', '--url', 'https://bitbucket.org', '--help'],
    ['account', '--help', 'remove'],
    ['route', 'add', 'https://bitbucket.org/acme/*', 'work', '-h'],
  ]) {
    const result = await sandbox.cli(args);
    t.is(result.code, 0, args.join(' '));
    t.regex(result.stdout, /^Usage: git-credential-bitbucket (account add|account remove|route add) /, args.join(' '));
  }
  t.false(existsSync(join(sandbox.configHome, 'config.json')));
});

test('--help loads no command module: it works with every one of them deleted', async (t) => {
  // A copy of the built package without the modules the table loads lazily: if --help needed one,
  // it would fail here with ERR_MODULE_NOT_FOUND.
  const root = mkdtempSync(join(tmpdir(), 'gcb-help-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  cpSync(join(REPO_ROOT, 'dist'), join(root, 'dist'), { recursive: true });
  cpSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  const kept = new Set(['main.js', 'commands.js', 'usage.js', 'suggest.js']);
  const removed = readdirSync(join(root, 'dist', 'cli')).filter((file) => !kept.has(file));
  t.true(removed.includes('account-commands.js') && removed.includes('doctor-command.js'));
  for (const file of removed) rmSync(join(root, 'dist', 'cli', file), { recursive: true });
  for (const dir of ['installer', 'daemon']) rmSync(join(root, 'dist', dir), { recursive: true });
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const helper = join(root, 'dist', 'helper', 'git-credential-bitbucket.cjs');
  for (const path of PATHS) {
    const result = await sandbox.run(process.execPath, [helper, ...path, '--help']);
    t.is(result.code, 0, `${path.join(' ')}: ${result.stderr}`);
  }
  // The copy really lacks them: running a command does need its module.
  t.not((await sandbox.run(process.execPath, [helper, 'status'])).code, 0);
});

test('a mistyped option or argument is named, with the usage, and nothing changes', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const cases: Array<[string[], RegExp, string]> = [
    [['account', 'add', 'work', '--url', 'https://bitbucket.org', '--usrename', 'alice'], /^git-credential-bitbucket account add: unknown option '--usrename'\n/, 'account add NAME --url BASE_URL'],
    [['account', 'add', 'work', '--username'], /^git-credential-bitbucket account add: option '--username' needs a value/, 'account add NAME'],
    [['account', 'list', '--json=yes'], /^git-credential-bitbucket account list: option '--json' takes no value\n/, 'account list [--json]'],
    [['status', '--jsn'], /^git-credential-bitbucket status: unknown option '--jsn'\n/, 'status [--json]'],
    [['status', 'now'], /^git-credential-bitbucket status: unexpected argument 'now'\n/, 'status [--json]'],
    [['route', 'suggest', '-x'], /^git-credential-bitbucket route suggest: unknown option '-x'\n/, 'route suggest [ACCOUNT]'],
    [['daemon', 'start', '--now'], /^git-credential-bitbucket daemon start: unknown option '--now'\n/, 'daemon start'],
    [['install', '--dryrun'], /^git-credential-bitbucket install: unknown option '--dryrun'\n/, 'install [--scope'],
    [['install', 'now'], /^git-credential-bitbucket install: unexpected argument 'now'\n/, 'install [--scope'],
    [['secrets', 'migrate', '--to'], /^git-credential-bitbucket secrets migrate: option '--to' needs a value/, 'secrets migrate --to'],
  ];
  for (const [args, message, usage] of cases) {
    const result = await sandbox.cli(args);
    t.is(result.code, 1, args.join(' '));
    t.regex(result.stderr, message, args.join(' '));
    t.true(result.stderr.includes(`Usage: git-credential-bitbucket ${usage}`), `${args.join(' ')}: ${result.stderr}`);
    t.false(/Unknown option|To specify a positional argument|ERR_PARSE_ARGS|argument is ambiguous/.test(result.stderr), result.stderr);
    t.is(result.stdout, '', args.join(' '));
  }
  t.false(existsSync(join(sandbox.configHome, 'config.json')));
  t.deepEqual(sandbox.daemonPids(), []);
});

test('the help texts name what the code accepts', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const help = async (...path: string[]) => (await sandbox.cli([...path, '--help'])).stdout;
  const add = await help('account', 'add');
  for (const kind of STATIC_SECRET_KINDS) t.true(add.includes(kind), kind);
  t.true(add.includes(`default port ${DEFAULT_REDIRECT_PORT}`));
  const secrets = await help('secrets');
  for (const store of SECRET_STORE_KINDS) t.true(secrets.includes(`  ${store} `), store);
  t.true(secrets.includes(SECRET_STORE_ENV));
  t.true((await help('install')).includes(`--scope ${SCOPES.join('|')}`));
});

test("every command reads its arguments through shared/args.ts, so Node's messages never reach a user", (t) => {
  const direct: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts') && !path.endsWith(join('shared', 'args.ts')) && /\bparseArgs\b[^;]*from 'node:util'/.test(readFileSync(path, 'utf8'))) direct.push(path);
    }
  };
  walk(join(REPO_ROOT, 'src'));
  t.deepEqual(direct, []);
});
