// Bitbucket Data Center through the product: a Cloud and a Data Center account at once, routes by
// project under a context path, and OAuth (PKCE) on Data Center, all through real git.

import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../fixtures/simulator/config.js';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import { masked } from './support/answers.js';
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
  const login = await sandbox.cli(['login', 'corp', '--timeout', '120']);
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

test('a Data Center project access token: verified and handed to git as Bearer (git 2.46+), with a clear line for older git', async (t) => {
  const projectToken = 'BBDC-dctest-proj-ci-http-access-token-Rq5Wm2Kz8';
  const dc = await startSimulator({ config: { ...DC_CONFIG, accessTokens: [{ name: 'proj-ci', value: projectToken, workspace: 'PROJ', repository: null, permission: 'read' }] } });
  const sandbox = new Sandbox();
  sandbox.trackSecrets(projectToken);
  t.teardown(async () => {
    await sandbox.cleanup();
    await dc.close();
  });
  const base = `${dc.url}/bitbucket`;
  const added = await sandbox.cli(['account', 'add', 'ci', '--url', base, '--username', 'proj-ci', '--secret-kind', 'project-token', '--secret-stdin'], { input: projectToken + '\n' });
  t.is(added.code, 0, added.stderr);
  t.regex(added.stdout, /accepts the project\/repository access token \(as Bearer\)/);
  t.regex(added.stdout, /git can fetch PROJ\/widgets as a Bearer token/);

  // git 2.46+ offers authtype: the answer is a Bearer credential, which Bitbucket takes.
  const request = (capability: boolean) =>
    `protocol=http\nhost=${dc.host}\npath=bitbucket/scm/proj/widgets.git\n${capability ? 'capability[]=authtype\n' : ''}\n`;
  const bearer = await sandbox.helper('get', request(true));
  t.deepEqual(masked(bearer.stdout).trim().split('\n'), ['capability[]=authtype', 'authtype=Bearer', `credential=‹${projectToken.length} characters›`]);
  t.true(bearer.stdout.includes(`\ncredential=${projectToken}\n`), 'the project token itself');
  const refs = `${base}/scm/proj/widgets.git/info/refs?service=git-upload-pack`;
  t.is((await fetch(refs, { headers: { Authorization: `Bearer ${projectToken}` } })).status, 200);
  const basic = Buffer.from(`proj-ci:${projectToken}`).toString('base64');
  t.is((await fetch(refs, { headers: { Authorization: `Basic ${basic}` } })).status, 401, 'Basic with these tokens is refused');

  // Older git cannot send Bearer: no answer, and one line saying what to do.
  const old = await sandbox.helper('get', request(false));
  t.is(masked(old.stdout), '');
  t.regex(old.stderr, /account ci .* has a project\/repository access token, which Bitbucket takes only as a Bearer token; git sends those from version 2\.46 on/);
  const clone = await sandbox.git(['clone', '-q', `${base}/scm/proj/widgets.git`, 'widgets']);
  const gitVersion = /(\d+)\.(\d+)/.exec((await sandbox.git(['--version'])).stdout)!;
  const doctor = JSON.parse((await sandbox.cli(['doctor', '--json'])).stdout) as { checks: Array<{ check: string; pass: boolean; detail: string }> };
  const bearerLine = doctor.checks.find((check) => check.check === 'bearer ci')!;
  if (Number(gitVersion[1]) === 2 && Number(gitVersion[2]) < 46) {
    t.not(clone.code, 0);
    t.regex(clone.stderr, /git sends those from version 2\.46 on/);
    t.like(bearerLine, { pass: false });
    t.regex(bearerLine.detail, /takes only as Bearer; git 2\.\d+\.\d+ cannot send that/);
  } else {
    t.like(bearerLine, { pass: true });
    t.is(clone.code, 0, clone.stderr);
  }
  // A store from git 2.46+ carries the token back as `credential`: it counts as a success of ours.
  await sandbox.helper('store', `protocol=http\nhost=${dc.host}\npath=bitbucket/scm/proj/widgets.git\nauthtype=Bearer\ncredential=${projectToken}\n\n`);
  const status = JSON.parse((await sandbox.cli(['status', '--json'])).stdout) as { accounts: Array<{ lastSuccessAt?: string }> };
  t.truthy(status.accounts[0]!.lastSuccessAt);
});
