// The simulator's Data Center mode (fixtures/simulator README "Data Center mode"): a context path,
// /scm/ git paths, project permissions, passwords and personal access tokens (with expiry), the
// /rest/api/1.0 endpoints, and the Data Center OAuth endpoints below the context path.

import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, parseConfig, SimulatorConfigError } from '../fixtures/simulator/config.js';
import { startSimulator, type Simulator, type SimulatorConfig } from '../fixtures/simulator/server.js';
import { isolatedGitEnv } from './support/sim-fixtures.js';

const execFileAsync = promisify(execFile);

const DAVE_PASSWORD = 'dc-test-dave-password-Xq4Lm8Rt2Wz6';
const DAVE_PAT = 'BBDC-dctest-dave-pat-Nc5Hj9Kp3Vs7Bd1';
const ERIN_PAT = 'BBDC-dctest-erin-pat-Qw2Ey6Ru0Ti4Yo8';
const ERIN_EXPIRED_PAT = 'BBDC-dctest-erin-expired-pat-Pa1Sd5Fg9';
const DC_KEY = 'dc-test-client';
const DC_CALLBACK = 'http://127.0.0.1:47113/callback';

const CONFIG: SimulatorConfig = {
  product: 'datacenter',
  contextPath: '/bitbucket',
  projects: { PROJ: ['widgets'], OPS: ['deploy'] },
  users: [
    {
      username: 'dave',
      email: 'dave@example.com',
      displayName: 'Dave Example',
      uuid: '{dc-dave}',
      accountId: 'dc:dave',
      secrets: [
        { kind: 'password', value: DAVE_PASSWORD },
        { kind: 'personal-access-token', value: DAVE_PAT },
      ],
      workspaces: {},
      projects: { PROJ: 'write' },
    },
    {
      username: 'erin',
      email: 'erin@example.com',
      displayName: 'Erin Example',
      uuid: '{dc-erin}',
      accountId: 'dc:erin',
      secrets: [
        { kind: 'personal-access-token', value: ERIN_PAT },
        { kind: 'personal-access-token', value: ERIN_EXPIRED_PAT, expiresAt: '2020-01-01T00:00:00Z' },
      ],
      workspaces: {},
      projects: { PROJ: 'read', OPS: 'read' },
    },
  ],
  accessTokens: [],
  workspaces: {},
  oauthConsumers: [{ key: DC_KEY, name: 'DC Helper', family: 'datacenter', callbackUrl: DC_CALLBACK, scopes: ['REPO_READ', 'REPO_WRITE'] }],
  oauth: { consentUser: 'dave' },
};

async function sim(t: ExecutionContext): Promise<Simulator> {
  const s = await startSimulator({ config: CONFIG });
  t.teardown(() => s.close());
  return s;
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface GitRun {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs git in a clean environment (no user config, no prompts); `helper` answers credentials like a credential helper would. */
function gitRunner(t: ExecutionContext, helper?: { username: string; password: string }) {
  const home = mkdtempSync(join(tmpdir(), 'sim-dc-git-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const config = helper
    ? ['-c', `credential.helper=!f() { test "$1" = get && echo username=${helper.username} && echo password=${helper.password}; }; f`]
    : [];
  return {
    home,
    async run(cwd: string, ...args: string[]): Promise<GitRun> {
      try {
        const { stdout, stderr } = await execFileAsync('git', [...config, ...args], {
          cwd,
          env: isolatedGitEnv(home),
          maxBuffer: 1 << 20,
        });
        return { ok: true, stdout, stderr };
      } catch (error) {
        const e = error as { stdout?: string; stderr?: string };
        return { ok: false, stdout: String(e.stdout ?? ''), stderr: String(e.stderr ?? '') };
      }
    },
  };
}

/** Clones `url`, commits a file and pushes it to main; returns the outcome of each step. */
async function cloneAndPush(t: ExecutionContext, url: string, helper?: { username: string; password: string }): Promise<{ clone: GitRun; push: GitRun }> {
  const git = gitRunner(t, helper);
  const clone = await git.run(git.home, 'clone', '-q', url, 'work');
  if (!clone.ok) return { clone, push: clone };
  const work = join(git.home, 'work');
  await git.run(work, 'commit', '-q', '--allow-empty', '-m', `dc push ${randomBytes(4).toString('hex')}`);
  const push = await git.run(work, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
  return { clone, push };
}

async function headOf(s: Simulator): Promise<string> {
  const { stdout } = await execFileAsync('git', ['--git-dir', s.repoPath('PROJ', 'widgets'), 'rev-parse', '--verify', '-q', 'refs/heads/main']);
  return stdout.trim();
}

async function getJson(s: Simulator, path: string, authorization?: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(s.url + path, { headers: authorization === undefined ? {} : { Authorization: authorization } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

test('repositories live under <dataDir>/<PROJECT>/<repo>.git with main as the default branch', async (t) => {
  const s = await sim(t);
  t.is(s.repoPath('PROJ', 'widgets'), join(s.dataDir, 'PROJ', 'widgets.git'));
  t.is(s.repoPath('proj', 'widgets'), s.repoPath('PROJ', 'widgets'));
  t.true(existsSync(join(s.dataDir, 'OPS', 'deploy.git', 'HEAD')));
  const { stdout } = await execFileAsync('git', ['--git-dir', s.repoPath('PROJ', 'widgets'), 'symbolic-ref', 'HEAD']);
  t.is(stdout.trim(), 'refs/heads/main');
});

test('clone and push over /bitbucket/scm/PROJ/widgets.git with a personal access token from a credential helper', async (t) => {
  const s = await sim(t);
  const { clone, push } = await cloneAndPush(t, `${s.url}/bitbucket/scm/PROJ/widgets.git`, { username: 'dave', password: DAVE_PAT });
  t.true(clone.ok, clone.stderr);
  t.true(push.ok, push.stderr);
  t.regex(await headOf(s), /^[0-9a-f]{40}$/);
  const stats = s.stats();
  t.true(stats.challenges >= 1, 'git asked the helper only after a 401 challenge');
  t.is(stats.failed, 0);
  t.true(stats.byUsername.dave!.succeeded >= 2);
  t.true(stats.gitRequests.push >= 1);
});

test('clone and push with the password in the URL; lower-case project key and no .git suffix work too', async (t) => {
  const s = await sim(t);
  const { clone, push } = await cloneAndPush(t, `http://dave:${DAVE_PASSWORD}@${s.host}/bitbucket/scm/proj/widgets`);
  t.true(clone.ok, clone.stderr);
  t.true(push.ok, push.stderr);
  t.regex(await headOf(s), /^[0-9a-f]{40}$/);
  t.is(s.stats().failed, 0);
});

test('a wrong token is a 401 with the Data Center realm; git fails', async (t) => {
  const s = await sim(t);
  const res = await fetch(`${s.url}/bitbucket/scm/PROJ/widgets.git/info/refs?service=git-upload-pack`, {
    headers: { Authorization: basic('dave', 'BBDC-not-a-real-token-000000000000') },
  });
  await res.arrayBuffer();
  t.is(res.status, 401);
  t.is(res.headers.get('www-authenticate'), 'Basic realm="Bitbucket"');
  t.is(res.headers.get('x-sim-auth-failure'), 'wrong-secret');

  const none = await fetch(`${s.url}/bitbucket/scm/PROJ/widgets.git/info/refs?service=git-upload-pack`);
  await none.arrayBuffer();
  t.is(none.status, 401);
  t.is(none.headers.get('www-authenticate'), 'Basic realm="Bitbucket"');

  const git = gitRunner(t);
  const ls = await git.run(git.home, 'ls-remote', `http://dave:BBDC-not-a-real-token-000000000000@${s.host}/bitbucket/scm/PROJ/widgets.git`);
  t.false(ls.ok);
  t.is(s.stats().byUsername.dave?.succeeded ?? 0, 0);
  t.true(s.stats().byUsername.dave!.failed >= 2);
});

test('a read-only user can fetch but a push is 403', async (t) => {
  const s = await sim(t);
  // Give the repository a commit so there is something to clone.
  const seeded = await cloneAndPush(t, `http://dave:${DAVE_PAT}@${s.host}/bitbucket/scm/PROJ/widgets.git`);
  t.true(seeded.push.ok, seeded.push.stderr);
  const before = await headOf(s);

  const { clone, push } = await cloneAndPush(t, `http://erin:${ERIN_PAT}@${s.host}/bitbucket/scm/PROJ/widgets.git`);
  t.true(clone.ok, clone.stderr);
  t.false(push.ok);
  t.regex(push.stderr, /403/);
  t.is(await headOf(s), before);

  const res = await fetch(`${s.url}/bitbucket/scm/PROJ/widgets.git/info/refs?service=git-receive-pack`, {
    headers: { Authorization: basic('erin', ERIN_PAT) },
  });
  await res.arrayBuffer();
  t.is(res.status, 403);
  // dave has no permission on OPS at all; an unknown repository is a 404.
  const ops = await fetch(`${s.url}/bitbucket/scm/OPS/deploy.git/info/refs?service=git-upload-pack`, { headers: { Authorization: basic('dave', DAVE_PAT) } });
  await ops.arrayBuffer();
  t.is(ops.status, 403);
  const missing = await fetch(`${s.url}/bitbucket/scm/PROJ/nope.git/info/refs?service=git-upload-pack`, { headers: { Authorization: basic('dave', DAVE_PAT) } });
  await missing.arrayBuffer();
  t.is(missing.status, 404);
});

test('an expired personal access token is a 401 (expired), for git and REST', async (t) => {
  const s = await sim(t);
  const res = await fetch(`${s.url}/bitbucket/scm/PROJ/widgets.git/info/refs?service=git-upload-pack`, {
    headers: { Authorization: basic('erin', ERIN_EXPIRED_PAT) },
  });
  await res.arrayBuffer();
  t.is(res.status, 401);
  t.is(res.headers.get('x-sim-auth-failure'), 'expired');
  const rest = await getJson(s, '/bitbucket/rest/api/1.0/repos?limit=1', basic('erin', ERIN_EXPIRED_PAT));
  t.is(rest.status, 401);
  t.is(rest.headers.get('x-sim-auth-failure'), 'expired');
  t.is(rest.headers.get('www-authenticate'), 'Basic realm="Bitbucket"');
  const git = gitRunner(t);
  t.false((await git.run(git.home, 'ls-remote', `http://erin:${ERIN_EXPIRED_PAT}@${s.host}/bitbucket/scm/PROJ/widgets.git`)).ok);
});

test('Cloud-only credentials and paths do not exist in Data Center mode', async (t) => {
  const s = await sim(t);
  for (const path of ['/PROJ/widgets.git/info/refs?service=git-upload-pack', '/bitbucket/PROJ/widgets.git/info/refs', '/2.0/user', '/bitbucket/2.0/user', '/site/oauth2/authorize', '/scm/PROJ/widgets.git/info/refs']) {
    const res = await fetch(s.url + path, { headers: { Authorization: basic('dave', DAVE_PAT) } });
    await res.arrayBuffer();
    t.is(res.status, 404, path);
  }
  const res = await fetch(`${s.url}/bitbucket/scm/PROJ/widgets.git/info/refs?service=git-upload-pack`, { headers: { Authorization: basic('x-token-auth', DAVE_PAT) } });
  await res.arrayBuffer();
  t.is(res.status, 401);
});

test('REST: GET /rest/api/1.0/repos lists what the user can read, with limit', async (t) => {
  const s = await sim(t);
  const dave = await getJson(s, '/bitbucket/rest/api/1.0/repos?limit=25', basic('dave', DAVE_PAT));
  t.is(dave.status, 200);
  t.like(dave.body, { size: 1, limit: 25, isLastPage: true });
  const values = dave.body.values as { slug: string; name: string; project: { key: string }; links: { clone: { href: string; name: string }[] } }[];
  t.deepEqual(values.map((v) => [v.project.key, v.slug, v.name]), [['PROJ', 'widgets', 'widgets']]);
  t.is(values[0]!.links.clone[0]!.href, `${s.url}/bitbucket/scm/proj/widgets.git`);

  const erin = await getJson(s, '/bitbucket/rest/api/1.0/repos?limit=25', basic('erin', ERIN_PAT));
  t.deepEqual((erin.body.values as { slug: string }[]).map((v) => v.slug).sort(), ['deploy', 'widgets']);
  const one = await getJson(s, '/bitbucket/rest/api/1.0/repos?limit=1', basic('erin', ERIN_PAT));
  t.like(one.body, { size: 1, limit: 1, isLastPage: false, nextPageStart: 1 });

  // The password works on REST too, and a bearer personal access token.
  t.is((await getJson(s, '/bitbucket/rest/api/1.0/repos?limit=1', basic('dave', DAVE_PASSWORD))).status, 200);
  t.is((await getJson(s, '/bitbucket/rest/api/1.0/repos?limit=1', `Bearer ${DAVE_PAT}`)).status, 200);

  const none = await getJson(s, '/bitbucket/rest/api/1.0/repos?limit=1');
  t.is(none.status, 401);
  t.is(none.headers.get('www-authenticate'), 'Basic realm="Bitbucket"');
  const errors = none.body.errors as { context: unknown; message: string; exceptionName: string }[];
  t.is(errors.length, 1);
  t.is(errors[0]!.context, null);
  t.is(typeof errors[0]!.message, 'string');
  t.is(typeof errors[0]!.exceptionName, 'string');

  const wrong = await getJson(s, '/bitbucket/rest/api/1.0/repos?limit=1', basic('dave', 'BBDC-wrong-token-1111111111111111'));
  t.is(wrong.status, 401);
  t.is((wrong.body.errors as unknown[]).length, 1);
  t.is((await getJson(s, '/bitbucket/rest/api/1.0/nothing-here', basic('dave', DAVE_PAT))).status, 404);
});

test('REST: GET /rest/api/1.0/users/<slug>', async (t) => {
  const s = await sim(t);
  const me = await getJson(s, '/bitbucket/rest/api/1.0/users/dave', basic('dave', DAVE_PAT));
  t.is(me.status, 200);
  t.like(me.body, { name: 'dave', slug: 'dave', displayName: 'Dave Example', emailAddress: 'dave@example.com', active: true, type: 'NORMAL' });
  const unknown = await getJson(s, '/bitbucket/rest/api/1.0/users/nobody', basic('dave', DAVE_PAT));
  t.is(unknown.status, 404);
  t.is((unknown.body.errors as { exceptionName: string }[])[0]!.exceptionName, 'com.atlassian.bitbucket.user.NoSuchUserException');
  t.is((await getJson(s, '/bitbucket/rest/api/1.0/users/dave')).status, 401);
  const stats = s.stats();
  t.is(stats.byUsername.dave!.succeeded, 2);
  t.is(stats.challenges, 1);
});

test('OAuth: Data Center login under the context path (authorize → token with PKCE), then git with <username>:<token>', async (t) => {
  const s = await sim(t);
  const { verifier, challenge } = pkce();
  const q = new URLSearchParams({
    client_id: DC_KEY,
    response_type: 'code',
    state: 'dc-state',
    redirect_uri: DC_CALLBACK,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'REPO_READ REPO_WRITE',
  });
  // Only below the context path.
  const outside = await fetch(`${s.url}/rest/oauth2/latest/authorize?${q}`, { redirect: 'manual' });
  await outside.arrayBuffer();
  t.is(outside.status, 404);

  const page = await fetch(`${s.url}/bitbucket/rest/oauth2/latest/authorize?${q}`, { redirect: 'manual' });
  t.is(page.status, 200);
  const html = await page.text();
  t.true(html.includes('<form method="post" action="/bitbucket/rest/oauth2/latest/authorize">'));
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.append(m[1]!, m[2]!.replace(/&amp;/g, '&'));
  form.append('decision', 'grant');
  const granted = await fetch(`${s.url}/bitbucket/rest/oauth2/latest/authorize`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    redirect: 'manual',
  });
  t.is(granted.status, 302);
  const location = new URL(granted.headers.get('location')!);
  t.is(location.origin + location.pathname, DC_CALLBACK);
  t.is(location.searchParams.get('state'), 'dc-state');
  const code = location.searchParams.get('code')!;

  const tokenRes = await fetch(`${s.url}/bitbucket/rest/oauth2/latest/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: DC_KEY, code, redirect_uri: DC_CALLBACK, code_verifier: verifier }).toString(),
  });
  t.is(tokenRes.status, 200);
  const token = (await tokenRes.json()) as Record<string, unknown>;
  t.like(token, { token_type: 'bearer', scope: 'REPO_READ REPO_WRITE' });
  const access = token.access_token as string;
  t.is(typeof token.refresh_token, 'string');

  const { clone, push } = await cloneAndPush(t, `${s.url}/bitbucket/scm/PROJ/widgets.git`, { username: 'dave', password: access });
  t.true(clone.ok, clone.stderr);
  t.true(push.ok, push.stderr);
  t.regex(await headOf(s), /^[0-9a-f]{40}$/);

  // Another user's name with dave's token is refused; REST takes it as Basic or Bearer.
  const asErin = await fetch(`${s.url}/bitbucket/scm/PROJ/widgets.git/info/refs?service=git-upload-pack`, { headers: { Authorization: basic('erin', access) } });
  await asErin.arrayBuffer();
  t.is(asErin.status, 401);
  t.is((await getJson(s, '/bitbucket/rest/api/1.0/repos?limit=5', `Bearer ${access}`)).status, 200);
  t.is((await getJson(s, '/bitbucket/rest/api/1.0/users/dave', basic('dave', access))).status, 200);

  // Expired → 401 on the /scm/ path too.
  s.expireOAuthAccessTokens('dave');
  const expired = await fetch(`${s.url}/bitbucket/scm/PROJ/widgets.git/info/refs?service=git-upload-pack`, { headers: { Authorization: basic('dave', access) } });
  await expired.arrayBuffer();
  t.is(expired.status, 401);
  t.is(expired.headers.get('x-sim-auth-failure'), 'expired');
});

test('config: the sample datacenter.json loads and Cloud/Data Center fields do not mix', async (t) => {
  const sample = loadConfig('fixtures/simulator/datacenter.json');
  t.is(sample.product, 'datacenter');
  t.is(sample.contextPath, '/bitbucket');
  t.deepEqual(sample.projects?.PROJ, ['widgets']);
  const s = await startSimulator({ config: sample });
  t.teardown(() => s.close());
  const dave = sample.users.find((u) => u.username === 'dave')!;
  const pat = dave.secrets.find((x) => x.kind === 'personal-access-token')!.value;
  t.is((await getJson(s, '/bitbucket/rest/api/1.0/users/dave', basic('dave', pat))).status, 200);

  const bad = (over: Record<string, unknown>) => t.throws(() => parseConfig({ ...CONFIG, ...over }, 'test'), { instanceOf: SimulatorConfigError });
  bad({ product: 'server' });
  bad({ contextPath: 'bitbucket' });
  bad({ contextPath: '/bitbucket/' });
  bad({ projects: { proj: ['widgets'] } });
  bad({ workspaces: { acme: ['widgets'] } });
  bad({ users: [{ ...CONFIG.users[0]!, secrets: [{ kind: 'api-token', value: 'ATATT-dc-should-fail-00000000' }] }] });
  // Cloud configs refuse the Data Center fields.
  const cloud = { users: [], accessTokens: [], workspaces: { acme: ['widgets'] } };
  t.notThrows(() => parseConfig(cloud, 'cloud'));
  t.throws(() => parseConfig({ ...cloud, projects: { PROJ: ['x'] } }, 'cloud'), { instanceOf: SimulatorConfigError });
  t.throws(() => parseConfig({ ...cloud, contextPath: '/bitbucket' }, 'cloud'), { instanceOf: SimulatorConfigError });
});
