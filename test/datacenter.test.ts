// Bitbucket Data Center through the product: a Cloud and a Data Center account at once, routes by
// project under a context path, and OAuth (PKCE) on Data Center, all through real git.

import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../fixtures/simulator/config.js';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import { REPO_ROOT, Sandbox } from './support/sandbox.js';
import { freePort, simUser } from './support/sim-fixtures.js';

const DC_CONFIG = loadConfig(join(REPO_ROOT, 'fixtures', 'simulator', 'datacenter.json'));
const secretOf = (username: string, kind: string) => DC_CONFIG.users.find((user) => user.username === username)!.secrets.find((secret) => secret.kind === kind && !secret.expiresAt)!.value;
const DAVE_PAT = secretOf('dave', 'personal-access-token');
const ERIN_PAT = secretOf('erin', 'personal-access-token');
const ALICE_TOKEN = 'ATATT3xFfGF0-dctest-alice-cloud-4b6d8f0a2c';

async function dataCenter(t: ExecutionContext): Promise<{ dc: Simulator; sandbox: Sandbox; base: string }> {
  const dc = await startSimulator({ config: DC_CONFIG });
  const sandbox = new Sandbox();
  sandbox.trackSecrets(DAVE_PAT, ERIN_PAT, ALICE_TOKEN);
  t.teardown(async () => {
    await sandbox.cleanup();
    await dc.close();
  });
  return { dc, sandbox, base: `${dc.url}/bitbucket` };
}

async function cloneCommitPush(sandbox: Sandbox, url: string, dir: string): Promise<string> {
  const clone = await sandbox.git(['clone', '-q', url, dir]);
  if (clone.code !== 0) throw new Error(`clone ${url}: ${clone.stderr}`);
  const cwd = join(sandbox.root, dir);
  await sandbox.git(['commit', '-q', '--allow-empty', '-m', `to ${url}`], { cwd });
  const push = await sandbox.git(['push', '-q', 'origin', 'HEAD:main'], { cwd });
  if (push.code !== 0) throw new Error(`push ${url}: ${push.stderr}`);
  return (await sandbox.git(['rev-parse', 'HEAD'], { cwd })).stdout.trim();
}

const head = (sim: Simulator, project: string, repo: string) => execFileSync('git', ['--git-dir', sim.repoPath(project, repo), 'rev-parse', 'refs/heads/main'], { encoding: 'utf8' }).trim();

test('one user with a Cloud account and a Data Center account at once: clone and push to both', async (t) => {
  const { dc, sandbox, base } = await dataCenter(t);
  const cloud = await startSimulator({ config: { users: [simUser('alice', ALICE_TOKEN, { acme: 'write' })], accessTokens: [], workspaces: { acme: ['widgets'] } } });
  t.teardown(() => cloud.close());
  await sandbox.addAccount('work', cloud.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  // The kind is inferred: any host but bitbucket.org is Data Center; the secret defaults to an access token.
  await sandbox.addAccount('corp', `${base}/`, 'dave', DAVE_PAT);
  const accounts = JSON.parse((await sandbox.cli(['account', 'list', '--json'])).stdout) as Array<{ name: string; kind: string; url: string; secretKind: string }>;
  t.like(accounts[1], { name: 'corp', kind: 'datacenter', url: base, secretKind: 'access-token' });

  const cloudCommit = await cloneCommitPush(sandbox, `${cloud.url}/acme/widgets.git`, 'cloud-widgets');
  const dcCommit = await cloneCommitPush(sandbox, `${base}/scm/PROJ/widgets.git`, 'dc-widgets');
  t.is(head(cloud, 'acme', 'widgets'), cloudCommit);
  t.is(head(dc, 'PROJ', 'widgets'), dcCommit);
  t.true(dc.stats().byUsername.dave!.succeeded > 0);
  t.is(dc.stats().failed + cloud.stats().failed, 0);
});

test('Data Center routes by project under the context path; a user in the URL picks the account', async (t) => {
  const { dc, sandbox, base } = await dataCenter(t);
  await sandbox.addAccount('dave', base, 'dave', DAVE_PAT);
  await sandbox.addAccount('erin', base, 'erin', ERIN_PAT);
  await sandbox.addRoute(`${base}/scm/PROJ/*`, 'dave');
  const pushed = await cloneCommitPush(sandbox, `${base}/scm/proj/widgets.git`, 'widgets');
  t.is(head(dc, 'PROJ', 'widgets'), pushed);
  // No route for OPS: the helper says which route to add, at the project level.
  const ops = await sandbox.git(['ls-remote', `${base}/scm/OPS/deploy.git`]);
  t.not(ops.code, 0);
  t.true(ops.stderr.includes(`route add '${base}/scm/OPS/*'`), ops.stderr);
  // erin@ picks erin, who may read PROJ but not push to it.
  const host = base.replace('http://', '');
  t.is((await sandbox.git(['clone', '-q', `http://erin@${host}/scm/PROJ/widgets.git`, 'erin-widgets'])).code, 0);
  t.true(dc.stats().byUsername.erin!.succeeded > 0);
  const cwd = join(sandbox.root, 'erin-widgets');
  await sandbox.git(['commit', '-q', '--allow-empty', '-m', 'erin tries'], { cwd });
  const refused = await sandbox.git(['push', '-q', 'origin', 'HEAD:main'], { cwd });
  t.not(refused.code, 0);
  t.is(head(dc, 'PROJ', 'widgets'), pushed, 'a read-only account cannot push');
});

test('OAuth on Data Center: PKCE login under the context path, then clone and push with the token', async (t) => {
  const { dc, sandbox, base } = await dataCenter(t);
  Object.assign(sandbox.env, { GIT_CREDENTIAL_BITBUCKET_BROWSER: join(REPO_ROOT, 'test', 'support', 'fake-browser.mjs') });
  const port = await freePort();
  const added = await sandbox.cli(['account', 'add', 'corp', '--url', base, '--username', 'dave', '--oauth-client-id', 'sim-dc-client', '--redirect-port', String(port), '--scopes', 'REPO_READ REPO_WRITE']);
  t.is(added.code, 0, added.stderr);
  const login = await sandbox.cli(['login', 'corp', '--timeout', '30']);
  t.is(login.code, 0, login.stderr);
  t.true(login.stdout.includes(`${base}/rest/oauth2/latest/authorize?`));
  const pushed = await cloneCommitPush(sandbox, `${base}/scm/PROJ/widgets.git`, 'widgets');
  t.is(head(dc, 'PROJ', 'widgets'), pushed);
  t.is(dc.oauthStats().tokenRequests.authorization_code, 1);
  t.is(dc.stats().failed, 0);
  const status = JSON.parse((await sandbox.cli(['status', '--json'])).stdout) as { accounts: Array<{ method: string }> };
  t.is(status.accounts[0]!.method, 'oauth');
  const stored = JSON.parse(readFileSync(join(sandbox.configHome, 'secrets.json'), 'utf8')).secrets.corp;
  sandbox.trackSecrets(stored['oauth-refresh'], JSON.parse(stored['oauth-access']).token);
});
