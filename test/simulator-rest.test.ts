// The simulator's REST side (fixtures/simulator README "REST API"): Cloud API-token scopes and
// Bitbucket's missing-scope 403 (REST and git), GET /2.0/user, /2.0/user/workspaces and
// /2.0/repositories/<workspace> with Bitbucket's paging, and Data Center's X-AUSERNAME header and
// /rest/api/1.0/projects. Real HTTP against a started simulator; no secret ever goes into a message.

import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_API_TOKEN_SCOPES, parseConfig, SimulatorConfigError } from '../fixtures/simulator/config.js';
import { startSimulator, type Simulator, type SimulatorConfig } from '../fixtures/simulator/server.js';
import { isolatedGitEnv, simUser } from './support/sim-fixtures.js';

const execFileAsync = promisify(execFile);

const ALICE_TOKEN = 'ATATT3xFfGF0-resttest-alice-Lq8Wm3Zr5Tx1';
const CAROL_TOKEN = 'ATATT3xFfGF0-resttest-carol-Hd4Ks7Np2Qv9';
const DAN_TOKEN = 'ATATT3xFfGF0-resttest-dan-Bf6Jy1Uc8Xe3';
const ERIN_TOKEN = 'ATATT3xFfGF0-resttest-erin-Mg2Rt9Wk5Ps0';
const WORKSPACE_TOKEN = 'ATCTT3xFfGN0-resttest-acme-ws-Vn7Cq4Lz1';
const REPO_TOKEN = 'ATCTT3xFfGN0-resttest-acme-gadgets-Tj3Ob8Ya6';
const CONSUMER_KEY = 'restTestReader';
const CONSUMER_SECRET = 'restTestReaderSecret-4c5d6e7f';
const ACCOUNT_KEY = 'restTestAccount';
const ACCOUNT_SECRET = 'restTestAccountSecret-8a9b0c1d';

const MISSING_SCOPE = 'Your credentials lack one or more required privilege scopes.';

/** A user whose only secret is an API token with exactly `scopes`. */
function scopedUser(username: string, token: string, scopes: string[], workspaces: SimulatorConfig['users'][number]['workspaces']) {
  return { ...simUser(username, token, workspaces), secrets: [{ kind: 'api-token' as const, value: token, scopes }] };
}

const CLOUD: SimulatorConfig = {
  users: [
    // No scopes configured: every default scope.
    simUser('alice', ALICE_TOKEN, { acme: 'write', alice: 'admin', zeta: 'read' }),
    scopedUser('carol', CAROL_TOKEN, ['read:repository:bitbucket'], { acme: 'write' }),
    scopedUser('dan', DAN_TOKEN, ['read:user:bitbucket', 'write:repository:bitbucket'], { acme: 'write' }),
    scopedUser('erin', ERIN_TOKEN, ['read:user:bitbucket', 'read:repository:bitbucket'], { acme: 'read' }),
  ],
  accessTokens: [
    { name: 'acme-ws', value: WORKSPACE_TOKEN, workspace: 'acme', repository: null, permission: 'read' },
    { name: 'acme-gadgets', value: REPO_TOKEN, workspace: 'acme', repository: 'gadgets', permission: 'read' },
  ],
  workspaces: { acme: ['widgets', 'gadgets'], alice: ['notes'], zeta: ['stuff'], hidden: ['vault'] },
  oauthConsumers: [
    { key: CONSUMER_KEY, secret: CONSUMER_SECRET, name: 'Reader', family: 'cloud', scopes: ['repository'] },
    { key: ACCOUNT_KEY, secret: ACCOUNT_SECRET, name: 'Account', family: 'cloud', scopes: ['account', 'repository:write'] },
  ],
  oauth: { autoApprove: true, consentUser: 'alice' },
};

const DAVE_PASSWORD = 'dc-resttest-dave-password-Wq3Er7Ty1';
const DAVE_PAT = 'BBDC-resttest-dave-pat-Ui5Op9As3Df7';
const ERIN_PAT = 'BBDC-resttest-erin-pat-Gh2Jk6Lz0Xc4';
const FRANK_PAT = 'BBDC-resttest-frank-pat-Vb8Nm2Qw6Er0';

function dcUser(username: string, secrets: SimulatorConfig['users'][number]['secrets'], projects: Record<string, 'read' | 'write' | 'admin'>) {
  return { username, email: `${username}@example.com`, displayName: username, uuid: `{dc-${username}}`, accountId: `dc:${username}`, secrets, workspaces: {}, projects };
}

const DC: SimulatorConfig = {
  product: 'datacenter',
  contextPath: '/bitbucket',
  projects: { PROJ: ['widgets', 'gizmos'], OPS: ['deploy'], SEC: ['vault'] },
  users: [
    dcUser('dave', [{ kind: 'password', value: DAVE_PASSWORD }, { kind: 'personal-access-token', value: DAVE_PAT }], { PROJ: 'write', OPS: 'read' }),
    dcUser('erin', [{ kind: 'personal-access-token', value: ERIN_PAT }], { OPS: 'read' }),
    dcUser('frank', [{ kind: 'personal-access-token', value: FRANK_PAT }], {}),
  ],
  accessTokens: [],
  workspaces: {},
};

async function start(t: ExecutionContext, config: SimulatorConfig): Promise<Simulator> {
  const s = await startSimulator({ config });
  t.teardown(() => s.close());
  return s;
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const bearer = (token: string): string => `Bearer ${token}`;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function getJson(url: string, authorization?: string): Promise<Answer> {
  const res = await fetch(url, { headers: authorization === undefined ? {} : { Authorization: authorization } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

async function infoRefs(url: string, authorization: string, service: 'git-upload-pack' | 'git-receive-pack'): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${url}/info/refs?service=${service}`, { headers: { Authorization: authorization } });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const slugsOf = (body: Record<string, unknown>): string[] => (body.values as { slug: string }[]).map((v) => v.slug);

/** Follows `next` from `first` to the end; returns every page. */
async function allPages(first: string, authorization: string): Promise<Answer[]> {
  const pages: Answer[] = [];
  let url: string | undefined = first;
  while (url !== undefined && pages.length < 20) {
    const page = await getJson(url, authorization);
    pages.push(page);
    url = page.body.next as string | undefined;
  }
  return pages;
}

/** Consent (auto-approved) → code → access token for a Cloud consumer. */
async function oauthToken(s: Simulator, key: string, secret: string): Promise<string> {
  const authorize = await fetch(`${s.url}/site/oauth2/authorize?${new URLSearchParams({ client_id: key, response_type: 'code', redirect_uri: 'http://127.0.0.1:47199/' })}`, { redirect: 'manual' });
  const code = new URL(authorize.headers.get('location') ?? 'http://invalid/').searchParams.get('code');
  if (code === null) throw new Error(`authorize answered ${authorize.status} without a code`);
  const answer = await fetch(`${s.url}/site/oauth2/access_token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(key, secret) },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:47199/' }).toString(),
  });
  if (answer.status !== 200) throw new Error(`token request answered ${answer.status}`);
  return ((await answer.json()) as { access_token: string }).access_token;
}

interface GitRun {
  ok: boolean;
  stderr: string;
}

/** git in a clean environment; a credential helper answers `username` and `password`. */
function gitRunner(t: ExecutionContext, username: string, password: string) {
  const home = mkdtempSync(join(tmpdir(), 'sim-rest-git-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const helper = ['-c', `credential.helper=!f() { test "$1" = get && echo username=${username} && echo password=${password}; }; f`];
  return {
    home,
    async run(cwd: string, ...args: string[]): Promise<GitRun> {
      try {
        const { stderr } = await execFileAsync('git', [...helper, ...args], { cwd, env: isolatedGitEnv(home), maxBuffer: 1 << 20 });
        return { ok: true, stderr };
      } catch (error) {
        return { ok: false, stderr: String((error as { stderr?: string }).stderr ?? '') };
      }
    },
  };
}

async function headOf(s: Simulator, workspace: string, repo: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', ['--git-dir', s.repoPath(workspace, repo), 'rev-parse', '--verify', '-q', 'refs/heads/main']);
    return stdout.trim();
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------- config

test('config: scopes only on api-token secrets, known names only; defaults filled in; output parses again', (t) => {
  const base = { users: [simUser('zoe', 'ATATT-config-zoe-1', {})], accessTokens: [], workspaces: {} };
  const parsed = parseConfig(base, 'test');
  t.deepEqual(parsed.users[0]!.secrets[0]!.scopes, [...DEFAULT_API_TOKEN_SCOPES]);
  t.deepEqual(parseConfig(parsed, 'again'), parsed);
  t.deepEqual([...DEFAULT_API_TOKEN_SCOPES].sort(), [
    'read:account',
    'read:pullrequest:bitbucket',
    'read:repository:bitbucket',
    'read:user:bitbucket',
    'read:workspace:bitbucket',
    'write:pullrequest:bitbucket',
    'write:repository:bitbucket',
  ]);

  const withSecret = (secret: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    ...base,
    ...extra,
    users: [{ ...simUser('zoe', 'x', {}), secrets: [secret] }],
  });
  const explicit = parseConfig(withSecret({ kind: 'api-token', value: 'ATATT-config-zoe-2', scopes: ['read:user:bitbucket', 'read:user:bitbucket'] }), 'test');
  t.deepEqual(explicit.users[0]!.secrets[0]!.scopes, ['read:user:bitbucket'], 'duplicates collapse');

  const error = t.throws(() => parseConfig(withSecret({ kind: 'app-password', value: 'ATBB-config-zoe', scopes: ['read:user:bitbucket'] }), 'test'), { instanceOf: SimulatorConfigError });
  t.regex(error.message, /users\[0\]\.secrets\[0\]\.scopes applies only to "kind": "api-token"/);
  const unknown = t.throws(() => parseConfig(withSecret({ kind: 'api-token', value: 'ATATT-config-zoe-3', scopes: ['repository'] }), 'test'), { instanceOf: SimulatorConfigError });
  t.regex(unknown.message, /users\[0\]\.secrets\[0\]\.scopes\[0\] is not a Bitbucket API token scope/);
  t.throws(() => parseConfig(withSecret({ kind: 'api-token', value: 'ATATT-config-zoe-4', scopes: [] }), 'test'), { instanceOf: SimulatorConfigError, message: /at least one scope/ });
  t.throws(() => parseConfig(withSecret({ kind: 'api-token', value: 'ATATT-config-zoe-5', scopes: 'read:user:bitbucket' }), 'test'), { instanceOf: SimulatorConfigError, message: /scopes must be an array/ });
  // Data Center kinds never take scopes.
  t.throws(
    () => parseConfig({ ...withSecret({ kind: 'personal-access-token', value: 'BBDC-config-zoe', scopes: ['read:user:bitbucket'] }), product: 'datacenter', projects: {} }, 'test'),
    { instanceOf: SimulatorConfigError, message: /secrets\[0\]\.scopes applies only to "kind": "api-token"/ },
  );
});

// ---------------------------------------------------------------- GET /2.0/user

test('GET /2.0/user: 200 with email:token; 403 with Bitbucket\'s body when read:user:bitbucket is missing', async (t) => {
  const s = await start(t, CLOUD);
  const ok = await getJson(`${s.url}/2.0/user`, basic('alice@example.com', ALICE_TOKEN));
  t.is(ok.status, 200);
  t.is(ok.body.username, 'alice');
  t.is(ok.body.type, 'user');

  const refused = await getJson(`${s.url}/2.0/user`, basic('carol@example.com', CAROL_TOKEN));
  t.is(refused.status, 403);
  t.deepEqual(refused.body, {
    type: 'error',
    error: { message: MISSING_SCOPE, detail: { required: ['read:user:bitbucket'], granted: ['read:repository:bitbucket'] } },
  });
  t.is(refused.headers.get('x-sim-auth-failure'), 'missing-scope');
  t.is(refused.headers.get('www-authenticate'), null, 'a 403 is no challenge');
  // The credential itself was good: a 403 is no failed attempt.
  t.is(s.stats().byUsername['carol@example.com']?.succeeded, 1);
  t.is(s.stats().failed, 0);

  // Access tokens keep their own 403, and a 401 is unchanged.
  const token = await getJson(`${s.url}/2.0/user`, bearer(WORKSPACE_TOKEN));
  t.is(token.status, 403);
  t.deepEqual(token.body, { type: 'error', error: { message: 'This API is not accessible by this authentication mechanism' } });
  const anonymous = await getJson(`${s.url}/2.0/user`);
  t.is(anonymous.status, 401);
  t.deepEqual(anonymous.body, { type: 'error', error: { message: 'Unauthorized' } });
});

// ---------------------------------------------------------------- GET /2.0/user/workspaces

test('GET /2.0/user/workspaces: paged by pagelen, next leads to the rest; administrator flag; shape', async (t) => {
  const s = await start(t, CLOUD);
  const auth = basic('alice@example.com', ALICE_TOKEN);

  const whole = await getJson(`${s.url}/2.0/user/workspaces`, auth);
  t.is(whole.status, 200);
  t.is(whole.body.pagelen, 10);
  t.is(whole.body.page, 1);
  t.is(whole.body.size, 3);
  t.false('next' in whole.body);
  const values = whole.body.values as { workspace: { slug: string; uuid: string }; administrator: boolean }[];
  t.deepEqual(values.map((v) => v.workspace.slug), ['acme', 'alice', 'zeta'], 'only workspaces with a permission, by slug');
  t.deepEqual(values.map((v) => v.administrator), [false, true, false]);
  const acme = values[0]!;
  t.regex(acme.workspace.uuid, /^\{[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}\}$/);
  t.deepEqual(acme, {
    type: 'workspace_access',
    administrator: false,
    workspace: { type: 'workspace_base', uuid: acme.workspace.uuid, slug: 'acme', name: 'acme', links: { html: { href: `${s.url}/acme/` } } },
    links: { self: { href: `${s.url}/2.0/user/workspaces/acme/permission` } },
  });
  t.not(values[1]!.workspace.uuid, acme.workspace.uuid);

  const pages = await allPages(`${s.url}/2.0/user/workspaces?pagelen=1`, auth);
  t.is(pages.length, 3);
  t.true(pages.every((p) => p.status === 200 && p.body.pagelen === 1 && p.body.size === 3));
  t.deepEqual(pages.map((p) => p.body.page), [1, 2, 3]);
  t.is(pages[0]!.body.next, `${s.url}/2.0/user/workspaces?pagelen=1&page=2`);
  t.false('next' in pages[2]!.body);
  t.deepEqual(pages.flatMap((p) => (p.body.values as { workspace: { slug: string } }[]).map((v) => v.workspace.slug)), ['acme', 'alice', 'zeta']);
  const again = await getJson(`${s.url}/2.0/user/workspaces?pagelen=1`, auth);
  t.is((again.body.values as { workspace: { uuid: string } }[])[0]!.workspace.uuid, acme.workspace.uuid, 'the uuid is stable');

  const past = await getJson(`${s.url}/2.0/user/workspaces?page=9`, auth);
  t.is(past.status, 200);
  t.deepEqual(past.body.values, []);
  for (const bad of ['pagelen=101', 'pagelen=0', 'page=0', 'page=x']) {
    const answer = await getJson(`${s.url}/2.0/user/workspaces?${bad}`, auth);
    t.is(answer.status, 400, bad);
    t.deepEqual(answer.body, { type: 'error', error: { message: bad.startsWith('page=') ? 'Invalid page' : 'Invalid pagelen' } }, bad);
  }
});

test('GET /2.0/user/workspaces: 403 for an access token and for a token without read:workspace:bitbucket', async (t) => {
  const s = await start(t, CLOUD);
  for (const authorization of [bearer(WORKSPACE_TOKEN), basic('x-token-auth', REPO_TOKEN)]) {
    const answer = await getJson(`${s.url}/2.0/user/workspaces`, authorization);
    t.is(answer.status, 403);
    t.deepEqual(answer.body, { type: 'error', error: { message: 'This API is not accessible by this authentication mechanism' } });
  }
  const erin = await getJson(`${s.url}/2.0/user/workspaces`, basic('erin@example.com', ERIN_TOKEN));
  t.is(erin.status, 403);
  t.deepEqual(erin.body, {
    type: 'error',
    error: { message: MISSING_SCOPE, detail: { required: ['read:workspace:bitbucket'], granted: ['read:user:bitbucket', 'read:repository:bitbucket'] } },
  });
  t.is(erin.headers.get('x-sim-auth-failure'), 'missing-scope');
  // The old list endpoint is gone (CHANGE-2770); the simulator does not serve it either.
  const old = await getJson(`${s.url}/2.0/workspaces`, basic('alice@example.com', ALICE_TOKEN));
  t.is(old.status, 404);
  t.deepEqual(old.body, { type: 'error', error: { message: 'Resource not found' } });
});

// ---------------------------------------------------------------- GET /2.0/repositories/<workspace>

test('GET /2.0/repositories/<ws>: what a user, a workspace token and a repository token can read', async (t) => {
  const s = await start(t, CLOUD);
  const alice = await getJson(`${s.url}/2.0/repositories/acme`, basic('alice@example.com', ALICE_TOKEN));
  t.is(alice.status, 200);
  t.is(alice.body.size, 2);
  t.deepEqual(slugsOf(alice.body), ['gadgets', 'widgets']);
  t.deepEqual((alice.body.values as unknown[])[1], {
    type: 'repository',
    slug: 'widgets',
    name: 'widgets',
    full_name: 'acme/widgets',
    is_private: true,
    workspace: { type: 'workspace', slug: 'acme' },
    links: { clone: [{ name: 'https', href: `${s.url}/acme/widgets.git` }], html: { href: `${s.url}/acme/widgets` } },
  });
  t.deepEqual(slugsOf((await getJson(`${s.url}/2.0/repositories/ACME`, basic('alice@example.com', ALICE_TOKEN))).body), ['gadgets', 'widgets'], 'slugs are case-insensitive');

  const workspaceToken = await getJson(`${s.url}/2.0/repositories/acme`, bearer(WORKSPACE_TOKEN));
  t.is(workspaceToken.status, 200);
  t.deepEqual(slugsOf(workspaceToken.body), ['gadgets', 'widgets']);
  const repoToken = await getJson(`${s.url}/2.0/repositories/acme`, basic('x-token-auth', REPO_TOKEN));
  t.is(repoToken.status, 200);
  t.deepEqual(slugsOf(repoToken.body), ['gadgets']);
  t.is(repoToken.body.size, 1);
  const otherWorkspace = await getJson(`${s.url}/2.0/repositories/zeta`, bearer(WORKSPACE_TOKEN));
  t.is(otherWorkspace.status, 200);
  t.deepEqual(otherWorkspace.body.values, []);

  const pages = await allPages(`${s.url}/2.0/repositories/acme?pagelen=1`, bearer(WORKSPACE_TOKEN));
  t.is(pages.length, 2);
  t.is(pages[0]!.body.next, `${s.url}/2.0/repositories/acme?pagelen=1&page=2`);
  t.deepEqual(pages.flatMap((p) => slugsOf(p.body)), ['gadgets', 'widgets']);
});

test('GET /2.0/repositories/<ws>: missing read:repository:bitbucket → 403; unknown workspace → 404; unreadable → empty', async (t) => {
  const s = await start(t, CLOUD);
  const dan = await getJson(`${s.url}/2.0/repositories/acme`, basic('dan@example.com', DAN_TOKEN));
  t.is(dan.status, 403);
  t.deepEqual(dan.body, {
    type: 'error',
    error: { message: MISSING_SCOPE, detail: { required: ['read:repository:bitbucket'], granted: ['read:user:bitbucket', 'write:repository:bitbucket'] } },
  });
  t.is(dan.headers.get('x-sim-auth-failure'), 'missing-scope');

  const unknown = await getJson(`${s.url}/2.0/repositories/nope`, basic('alice@example.com', ALICE_TOKEN));
  t.is(unknown.status, 404);
  t.deepEqual(unknown.body, { type: 'error', error: { message: "No workspace with identifier 'nope'." } });

  const hidden = await getJson(`${s.url}/2.0/repositories/hidden`, basic('alice@example.com', ALICE_TOKEN));
  t.is(hidden.status, 200);
  t.deepEqual(hidden.body, { pagelen: 10, page: 1, size: 0, values: [] });

  t.is((await getJson(`${s.url}/2.0/repositories/acme/widgets`, basic('alice@example.com', ALICE_TOKEN))).status, 404, 'other /2.0 paths stay 404');
  const post = await fetch(`${s.url}/2.0/repositories/acme`, { method: 'POST', headers: { Authorization: basic('alice@example.com', ALICE_TOKEN) } });
  t.is(post.status, 405);
});

test('OAuth: /2.0/user/workspaces needs account, /2.0/repositories needs repository (implied by repository:write)', async (t) => {
  const s = await start(t, CLOUD);
  const reader = await oauthToken(s, CONSUMER_KEY, CONSUMER_SECRET);
  const workspaces = await getJson(`${s.url}/2.0/user/workspaces`, bearer(reader));
  t.is(workspaces.status, 403);
  t.deepEqual(workspaces.body, { type: 'error', error: { message: MISSING_SCOPE, detail: { required: ['account'], granted: ['repository'] } } });
  t.is(workspaces.headers.get('x-sim-auth-failure'), 'missing-scope');
  const repos = await getJson(`${s.url}/2.0/repositories/acme`, bearer(reader));
  t.is(repos.status, 200);
  t.deepEqual(slugsOf(repos.body), ['gadgets', 'widgets']);

  const account = await oauthToken(s, ACCOUNT_KEY, ACCOUNT_SECRET);
  const listed = await getJson(`${s.url}/2.0/user/workspaces`, bearer(account));
  t.is(listed.status, 200);
  t.is(listed.body.size, 3);
  t.deepEqual(slugsOf((await getJson(`${s.url}/2.0/repositories/acme`, bearer(account))).body), ['gadgets', 'widgets']);
});

// ---------------------------------------------------------------- git and API-token scopes

test('git: fetch needs read:repository:bitbucket, push needs write:repository:bitbucket (raw smart HTTP)', async (t) => {
  const s = await start(t, CLOUD);
  const repo = `${s.url}/acme/widgets.git`;

  const danFetch = await infoRefs(repo, basic('dan', DAN_TOKEN), 'git-upload-pack');
  t.is(danFetch.status, 403);
  t.is(danFetch.text, `${MISSING_SCOPE}\n`);
  t.is(danFetch.headers.get('x-sim-auth-failure'), 'missing-scope');
  t.is((await infoRefs(repo, basic('dan', DAN_TOKEN), 'git-receive-pack')).status, 200, 'write scope alone is enough to push');

  const carolPush = await infoRefs(repo, basic('x-bitbucket-api-token-auth', CAROL_TOKEN), 'git-receive-pack');
  t.is(carolPush.status, 403);
  t.is(carolPush.text, `${MISSING_SCOPE}\n`);
  t.is(carolPush.headers.get('x-sim-auth-failure'), 'missing-scope');
  t.is((await infoRefs(repo, basic('carol', CAROL_TOKEN), 'git-upload-pack')).status, 200);

  // A token with the scope but no permission keeps the permission message.
  const readOnlyPush = await infoRefs(`${s.url}/zeta/stuff.git`, basic('alice', ALICE_TOKEN), 'git-receive-pack');
  t.is(readOnlyPush.status, 403);
  t.is(readOnlyPush.text, 'You do not have write access to this repository\n');
  t.is(readOnlyPush.headers.get('x-sim-auth-failure'), null);
  // The scope is checked first, so an unknown repository does not tell a scopeless token it is unknown.
  t.is((await infoRefs(`${s.url}/acme/nothing.git`, basic('dan', DAN_TOKEN), 'git-upload-pack')).status, 403);
  t.is((await infoRefs(`${s.url}/acme/nothing.git`, basic('carol', CAROL_TOKEN), 'git-upload-pack')).status, 404);
  t.deepEqual(s.stats().gitRequests, { fetch: 1, push: 1 }, 'refused requests never reach git');
});

test('git: ls-remote refused without the read scope; clone works but push is refused without the write scope', async (t) => {
  const s = await start(t, CLOUD);
  const url = `${s.url}/acme/widgets.git`;

  const dan = gitRunner(t, 'dan', DAN_TOKEN);
  const lsRemote = await dan.run(dan.home, 'ls-remote', url);
  t.false(lsRemote.ok);
  t.regex(lsRemote.stderr, /403/);

  const carol = gitRunner(t, 'carol', CAROL_TOKEN);
  t.true((await carol.run(carol.home, 'ls-remote', url)).ok);
  t.true((await carol.run(carol.home, 'clone', '-q', url, 'work')).ok);
  const work = join(carol.home, 'work');
  t.true((await carol.run(work, 'commit', '-q', '--allow-empty', '-m', 'carol')).ok);
  const push = await carol.run(work, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
  t.false(push.ok);
  t.regex(push.stderr, /403/);
  t.is(await headOf(s, 'acme', 'widgets'), '', 'nothing was pushed');

  // The same steps with every scope do push, so the refusal above is the scope's doing.
  const alice = gitRunner(t, 'alice', ALICE_TOKEN);
  t.true((await alice.run(alice.home, 'clone', '-q', url, 'work')).ok);
  const aliceWork = join(alice.home, 'work');
  t.true((await alice.run(aliceWork, 'commit', '-q', '--allow-empty', '-m', 'alice')).ok);
  t.true((await alice.run(aliceWork, 'push', '-q', 'origin', 'HEAD:refs/heads/main')).ok);
  t.regex(await headOf(s, 'acme', 'widgets'), /^[0-9a-f]{40}$/);
});

// ---------------------------------------------------------------- Data Center

test('Data Center: X-AUSERNAME names the authenticated user on REST and git answers, never on a 401', async (t) => {
  const s = await start(t, DC);
  const rest = `${s.url}/bitbucket/rest/api/1.0`;
  const repo = `${s.url}/bitbucket/scm/proj/widgets.git`;

  const byPassword = await getJson(`${rest}/repos`, basic('dave', DAVE_PASSWORD));
  t.is(byPassword.status, 200);
  t.is(byPassword.headers.get('x-ausername'), 'dave');
  t.is((await getJson(`${rest}/users/erin`, bearer(DAVE_PAT))).headers.get('x-ausername'), 'dave', 'the caller, not the user asked about');
  t.is((await getJson(`${rest}/nothing`, basic('erin', ERIN_PAT))).headers.get('x-ausername'), 'erin', 'a 404 after sign-in too');

  const gitOk = await infoRefs(repo, basic('dave', DAVE_PAT), 'git-upload-pack');
  t.is(gitOk.status, 200);
  t.is(gitOk.headers.get('x-ausername'), 'dave');
  const gitForbidden = await infoRefs(repo, basic('erin', ERIN_PAT), 'git-upload-pack');
  t.is(gitForbidden.status, 403);
  t.is(gitForbidden.headers.get('x-ausername'), 'erin');

  const anonymous = await fetch(`${rest}/repos`);
  t.is(anonymous.status, 401);
  t.is(anonymous.headers.get('x-ausername'), null);
  const wrong = await getJson(`${rest}/repos`, basic('dave', 'not-the-password'));
  t.is(wrong.status, 401);
  t.is(wrong.headers.get('x-ausername'), null);
  const gitWrong = await infoRefs(repo, basic('dave', 'not-the-password'), 'git-upload-pack');
  t.is(gitWrong.status, 401);
  t.is(gitWrong.headers.get('x-ausername'), null);
});

test('Data Center: X-AUSERNAME for an OAuth principal', async (t) => {
  const s = await start(t, { ...DC, oauthConsumers: [{ key: 'dc-rest-client', name: 'DC', family: 'datacenter', callbackUrl: 'http://127.0.0.1:47198/cb' }], oauth: { autoApprove: true, consentUser: 'erin' } });
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const q = new URLSearchParams({ client_id: 'dc-rest-client', response_type: 'code', redirect_uri: 'http://127.0.0.1:47198/cb', code_challenge: challenge, code_challenge_method: 'S256' });
  const authorize = await fetch(`${s.url}/bitbucket/rest/oauth2/latest/authorize?${q}`, { redirect: 'manual' });
  const code = new URL(authorize.headers.get('location') ?? 'http://invalid/').searchParams.get('code');
  t.truthy(code);
  const token = await fetch(`${s.url}/bitbucket/rest/oauth2/latest/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: code ?? '', client_id: 'dc-rest-client', redirect_uri: 'http://127.0.0.1:47198/cb', code_verifier: verifier }).toString(),
  });
  t.is(token.status, 200);
  const access = ((await token.json()) as { access_token: string }).access_token;
  const answer = await getJson(`${s.url}/bitbucket/rest/api/1.0/repos`, bearer(access));
  t.is(answer.status, 200);
  t.is(answer.headers.get('x-ausername'), 'erin');
});

test('Data Center: GET /rest/api/1.0/projects lists projects with a readable repository, paged by start/limit', async (t) => {
  const s = await start(t, DC);
  const rest = `${s.url}/bitbucket/rest/api/1.0`;

  const dave = await getJson(`${rest}/projects`, basic('dave', DAVE_PASSWORD));
  t.is(dave.status, 200);
  t.deepEqual((dave.body.values as { key: string }[]).map((p) => p.key), ['PROJ', 'OPS']);
  t.like(dave.body, { size: 2, limit: 25, start: 0, isLastPage: true });
  t.false('nextPageStart' in dave.body);
  const proj = (dave.body.values as Record<string, unknown>[])[0]!;
  t.deepEqual(proj, { key: 'PROJ', id: proj.id, name: 'PROJ', public: false, type: 'NORMAL', links: { self: [{ href: `${s.url}/bitbucket/projects/PROJ` }] } });
  t.is(typeof proj.id, 'number');
  const repos = await getJson(`${rest}/repos`, basic('dave', DAVE_PASSWORD));
  t.deepEqual((repos.body.values as { project: unknown }[])[0]!.project, proj, 'the same project object /repos shows');

  t.deepEqual(((await getJson(`${rest}/projects`, bearer(ERIN_PAT))).body.values as { key: string }[]).map((p) => p.key), ['OPS']);
  const frank = await getJson(`${rest}/projects`, basic('frank', FRANK_PAT));
  t.is(frank.status, 200);
  t.deepEqual(frank.body, { size: 0, limit: 25, isLastPage: true, values: [], start: 0 });

  const first = await getJson(`${rest}/projects?limit=1`, basic('dave', DAVE_PASSWORD));
  t.like(first.body, { size: 1, limit: 1, start: 0, isLastPage: false, nextPageStart: 1 });
  t.deepEqual((first.body.values as { key: string }[]).map((p) => p.key), ['PROJ']);
  const second = await getJson(`${rest}/projects?limit=1&start=1`, basic('dave', DAVE_PASSWORD));
  t.like(second.body, { size: 1, limit: 1, start: 1, isLastPage: true });
  t.false('nextPageStart' in second.body);
  t.deepEqual((second.body.values as { key: string }[]).map((p) => p.key), ['OPS']);

  const anonymous = await getJson(`${rest}/projects`);
  t.is(anonymous.status, 401);
});
