// CI runners (issue #18 item 1): secrets only in environment variables, no keychain, no D-Bus,
// an empty HOME, no daemon left behind. A job is played as a pipeline runs one: `ci-setup` from
// variables, then plain git clones and pushes, then a look at what the job left on disk and in
// the process table.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import type { SimulatorConfig } from '../fixtures/simulator/config.js';
import { Sandbox, credentialRequest, type LoggedRequest } from './support/sandbox.js';
import { passwordOf } from './support/answers.js';
import { simUser } from './support/sim-fixtures.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-citest-alice-7d2e9a4b1c';
const BOB_TOKEN = 'ATATT3xFfGF0-citest-bob-3f8c6e0a5d';

const SIM_CONFIG: SimulatorConfig = {
  users: [simUser('alice', ALICE_TOKEN, { acme: 'write' }), simUser('bob', BOB_TOKEN, { bob: 'admin' })],
  accessTokens: [],
  workspaces: { acme: ['widgets'], bob: ['notes'] },
  appPasswordsDisabled: true,
};

interface Job {
  sim: Simulator;
  sandbox: Sandbox;
  tmp: string;
  /** The product's files, as a job without GIT_CREDENTIAL_BITBUCKET_HOME gets them. */
  configDir: string;
  stateDir: string;
}

/**
 * A job's environment: CI=true, HOME empty, no D-Bus (the sandbox never passes one), no secret
 * store chosen, no product or git settings but what the job sets, its own temporary directory.
 */
async function job(t: { teardown(fn: () => Promise<void> | void): void }, env: NodeJS.ProcessEnv = {}): Promise<Job> {
  const sim = await startSimulator({ config: SIM_CONFIG });
  const sandbox = new Sandbox({
    secretStore: 'default',
    env: {
      CI: 'true',
      GIT_CREDENTIAL_BITBUCKET_NO_DAEMON: undefined,
      GIT_CREDENTIAL_BITBUCKET_HOME: undefined,
      XDG_CONFIG_HOME: undefined,
      GIT_CONFIG_GLOBAL: undefined,
      GIT_AUTHOR_NAME: 'CI',
      GIT_AUTHOR_EMAIL: 'ci@example.com',
      GIT_COMMITTER_NAME: 'CI',
      GIT_COMMITTER_EMAIL: 'ci@example.com',
      ...env,
    },
  });
  const tmp = join(sandbox.root, 'tmp');
  mkdirSync(tmp);
  sandbox.env.TMPDIR = tmp;
  sandbox.trackSecrets(ALICE_TOKEN, BOB_TOKEN);
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim.close();
  });
  const configDir = join(sandbox.home, '.config', 'git-credential-bitbucket');
  return { sim, sandbox, tmp, configDir, stateDir: join(sandbox.home, '.local', 'state', 'git-credential-bitbucket') };
}

/** The variables a pipeline defines: two accounts, one token given directly, one through another variable. */
function pipelineVariables(sim: Simulator): NodeJS.ProcessEnv {
  return {
    GCB_ACCOUNTS: 'work oss-bot',
    GCB_ACCOUNT_WORK_URL: sim.url,
    GCB_ACCOUNT_WORK_KIND: 'cloud',
    GCB_ACCOUNT_WORK_USERNAME: 'alice',
    GCB_ACCOUNT_WORK_EMAIL: 'alice@example.com',
    GCB_ACCOUNT_WORK_TOKEN: ALICE_TOKEN,
    GCB_ACCOUNT_WORK_ROUTES: `${sim.url}/acme/*`,
    GCB_ACCOUNT_OSS_BOT_URL: sim.url,
    GCB_ACCOUNT_OSS_BOT_KIND: 'cloud',
    GCB_ACCOUNT_OSS_BOT_USERNAME: 'bob',
    GCB_ACCOUNT_OSS_BOT_EMAIL: 'bob@example.com',
    GCB_ACCOUNT_OSS_BOT_SECRET_ENV: 'BOB_BITBUCKET_TOKEN',
    GCB_ACCOUNT_OSS_BOT_ROUTES: `${sim.url}/bob/*`,
    BOB_BITBUCKET_TOKEN: BOB_TOKEN,
  };
}

async function commitAndPush(sandbox: Sandbox, url: string, dir: string): Promise<string> {
  const clone = await sandbox.git(['clone', '-q', url, dir]);
  if (clone.code !== 0) throw new Error(`clone ${url} failed: ${clone.stderr}`);
  const cwd = join(sandbox.root, dir);
  await sandbox.git(['checkout', '-q', '-B', 'main'], { cwd });
  await sandbox.git(['commit', '-q', '--allow-empty', '-m', 'ci'], { cwd });
  const push = await sandbox.git(['push', '-q', 'origin', 'main'], { cwd });
  if (push.code !== 0) throw new Error(`push to ${url} failed: ${push.stderr}`);
  return (await sandbox.git(['rev-parse', 'HEAD'], { cwd })).stdout.trim();
}

function headOf(sim: Simulator, workspace: string, repo: string): string {
  return execFileSync('git', ['--git-dir', sim.repoPath(workspace, repo), 'rev-parse', 'refs/heads/main'], { encoding: 'utf8' }).trim();
}

/** Live processes (not zombies) whose environment is this job's: whatever of ours outlived it. */
function processesOf(home: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (/\) Z /.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue;
      if (!readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`HOME=${home}`)) continue;
      found.push(`${entry}: ${readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ')}`);
    } catch {
      // ended while we looked, or not ours to read
    }
  }
  return found;
}

function requestLines(stateDir: string): LoggedRequest[] {
  const log = join(stateDir, 'daemon.log');
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.includes('"msg":"request"'))
    .map((line) => JSON.parse(line) as LoggedRequest);
}

test('a CI job with an empty HOME, no D-Bus and secrets only in the environment clones and pushes for two accounts and leaves nothing behind', async (t) => {
  const { sim, sandbox, tmp, configDir, stateDir } = await job(t);
  Object.assign(sandbox.env, pipelineVariables(sim));

  const setup = await sandbox.cli(['ci-setup']);
  t.is(setup.code, 0, setup.stderr);
  t.regex(setup.stdout, /Account work: .*from environment variable GCB_ACCOUNT_WORK_TOKEN, routes .*\/acme\/\*/);
  t.regex(setup.stdout, /Account oss-bot: .*from environment variable BOB_BITBUCKET_TOKEN/);

  const acme = await commitAndPush(sandbox, `${sim.url}/acme/widgets.git`, 'widgets');
  const bob = await commitAndPush(sandbox, `${sim.url}/bob/notes.git`, 'notes');
  t.is(headOf(sim, 'acme', 'widgets'), acme);
  t.is(headOf(sim, 'bob', 'notes'), bob);
  const stats = sim.stats();
  t.true(stats.byUsername.alice!.succeeded > 0);
  t.true(stats.byUsername.bob!.succeeded > 0);
  t.is(stats.failed, 0, 'each account went only to its own workspace');

  // Answered by the helper itself, routed per account; no daemon, no socket.
  const answered = requestLines(stateDir).filter((line) => line.action === 'get');
  t.true(answered.length > 0);
  t.true(answered.every((line) => line.channel === 'in-process'), JSON.stringify(answered));
  t.deepEqual([...new Set(answered.map((line) => line.account))].sort(), ['oss-bot', 'work']);
  t.false(existsSync(join(configDir, 'run')), 'no daemon socket directory');
  // install went into the job's HOME, without the fast path (git's cache client would start git's own cache daemon).
  const gitconfig = readFileSync(join(sandbox.home, '.gitconfig'), 'utf8');
  t.true(gitconfig.includes('git-credential-bitbucket.cjs'));
  t.false(gitconfig.includes('cache --socket'));

  const status = await sandbox.cli(['status']);
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, /work: .*API token from environment variable GCB_ACCOUNT_WORK_TOKEN/);
  t.regex(status.stdout, /oss-bot: .*API token from environment variable BOB_BITBUCKET_TOKEN/);
  const config = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as { accounts: Array<{ name: string; secretEnv?: string }> };
  t.deepEqual(config.accounts.map((account) => [account.name, account.secretEnv]), [['work', 'GCB_ACCOUNT_WORK_TOKEN'], ['oss-bot', 'BOB_BITBUCKET_TOKEN']]);

  // The job is over: nothing of ours runs, and no file under HOME or the job's temp dir holds a secret.
  t.deepEqual(processesOf(sandbox.home), []);
  t.false(existsSync(join(configDir, 'secrets.json')));
  // Every file under the sandbox: HOME (config, state, log, .gitconfig), the clones and the job's TMPDIR.
  t.true(existsSync(tmp));
  sandbox.assertNoSecretLeaks(t);
});

test('a variable that is not set where git runs is one line naming it, and nothing is answered', async (t) => {
  const { sim, sandbox } = await job(t);
  Object.assign(sandbox.env, pipelineVariables(sim));
  t.is((await sandbox.cli(['ci-setup', '--no-verify', '--no-install'])).code, 0);
  const get = await sandbox.helper('get', credentialRequest({ protocol: 'http', host: new URL(sim.url).host, path: 'bob/notes.git' }), { env: { BOB_BITBUCKET_TOKEN: undefined } });
  t.is(get.code, 0);
  t.is(get.stdout, '');
  const lines = get.stderr.trim().split('\n');
  t.is(lines.length, 1, get.stderr);
  t.regex(lines[0]!, /^git-credential-bitbucket: account oss-bot takes its secret from the environment variable BOB_BITBUCKET_TOKEN, which is not set; set it/);
  t.deepEqual(processesOf(sandbox.home), []);
});

test('GIT_CREDENTIAL_BITBUCKET_NO_DAEMON=1 answers in-process without CI; CI=true uses a daemon that already runs', async (t) => {
  const { sim, sandbox, stateDir } = await job(t, { CI: undefined });
  Object.assign(sandbox.env, pipelineVariables(sim));
  t.is((await sandbox.cli(['ci-setup', '--no-verify', '--no-install'])).code, 0);
  const request = credentialRequest({ protocol: 'http', host: new URL(sim.url).host, path: 'acme/widgets.git' });

  const inProcess = await sandbox.helper('get', request, { env: { GIT_CREDENTIAL_BITBUCKET_NO_DAEMON: '1' } });
  t.is(passwordOf(inProcess.stdout) === ALICE_TOKEN, true, inProcess.stderr);
  t.deepEqual(processesOf(sandbox.home), []);
  t.is(requestLines(stateDir).at(-1)?.channel, 'in-process');

  // A self-hosted runner that keeps a daemon: CI=true leaves the answer to it.
  t.is((await sandbox.cli(['daemon', 'start'])).code, 0);
  const viaDaemon = await sandbox.helper('get', request, { env: { CI: 'true' } });
  t.is(passwordOf(viaDaemon.stdout) === ALICE_TOKEN, true, viaDaemon.stderr);
  t.is(requestLines(stateDir).at(-1)?.channel, 'helper');
});

test('ci-setup refuses a misspelt or missing variable, a token it cannot check, and an account with a stored secret, and changes nothing', async (t) => {
  const { sim, sandbox, configDir } = await job(t);
  const variables = pipelineVariables(sim);
  const configFile = join(configDir, 'config.json');

  const misspelt = await sandbox.cli(['ci-setup'], { env: { ...variables, GCB_ACCOUNT_WROK_USERNAME: 'alice' } });
  t.is(misspelt.code, 1);
  t.regex(misspelt.stderr, /^git-credential-bitbucket: GCB_ACCOUNT_WROK_USERNAME belongs to no account in GCB_ACCOUNTS \(work oss-bot\)/);

  const missing = await sandbox.cli(['ci-setup'], { env: { ...variables, BOB_BITBUCKET_TOKEN: '' } });
  t.is(missing.code, 1);
  t.regex(missing.stderr, /environment variable BOB_BITBUCKET_TOKEN, which holds account oss-bot's secret, is not set or empty/);

  const wrong = await sandbox.cli(['ci-setup'], { env: { ...variables, GCB_ACCOUNT_WORK_TOKEN: 'ATATT3xFfGF0-citest-not-a-real-token' } });
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /account work .*Nothing was saved/);
  t.false(existsSync(configFile), 'nothing written by a refused ci-setup');

  // An account someone set up by hand, with a stored secret: never replaced. (An old secret of
  // no account in the simulator: the file store is plaintext by design.)
  const byHand = await sandbox.cli(['account', 'add', 'work', '--url', sim.url, '--kind', 'cloud', '--username', 'alice', '--secret-stdin', '--no-verify', '--secret-store', 'file'], { input: 'old-hand-set-secret\n' });
  t.is(byHand.code, 0, byHand.stderr);
  const before = readFileSync(configFile, 'utf8');
  const stored = await sandbox.cli(['ci-setup', '--no-verify'], { env: variables });
  t.is(stored.code, 1);
  t.regex(stored.stderr, /account work exists with a stored secret/);
  t.is(readFileSync(configFile, 'utf8'), before);
});

test('account add --secret-env records only the name; status says where the secret comes from; set-secret refuses it', async (t) => {
  const { sim, sandbox, configDir } = await job(t, { CI: undefined });
  const add = await sandbox.cli(['account', 'add', 'ci', '--url', sim.url, '--kind', 'cloud', '--username', 'alice', '--email', 'alice@example.com', '--secret-env', 'BITBUCKET_TOKEN'], {
    env: { BITBUCKET_TOKEN: ALICE_TOKEN },
  });
  t.is(add.code, 0, add.stderr);
  t.regex(add.stdout, /API token from environment variable BITBUCKET_TOKEN \(read when git needs it, never stored\)/);
  const config = readFileSync(join(configDir, 'config.json'), 'utf8');
  t.true(config.includes('"secretEnv": "BITBUCKET_TOKEN"'));

  const unset = await sandbox.cli(['status']);
  t.regex(unset.stdout, /ci: .*API token from environment variable BITBUCKET_TOKEN \(NOT SET here\)/);
  const set = await sandbox.cli(['account', 'list'], { env: { BITBUCKET_TOKEN: ALICE_TOKEN } });
  t.regex(set.stdout, /API token from \$BITBUCKET_TOKEN/);
  t.notRegex(set.stdout, /NOT SET/);

  const setSecret = await sandbox.cli(['account', 'set-secret', 'ci', '--secret-stdin', '--no-verify'], { input: ALICE_TOKEN + '\n' });
  t.is(setSecret.code, 1);
  t.regex(setSecret.stderr, /account ci takes its secret from the environment variable BITBUCKET_TOKEN/);

  const bad = await sandbox.cli(['account', 'add', 'other', '--url', sim.url, '--username', 'bob', '--secret-env', 'BITBUCKET_TOKEN=x', '--no-verify']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /--secret-env must name an environment variable/);
  t.false(readFileSync(join(configDir, 'config.json'), 'utf8').includes('other'));
});
