// Mistyped commands, as a person types them on a terminal and as a script pipes them: one line
// naming the word and the likely command, exit 1. A word git may send in future (stdin not a
// terminal, not close to a command) is still ignored in silence, as helpers must.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellSingleQuote } from '../src/shared/shell-quote.js';
import { HELPER, REPO_ROOT, Sandbox, type RunResult } from './support/sandbox.js';

const SCRIPT_APT = 'sudo apt-get install -y util-linux';
/** `script` (util-linux) runs a command on a pseudo-terminal: stdin, stdout and stderr are a tty. */
const hasScript = spawnSync('script', ['--version']).status === 0;
if (!hasScript && process.env.CI === 'true') throw new Error(`the terminal tests need script(1): ${SCRIPT_APT}`);

/** The built executable on a terminal, as a person runs it; output is the terminal's (CRLF undone). */
async function onTerminal(sandbox: Sandbox, args: string[]): Promise<RunResult> {
  const command = [HELPER, ...args].map(shellSingleQuote).join(' ');
  const result = await sandbox.run('script', ['--quiet', '--return', '--command', command, '/dev/null'], { env: { SHELL: '/bin/sh' } });
  return { ...result, stdout: result.stdout.replace(/\r\n/g, '\n') };
}

const terminalTest = hasScript ? test : test.skip;
const skipped = hasScript ? '' : ` [skipped: script(1) is missing: ${SCRIPT_APT}]`;

terminalTest(`on a terminal, a mistyped command gets one line with the likely command and exit 1${skipped}`, async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const typos: Array<[string[], string]> = [
    [['stauts'], "unknown command 'stauts'; did you mean 'status'?"],
    [['acount', 'add'], "unknown command 'acount'; did you mean 'account'?"],
    [['instal'], "unknown command 'instal'; did you mean 'install'?"],
    [['--versoin'], "unknown option '--versoin'; did you mean '--version'?"],
    [['--hlep'], "unknown option '--hlep'; did you mean '--help'?"],
    [['frobnicate'], "unknown command 'frobnicate'; run `git-credential-bitbucket --help` for the commands"],
    [['account', 'frobnicate'], "unknown account sub-command 'frobnicate'; the sub-commands are add, "],
    [['account', 'ad'], "unknown account sub-command 'ad'; did you mean 'account add'?"],
    [['daemon', 'stpo'], "unknown daemon sub-command 'stpo'; did you mean 'daemon stop'?"],
  ];
  for (const [args, line] of typos) {
    const result = await onTerminal(sandbox, args);
    t.is(result.code, 1, args.join(' '));
    t.true(result.stdout.startsWith(`git-credential-bitbucket: ${line}`), `${args.join(' ')}: ${result.stdout}`);
    t.is(result.stdout.trimEnd().split('\n').length, 1, args.join(' '));
  }
  t.deepEqual(sandbox.daemonPids(), []);
});

terminalTest(`-v, -V, --version and version print the version${skipped}`, async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const word of ['-v', '-V', '--version', 'version']) {
    const result = await onTerminal(sandbox, [word]);
    t.deepEqual([result.code, result.stdout], [0, `${version}\n`], word);
  }
  // Piped too, as a script asks it.
  for (const word of ['-v', '-V', 'version']) t.regex((await sandbox.cli([word])).stdout, /^\d+\.\d+\.\d+\n$/, word);
});

test('piped (stdin not a terminal): a word close to a command is a typo; any other word is an action git may add, ignored in silence', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  for (const [args, line] of [
    [['stauts'], "unknown command 'stauts'; did you mean 'status'?"],
    [['acount', 'list'], "unknown command 'acount'; did you mean 'account'?"],
    [['-x'], "unknown option '-x'; run `git-credential-bitbucket --help` for the commands"],
    [['account', 'frobnicate'], "unknown account sub-command 'frobnicate'"],
  ] as Array<[string[], string]>) {
    const result = await sandbox.run(HELPER, args, { input: 'protocol=https\nhost=bitbucket.org\n\n' });
    t.is(result.code, 1, args.join(' '));
    t.true(result.stderr.startsWith(`git-credential-bitbucket: ${line}`), `${args.join(' ')}: ${result.stderr}`);
    t.is(result.stdout, '', args.join(' '));
  }
  // What git itself might send one day: exit 0, not a byte of output, no daemon.
  for (const action of ['frobnicate', 'capabilities', 'approve', 'reject', 'fill', 'list']) {
    const result = await sandbox.helper(action, 'protocol=https\nhost=bitbucket.org\n\n');
    t.deepEqual([result.code, result.stdout, result.stderr], [0, '', ''], action);
  }
  t.deepEqual(sandbox.daemonPids(), []);
});
