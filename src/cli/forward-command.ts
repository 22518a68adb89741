// `forward`: the user's accounts on a remote machine or in a container, without copying a secret
// there. The daemon opens a socket scoped to the chosen accounts (daemon/forwards.ts); over ssh
// it is forwarded to a random path on the host and git there is pointed at it through the
// environment (forward-remote.ts); with --socket-only the user hands the socket to a container.
// Either way the forward lasts exactly as long as this process.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from '../shared/args.js';
import { shellSingleQuote } from '../shared/shell-quote.js';
import type { ProductPaths } from '../shared/paths.js';
import { exchange } from '../client/daemon-client.js';
import { readConfig } from '../core/config.js';
import { UserError } from '../core/errors.js';
import { daemonInfo } from './daemon-commands.js';
import { holdForward, type HeldForward } from './forward-holder.js';
import { catchInterrupt } from './interrupt.js';
import { describeForwards } from './forward-list.js';
import { gitConfigEnv, parseSshCommand, remoteCommand } from './forward-remote.js';
import { printJson } from './io.js';

/** Where the socket appears inside a container, in the printed example. */
const CONTAINER_SOCKET = '/run/git-credential-bitbucket.sock';

export async function forwardCommand(args: string[], paths: ProductPaths): Promise<number> {
  const split = args.indexOf('--');
  const { values } = parseArgs({
    args: split < 0 ? args : args.slice(0, split),
    options: {
      account: { type: 'string', multiple: true, default: [] },
      name: { type: 'string' },
      'socket-only': { type: 'boolean', default: false },
      'allow-other-users': { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      close: { type: 'string' },
    },
  });
  if (values.list) return listForwards(paths, values.json);
  if (values.close !== undefined) return closeForward(paths, values.close);
  const sshWords = split < 0 ? undefined : args.slice(split + 1);
  if (values['socket-only']) {
    if (sshWords) throw new UserError('forward --socket-only runs no ssh; leave out the command after `--`');
    return socketOnly(paths, await chooseAccounts(paths, values.account), values.name ?? `socket-${process.pid}`, values['allow-other-users']);
  }
  if (values['allow-other-users']) throw new UserError('--allow-other-users is for --socket-only; over ssh the socket is only ever the remote user\'s');
  if (!sshWords) throw new UserError('forward needs an ssh command after `--` (`forward --account work -- ssh HOST`) or --socket-only');
  const ssh = parseSshCommand(sshWords);
  const accounts = await chooseAccounts(paths, values.account);
  return overSsh(paths, ssh, accounts, values.name ?? `${ssh.host.replace(/[^A-Za-z0-9._@-]/g, '-').slice(0, 50)}-${process.pid}`);
}

/** The accounts named, or those the user confirms one by one on a terminal; never all by default. */
async function chooseAccounts(paths: ProductPaths, named: string[]): Promise<string[]> {
  if (named.length > 0) return named;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UserError('name the accounts to forward with --account NAME (once per account); without a terminal to confirm them on, none is forwarded');
  }
  const { accounts } = readConfig(paths.configFile);
  if (accounts.length === 0) throw new UserError(`no accounts in ${paths.configFile}; add one with \`git-credential-bitbucket account add\``);
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const chosen: string[] = [];
  try {
    for (const account of accounts) {
      const answer = await prompt.question(`Forward account ${account.name} (${account.url}, user ${account.username})? [y/N] `);
      if (/^y(es)?$/i.test(answer.trim())) chosen.push(account.name);
    }
  } finally {
    prompt.close();
  }
  if (chosen.length === 0) throw new UserError('no account confirmed; nothing was forwarded');
  return chosen;
}

async function overSsh(paths: ProductPaths, ssh: ReturnType<typeof parseSshCommand>, accounts: string[], name: string): Promise<number> {
  const held = await holdForward(paths, { name, accounts, otherUsers: false, via: 'ssh' });
  // A fresh name per session: sshd leaves the socket file behind if the remote command cannot remove it.
  const remoteSocket = `/tmp/gcb-fwd-${randomBytes(16).toString('hex')}.sock`;
  const argv = [
    // First, so that neither the user's options nor ~/.ssh/config can override them (ssh keeps the
    // first value): no control master whose forwards would outlive the session, no forward lost.
    ...['-o', 'ControlMaster=no', '-o', 'ControlPath=none', '-o', 'ExitOnForwardFailure=yes', '-o', 'ClearAllForwardings=no'],
    ...['-R', `${remoteSocket}:${held.info.socketPath}`],
    // An interactive shell needs a terminal, which ssh allocates by itself only without a command.
    ...(ssh.command === undefined && process.stdin.isTTY ? ['-t'] : []),
    ...ssh.options,
    '--',
    ssh.host,
    remoteCommand(remoteSocket, ssh.command),
  ];
  process.stderr.write(`git-credential-bitbucket: forward ${name} gives git on ${ssh.host} account(s) ${accounts.join(', ')} until this ssh session ends.\n`);
  const child = spawn(ssh.program, argv, { stdio: 'inherit' });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => reject(new UserError(`forward: cannot run ${ssh.program}: ${error.code ?? error.message}; install OpenSSH's client or name it with its path`)));
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15)));
  });
  // Ctrl-C reaches ssh as well (same terminal): ssh decides, and this process follows it.
  const ignore = () => undefined;
  const relay = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', ignore).on('SIGTERM', relay).on('SIGHUP', relay);
  try {
    const first = await Promise.race([exited, held.lost.then(() => 'lost' as const)]);
    if (first !== 'lost') return first;
    process.stderr.write(`git-credential-bitbucket: forward ${name} was closed (\`forward --close\` or the daemon stopped); ending the ssh session.\n`);
    child.kill('SIGTERM');
    await exited;
    return 1;
  } finally {
    held.release();
    process.off('SIGINT', ignore).off('SIGTERM', relay).off('SIGHUP', relay);
  }
}

async function socketOnly(paths: ProductPaths, accounts: string[], name: string, otherUsers: boolean): Promise<number> {
  const held = await holdForward(paths, { name, accounts, otherUsers, via: 'socket-only' });
  printSocketInstructions(held, otherUsers);
  const interruption = catchInterrupt(['SIGHUP']);
  try {
    if ((await Promise.race([interruption.signalled, held.lost.then(() => 'lost' as const)])) === 'lost') {
      process.stderr.write(`git-credential-bitbucket: forward ${name} was closed (\`forward --close\` or the daemon stopped).\n`);
      return 1;
    }
    process.stdout.write(`Closed forward ${name}.\n`);
    return 0;
  } finally {
    held.release();
    interruption.release();
  }
}

function printSocketInstructions({ info }: HeldForward, otherUsers: boolean): void {
  const exportLine = (socket: string) => `export ${gitConfigEnv(socket).map(([key, value]) => `${key}=${shellSingleQuote(value)}`).join(' ')}`;
  const dockerFlags = gitConfigEnv(CONTAINER_SOCKET)
    .map(([key, value]) => `-e ${shellSingleQuote(`${key}=${value}`)}`)
    .join(' ');
  const who = otherUsers
    ? 'Every local user who knows the path can ask it for these accounts\' credentials while it is open.'
    : `Only processes of uid ${process.getuid?.() ?? 'yours'} (and root) can connect; for another uid, open it with --allow-other-users.`;
  process.stdout.write(
    [
      `Forward ${info.name} is open for account(s) ${info.accounts.join(', ')} until Ctrl-C or \`git-credential-bitbucket forward --close ${info.name}\`.`,
      `Socket: ${info.socketPath}`,
      who,
      'git settings (git 2.31 or later), for a shell on this machine:',
      exportLine(info.socketPath),
      'For a container (mount the socket, set the variables):',
      `docker run -v ${shellSingleQuote(`${info.socketPath}:${CONTAINER_SOCKET}`)} ${dockerFlags} IMAGE`,
      '',
    ].join('\n'),
  );
}

async function listForwards(paths: ProductPaths, json: boolean): Promise<number> {
  const forwards = (await daemonInfo(paths, false))?.forwards ?? [];
  if (json) printJson(forwards);
  else process.stdout.write((forwards.length === 0 ? ['No forwards open.'] : describeForwards(forwards)).join('\n') + '\n');
  return 0;
}

async function closeForward(paths: ProductPaths, name: string): Promise<number> {
  const response = await exchange(paths, { type: 'forward-close', name }, { autoStart: false });
  if (response.type === 'error') throw new UserError(response.message);
  process.stdout.write(`Closed forward ${name}.\n`);
  return 0;
}
