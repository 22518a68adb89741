// `npm run demo`: the product end to end with no Bitbucket account. Starts the bundled
// simulator, creates two accounts on one host in a temporary config home, routes /acme/* to one
// and /personal/* to the other, then clones, commits and pushes to both with plain git and prints
// which account served each operation (read from the daemon's log). Cleans up after itself.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../fixtures/simulator/config.js';
import { startSimulator } from '../fixtures/simulator/server.js';

const root = resolve(import.meta.dirname, '..');
const helper = join(root, 'dist', 'helper', 'git-credential-bitbucket.cjs');
const simConfig = loadConfig(join(root, 'fixtures', 'simulator', 'default.json'));
const apiToken = (username: string) => simConfig.users.find((user) => user.username === username)!.secrets.find((secret) => secret.kind === 'api-token')!.value;

const work = mkdtempSync(join(tmpdir(), 'gcb-demo-'));
const configHome = join(work, 'git-credential-bitbucket');
const logFile = join(configHome, 'state', 'daemon.log');
const gitconfig = join(work, 'gitconfig');
mkdirSync(join(work, 'home'));
const env: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_'))),
  HOME: join(work, 'home'),
  GIT_CONFIG_GLOBAL: gitconfig,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_CREDENTIAL_BITBUCKET_HOME: configHome,
  // The demo must run on any machine, with or without an unlocked keychain: its throwaway
  // secrets go to the plaintext file store in the temporary directory.
  GIT_CREDENTIAL_BITBUCKET_SECRET_STORE: 'file',
};

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

/** Runs a command asynchronously: the simulator serves from this very process. */
async function sh(command: string, args: string[], options: { input?: string; cwd?: string; show?: string } = {}): Promise<void> {
  console.log(bold(`$ ${options.show ?? [command, ...args].join(' ')}`));
  const child = spawn(command, args, { env, cwd: options.cwd ?? work });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // A command that reads no input may exit before we finish writing it: not an error.
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (output.trim()) console.log(output.trim().replace(/^/gm, '  '));
  if (status !== 0) throw new Error(`${command} ${args[0]} failed (exit ${status})`);
}

let logOffset = 0;
/** The accounts the daemon used since the last call, from its request log. */
function servedBy(): string {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return 'no request reached the daemon';
  }
  const fresh = text.slice(logOffset);
  logOffset = text.length;
  const uses = new Map<string, string[]>();
  for (const line of fresh.split('\n').filter(Boolean)) {
    const entry = JSON.parse(line) as { msg: string; action?: string; account?: string; outcome?: string };
    if (entry.msg !== 'request' || !entry.account) continue;
    uses.set(entry.account, [...(uses.get(entry.account) ?? []), `${entry.action} ${entry.outcome}`]);
  }
  return [...uses].map(([account, what]) => `account ${account} (${what.join(', ')})`).join('; ') || 'no account';
}

const sim = await startSimulator({ config: simConfig });
try {
  console.log(`Bitbucket simulator: ${sim.url} (Cloud-style paths, HTTP Basic auth, git http-backend)`);
  console.log(`Temporary config home: ${configHome}\n`);
  writeFileSync(
    gitconfig,
    `[credential]\n\thelper =\n\thelper = ${helper}\n\tuseHttpPath = true\n[user]\n\tname = Demo User\n\temail = demo@example.com\n[init]\n\tdefaultBranch = main\n`,
  );
  const cli = (args: string[], input?: string) =>
    sh(process.execPath, [helper, ...args], { ...(input !== undefined && { input }), show: `git-credential-bitbucket ${args.join(' ')}` });

  await cli(['account', 'add', 'work', '--url', sim.url, '--kind', 'cloud', '--username', 'alice', '--email', 'alice@example.com', '--secret-stdin'], apiToken('alice') + '\n');
  await cli(['account', 'add', 'personal', '--url', sim.url, '--kind', 'cloud', '--username', 'bob', '--email', 'bob@example.com', '--secret-stdin'], apiToken('bob') + '\n');
  // Both accounts reach acme: suggest applies the rest and leaves that choice to us.
  await cli(['route', 'suggest', '--apply']);
  await cli(['route', 'add', `${sim.url}/acme/*`, 'work']);
  console.log();

  const served: Array<[string, string]> = [];
  for (const [repo, dir] of [
    ['acme/widgets', 'widgets'],
    ['personal/notes', 'notes'],
  ] as const) {
    await sh('git', ['clone', '-q', `${sim.url}/${repo}.git`, dir]);
    served.push([`clone ${repo}`, servedBy()]);
    const cwd = join(work, dir);
    writeFileSync(join(cwd, 'README.md'), `# ${repo}\n\nPushed by the git-credential-bitbucket demo.\n`);
    await sh('git', ['add', 'README.md'], { cwd });
    await sh('git', ['commit', '-q', '-m', `Add README to ${repo}`], { cwd });
    await sh('git', ['push', '-q', 'origin', 'HEAD:main'], { cwd });
    served.push([`push ${repo}`, servedBy()]);
    await sh('git', ['fetch', '-q', 'origin'], { cwd });
    served.push([`fetch ${repo}`, servedBy()]);
  }

  console.log('\nWhich account served each operation:');
  for (const [operation, by] of served) console.log(`  ${operation.padEnd(20)} → ${by}`);
  console.log();
  await cli(['status']);
  const stats = sim.stats();
  console.log(`\nSimulator: ${stats.succeeded} accepted and ${stats.failed} refused authentication attempts.`);
} finally {
  spawnSync(process.execPath, [helper, 'daemon', 'stop'], { env });
  await sim.close();
  rmSync(work, { recursive: true, force: true });
  console.log('Cleaned up the simulator, the daemon and the temporary files.');
}
