// The simulator's OAuth 2.0 server (fixtures/simulator/oauth.ts): Cloud and Data Center flows,
// rotation, expiry over real git, and the switches tests of the client will lean on.

import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSimulator, type Simulator, type SimulatorConfig } from '../fixtures/simulator/server.js';
import { assertDifferentSecret, assertSameSecret } from './support/answers.js';
import { isolatedGitEnv } from './support/sim-fixtures.js';

const execFileAsync = promisify(execFile);

const CLOUD_KEY = 'cloudKey7Qm2';
const CLOUD_SECRET = 'cloudSecret-9f8e7d6c5b4a3928';
const CLOUD_CALLBACK = 'http://127.0.0.1:47111/';
const READONLY_KEY = 'readOnlyKey3x';
const READONLY_SECRET = 'readOnlySecret-1a2b3c4d5e6f';
const DC_KEY = 'dc-public-client';
const DC_SECRET_KEY = 'dc-confidential';
const DC_SECRET = 'dcSecret-5e6f7a8b9c0d';
const DC_CALLBACK = 'http://127.0.0.1:47112/callback';

const CONFIG: SimulatorConfig = {
  users: [
    {
      username: 'alice',
      email: 'alice@example.com',
      displayName: 'Alice Example',
      uuid: '{00000000-0000-4000-8000-00000000a11c}',
      accountId: '712020:alice',
      secrets: [{ kind: 'api-token', value: 'ATATT3xFfGF0-oauthtest-alice-1b2c3d' }],
      workspaces: { acme: 'write' },
    },
    {
      username: 'bob',
      email: 'bob@example.com',
      displayName: 'Bob Example',
      uuid: '{00000000-0000-4000-8000-000000000b0b}',
      accountId: '712020:bob',
      secrets: [],
      workspaces: { acme: 'read' },
    },
  ],
  accessTokens: [],
  workspaces: { acme: ['widgets'] },
  oauthConsumers: [
    { key: CLOUD_KEY, secret: CLOUD_SECRET, name: 'Credential Helper', family: 'cloud', callbackUrl: CLOUD_CALLBACK, scopes: ['repository', 'repository:write'] },
    { key: READONLY_KEY, secret: READONLY_SECRET, name: 'Reader', family: 'cloud', callbackUrl: CLOUD_CALLBACK, scopes: ['repository'] },
    { key: DC_KEY, name: 'DC Helper', family: 'datacenter', callbackUrl: DC_CALLBACK, scopes: ['REPO_READ', 'REPO_WRITE'] },
    { key: DC_SECRET_KEY, secret: DC_SECRET, name: 'DC Confidential', family: 'datacenter', callbackUrl: DC_CALLBACK },
  ],
};

async function sim(t: ExecutionContext, oauth: SimulatorConfig['oauth'] = {}): Promise<Simulator> {
  const s = await startSimulator({ config: { ...CONFIG, oauth } });
  t.teardown(() => s.close());
  return s;
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  headers: Headers;
}

async function postToken(s: Simulator, path: string, form: Record<string, string>, authorization?: string): Promise<TokenAnswer> {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (authorization !== undefined) headers.Authorization = authorization;
  const res = await fetch(s.url + path, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // a non-JSON body (503 while down)
  }
  return { status: res.status, body, text, headers: res.headers };
}

const cloudToken = (s: Simulator, form: Record<string, string>, key = CLOUD_KEY, secret = CLOUD_SECRET) =>
  postToken(s, '/site/oauth2/access_token', form, basic(key, secret));

/** Follows the consent page like a browser whose user clicks a button; returns the redirect Location. */
async function consent(s: Simulator, authorizeUrl: string, decision: 'grant' | 'deny'): Promise<URL> {
  const page = await fetch(authorizeUrl, { redirect: 'manual' });
  if (page.status === 302 && decision === 'grant') return new URL(page.headers.get('location')!); // autoApprove
  if (page.status !== 200) throw new Error(`authorize answered ${page.status}`);
  const html = await page.text();
  const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1];
  if (action === undefined) throw new Error('no consent form');
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.append(m[1]!, unescape(m[2]!));
  form.append('decision', decision);
  const answer = await fetch(s.url + unescape(action), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    redirect: 'manual',
  });
  if (answer.status !== 302) throw new Error(`consent POST answered ${answer.status}`);
  return new URL(answer.headers.get('location')!);
}

function unescape(html: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"' };
  return html.replace(/&(?:#(\d+)|(amp|lt|gt|quot));/g, (_, n: string | undefined, name: string | undefined) =>
    n !== undefined ? String.fromCharCode(Number(n)) : named[name!]!,
  );
}

function cloudAuthorizeUrl(s: Simulator, params: Record<string, string> = {}): string {
  const q = new URLSearchParams({ client_id: CLOUD_KEY, response_type: 'code', state: 'st-123', ...params });
  return `${s.url}/site/oauth2/authorize?${q}`;
}

/** Consent → code → tokens for the Cloud consumer, with HTTP Basic client authentication. */
async function cloudLogin(s: Simulator, key = CLOUD_KEY, secret = CLOUD_SECRET): Promise<{ access: string; refresh: string; body: Record<string, unknown> }> {
  const location = await consent(s, cloudAuthorizeUrl(s, { client_id: key }), 'grant');
  const code = location.searchParams.get('code')!;
  const answer = await cloudToken(s, { grant_type: 'authorization_code', code }, key, secret);
  if (answer.status !== 200) throw new Error(`token request answered ${answer.status}`);
  return { access: answer.body.access_token as string, refresh: answer.body.refresh_token as string, body: answer.body };
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function dcCode(s: Simulator, challenge: string, clientId = DC_KEY): Promise<string> {
  const q = new URLSearchParams({ client_id: clientId, response_type: 'code', state: 'dc-st', redirect_uri: DC_CALLBACK, code_challenge: challenge, code_challenge_method: 'S256', scope: 'REPO_READ REPO_WRITE' });
  const location = await consent(s, `${s.url}/rest/oauth2/latest/authorize?${q}`, 'grant');
  return location.searchParams.get('code')!;
}

/** `git ls-remote` (or a push of an empty commit) with a clean configuration and no prompts; the credential is in the URL. */
async function lsRemote(s: Simulator, username: string, password: string, repo = 'acme/widgets.git', push = false): Promise<{ ok: boolean; stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), 'sim-oauth-git-'));
  try {
    const url = `http://${username}:${password}@${s.host}/${repo}`;
    const git = (...args: string[]) =>
      execFileAsync('git', args, {
        cwd: home,
        env: isolatedGitEnv(home),
        maxBuffer: 1 << 20,
      });
    if (push) {
      await git('init', '-q', '.');
      await git('commit', '-q', '--allow-empty', '-m', 'oauth push');
      await git('push', '-q', url, 'HEAD:refs/heads/main');
    } else {
      await git('ls-remote', url);
    }
    return { ok: true, stderr: '' };
  } catch (error) {
    return { ok: false, stderr: String((error as { stderr?: string }).stderr ?? '') };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

async function infoRefs(s: Simulator, authorization: string, service = 'git-upload-pack'): Promise<Response> {
  const res = await fetch(`${s.url}/acme/widgets.git/info/refs?service=${service}`, { headers: { Authorization: authorization } });
  await res.arrayBuffer();
  return res;
}

test('Cloud: consent page, grant, code, tokens with HTTP Basic client authentication', async (t) => {
  const s = await sim(t);
  const page = await fetch(cloudAuthorizeUrl(s));
  t.is(page.status, 200);
  const html = await page.text();
  t.true(html.includes('Credential Helper wants access to your Bitbucket account'));
  t.true(html.includes('<form method="post" action="/site/oauth2/authorize">'));
  t.true(html.includes('<button type="submit" name="decision" value="grant">Grant access</button>'));
  t.true(html.includes('value="deny">Cancel</button>'));
  t.true(html.includes('(<span id="user">alice</span>)'));

  const location = await consent(s, cloudAuthorizeUrl(s), 'grant');
  t.is(location.origin + location.pathname, CLOUD_CALLBACK);
  t.is(location.searchParams.get('state'), 'st-123');
  const code = location.searchParams.get('code')!;
  t.truthy(code);

  const answer = await cloudToken(s, { grant_type: 'authorization_code', code });
  t.is(answer.status, 200);
  t.is(answer.headers.get('cache-control'), 'no-store');
  t.deepEqual(Object.keys(answer.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scopes', 'state', 'token_type']);
  t.is(answer.body.token_type, 'bearer');
  t.is(answer.body.scopes, 'repository repository:write');
  t.is(answer.body.expires_in, 7200);
  t.is(answer.body.state, 'authorization_code');

  // The access token is the user's, for REST and for git.
  const user = await fetch(`${s.url}/2.0/user`, { headers: { Authorization: `Bearer ${answer.body.access_token as string}` } });
  t.is(user.status, 200);
  t.is(((await user.json()) as { username: string }).username, 'alice');
  t.is((await infoRefs(s, basic('x-token-auth', answer.body.access_token as string))).status, 200);
  t.is((await infoRefs(s, basic('x-token-auth', answer.body.access_token as string), 'git-receive-pack')).status, 200);
  const stats = s.stats();
  t.is(stats.byUsername['x-token-auth']?.succeeded, 2);
  t.deepEqual(stats.oauth.tokenRequests, { authorization_code: 1, refresh_token: 0, other: 0 });
  t.deepEqual(stats.oauth.authorizations, { granted: 1, denied: 0 });
  t.is(stats.oauth.activeAccessTokens, 1);

  // Client credentials in the body work too.
  const again = await consent(s, cloudAuthorizeUrl(s), 'grant');
  const viaBody = await postToken(s, '/site/oauth2/access_token', { grant_type: 'authorization_code', code: again.searchParams.get('code')!, client_id: CLOUD_KEY, client_secret: CLOUD_SECRET });
  t.is(viaBody.status, 200);
});

test('Cloud: deny, unknown client, redirect_uri rules, autoApprove', async (t) => {
  const s = await sim(t);
  const denied = await consent(s, cloudAuthorizeUrl(s, { state: 'a&b"<c>\'d' }), 'deny');
  t.is(denied.searchParams.get('error'), 'access_denied');
  t.is(denied.searchParams.get('state'), 'a&b"<c>\'d', 'state survives the consent form');
  t.is(denied.searchParams.get('code'), null);

  t.is((await fetch(cloudAuthorizeUrl(s, { client_id: 'nope' }))).status, 400);
  t.is((await fetch(cloudAuthorizeUrl(s, { client_id: DC_KEY }))).status, 400, 'a Data Center client is unknown to Cloud');
  t.is((await fetch(cloudAuthorizeUrl(s, { redirect_uri: 'http://127.0.0.1:9999/' }))).status, 400);
  t.is((await fetch(cloudAuthorizeUrl(s, { redirect_uri: 'http://127.0.0.1:47111/sub/path' }))).status, 200, 'beneath the callback URL is allowed');

  // redirect_uri given at authorize must be repeated at the token endpoint.
  const withRedirect = await consent(s, cloudAuthorizeUrl(s, { redirect_uri: 'http://127.0.0.1:47111/cb' }), 'grant');
  t.is(withRedirect.pathname, '/cb');
  const code = withRedirect.searchParams.get('code')!;
  const missing = await cloudToken(s, { grant_type: 'authorization_code', code });
  t.is(missing.status, 400);
  t.is(missing.body.error, 'invalid_grant');
  t.is((await cloudToken(s, { grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:47111/cb' })).status, 200);

  s.setOAuthSettings({ autoApprove: true });
  const auto = await fetch(cloudAuthorizeUrl(s), { redirect: 'manual' });
  t.is(auto.status, 302);
  t.truthy(new URL(auto.headers.get('location')!).searchParams.get('code'));

  const other = await cloudToken(s, { grant_type: 'password', username: 'alice', password: 'x' });
  t.is(other.status, 400);
  t.is(other.body.error, 'unsupported_grant_type');
  t.is((await cloudToken(s, { code: 'x' })).body.error, 'invalid_request');
  t.is(s.oauthStats().tokenRequests.other, 2);
});

test('Cloud: wrong client secret → 401 invalid_client; code reuse → invalid_grant', async (t) => {
  const s = await sim(t);
  const location = await consent(s, cloudAuthorizeUrl(s), 'grant');
  const code = location.searchParams.get('code')!;

  const wrong = await cloudToken(s, { grant_type: 'authorization_code', code }, CLOUD_KEY, 'not-the-secret');
  t.is(wrong.status, 401);
  t.is(wrong.body.error, 'invalid_client');
  t.is(typeof wrong.body.error_description, 'string');
  t.false(wrong.text.includes('not-the-secret'));
  t.is((await postToken(s, '/site/oauth2/access_token', { grant_type: 'authorization_code', code })).body.error, 'invalid_client', 'no client authentication');
  t.is((await cloudToken(s, { grant_type: 'authorization_code', code }, READONLY_KEY, READONLY_SECRET)).body.error, 'invalid_grant', "another client's code");

  t.is((await cloudToken(s, { grant_type: 'authorization_code', code })).status, 200);
  const reused = await cloudToken(s, { grant_type: 'authorization_code', code });
  t.is(reused.status, 400);
  t.is(reused.body.error, 'invalid_grant');
  t.false(reused.text.includes(code));
  const { failures } = s.oauthStats();
  t.is(failures.invalid_client, 2);
  t.is(failures.invalid_grant, 2);
});

test('Data Center: PKCE S256, good and bad verifier; optional client secret', async (t) => {
  const s = await sim(t);
  const { verifier, challenge } = pkce();

  // No challenge → back to the client with invalid_request.
  const q = new URLSearchParams({ client_id: DC_KEY, response_type: 'code', state: 's', redirect_uri: DC_CALLBACK });
  const noPkce = await fetch(`${s.url}/rest/oauth2/latest/authorize?${q}`, { redirect: 'manual' });
  t.is(noPkce.status, 302);
  t.is(new URL(noPkce.headers.get('location')!).searchParams.get('error'), 'invalid_request');

  const code = await dcCode(s, challenge);
  const token = '/rest/oauth2/latest/token';
  const base = { grant_type: 'authorization_code', code, client_id: DC_KEY, redirect_uri: DC_CALLBACK };
  const bad = await postToken(s, token, { ...base, code_verifier: pkce().verifier });
  t.is(bad.status, 400);
  t.is(bad.body.error, 'invalid_grant');
  t.is((await postToken(s, token, base)).body.error, 'invalid_request', 'no verifier');

  const good = await postToken(s, token, { ...base, code_verifier: verifier });
  t.is(good.status, 200);
  t.deepEqual(Object.keys(good.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
  t.is(good.body.token_type, 'bearer');
  t.is(good.body.scope, 'REPO_READ REPO_WRITE');
  const access = good.body.access_token as string;

  // Data Center tokens go to git with the user's own name, not x-token-auth.
  t.is((await infoRefs(s, basic('alice', access))).status, 200);
  t.is((await infoRefs(s, basic('x-token-auth', access))).status, 401);
  t.is((await infoRefs(s, basic('bob', access))).status, 401);

  const refreshed = await postToken(s, token, { grant_type: 'refresh_token', refresh_token: good.body.refresh_token as string, client_id: DC_KEY });
  t.is(refreshed.status, 200);
  assertDifferentSecret(t, refreshed.body.refresh_token as string, good.body.refresh_token as string, 'a rotated refresh token');

  // A confidential Data Center client must send its secret (body or Basic).
  const pair = pkce();
  const code2 = await dcCode(s, pair.challenge, DC_SECRET_KEY);
  const form = { grant_type: 'authorization_code', code: code2, redirect_uri: DC_CALLBACK, code_verifier: pair.verifier };
  t.is((await postToken(s, token, { ...form, client_id: DC_SECRET_KEY })).body.error, 'invalid_client');
  t.is((await postToken(s, token, form, basic(DC_SECRET_KEY, DC_SECRET))).status, 200);
});

test('refresh rotation: new token each time, grace window, stale-use counter; rotation off keeps it', async (t) => {
  const s = await sim(t);
  const first = await cloudLogin(s);
  const r1 = await cloudToken(s, { grant_type: 'refresh_token', refresh_token: first.refresh });
  t.is(r1.status, 200);
  t.is(r1.body.state, 'refresh_token');
  assertDifferentSecret(t, r1.body.refresh_token as string, first.refresh, 'a new refresh token');
  assertDifferentSecret(t, r1.body.access_token as string, first.access, 'a new access token');
  t.is(s.oauthStats().staleRefreshUses, 0);

  // The old one still works inside the grace window, and that use is counted.
  const inGrace = await cloudToken(s, { grant_type: 'refresh_token', refresh_token: first.refresh });
  t.is(inGrace.status, 200);
  t.is(s.oauthStats().staleRefreshUses, 1);

  s.setOAuthSettings({ refreshTokenGraceSeconds: 30 });
  s.advanceClock(31);
  const late = await cloudToken(s, { grant_type: 'refresh_token', refresh_token: first.refresh });
  t.is(late.status, 400);
  t.is(late.body.error, 'invalid_grant');
  t.false(late.text.includes(first.refresh));
  t.is(s.oauthStats().staleRefreshUses, 2);

  // The newest one works and was never stale.
  const r2 = await cloudToken(s, { grant_type: 'refresh_token', refresh_token: r1.body.refresh_token as string });
  t.is(r2.status, 200);
  t.is(s.oauthStats().staleRefreshUses, 2);
  t.deepEqual(s.oauthStats().tokenRequests, { authorization_code: 1, refresh_token: 4, other: 0 });
  t.deepEqual(s.oauthStats().tokensIssued, { authorization_code: 1, refresh_token: 3 });

  s.setOAuthSettings({ rotateRefreshTokens: false });
  const kept = r2.body.refresh_token as string;
  for (let i = 0; i < 3; i++) {
    const r = await cloudToken(s, { grant_type: 'refresh_token', refresh_token: kept });
    t.is(r.status, 200);
    assertSameSecret(t, r.body.refresh_token as string, kept, 'the same refresh token');
  }
  t.is(s.oauthStats().staleRefreshUses, 2);
});

test('access tokens expire: git ls-remote with x-token-auth works before, fails after', async (t) => {
  const s = await sim(t, { accessTokenLifetimeSeconds: 90.5 });
  const { access, body } = await cloudLogin(s);
  t.is(body.expires_in, 90.5);
  t.deepEqual(await lsRemote(s, 'x-token-auth', access), { ok: true, stderr: '' });
  t.true(s.stats().byUsername['x-token-auth']!.succeeded >= 1);
  t.is(s.oauthStats().activeAccessTokens, 1);

  s.advanceClock(90.5);
  const after = await lsRemote(s, 'x-token-auth', access);
  t.false(after.ok);
  t.false(after.stderr.includes(access.slice(0, 40)), 'nothing of the token in git output');
  const res = await infoRefs(s, basic('x-token-auth', access));
  t.is(res.status, 401);
  t.is(res.headers.get('x-sim-auth-failure'), 'expired');
  t.is(res.headers.get('www-authenticate'), 'Basic realm="Bitbucket.org HTTP"');
  t.is(s.oauthStats().activeAccessTokens, 0);

  // The refresh token still works and brings git back.
  s.setOAuthSettings({ accessTokenLifetimeSeconds: 60 });
  const { refresh } = await cloudLogin(s);
  const renewed = await cloudToken(s, { grant_type: 'refresh_token', refresh_token: refresh });
  t.true((await lsRemote(s, 'x-token-auth', renewed.body.access_token as string)).ok);

  // expireOAuthAccessTokens skips the wait.
  t.is(s.expireOAuthAccessTokens('alice'), 2);
  t.is((await infoRefs(s, basic('x-token-auth', renewed.body.access_token as string))).headers.get('x-sim-auth-failure'), 'expired');
});

test('scopes and user permissions both limit git', async (t) => {
  const s = await sim(t);
  const writer = await cloudLogin(s);
  t.deepEqual(await lsRemote(s, 'x-token-auth', writer.access, 'acme/widgets.git', true), { ok: true, stderr: '' });
  t.true(s.stats().gitRequests.push >= 1);
  const reader = await cloudLogin(s, READONLY_KEY, READONLY_SECRET);
  t.false((await lsRemote(s, 'x-token-auth', reader.access, 'acme/widgets.git', true)).ok);
  t.is(reader.body.scopes, 'repository');
  t.is((await infoRefs(s, basic('x-token-auth', reader.access))).status, 200);
  t.is((await infoRefs(s, basic('x-token-auth', reader.access), 'git-receive-pack')).status, 403);

  s.setOAuthSettings({ consentUser: 'bob', autoApprove: true });
  const bob = await cloudLogin(s);
  t.is((await infoRefs(s, basic('x-token-auth', bob.access))).status, 200);
  t.is((await infoRefs(s, basic('x-token-auth', bob.access), 'git-receive-pack')).status, 403, 'bob only reads acme');
  const user = await fetch(`${s.url}/2.0/user`, { headers: { Authorization: `Bearer ${bob.access}` } });
  t.is(((await user.json()) as { username: string }).username, 'bob');
});

test('revoke: refresh → invalid_grant, access tokens → 401, per user or all', async (t) => {
  const s = await sim(t, { autoApprove: true });
  const alice = await cloudLogin(s);
  s.setOAuthSettings({ consentUser: 'bob' });
  const bob = await cloudLogin(s);

  t.is(s.revokeOAuth('alice'), 1);
  const refused = await cloudToken(s, { grant_type: 'refresh_token', refresh_token: alice.refresh });
  t.is(refused.status, 400);
  t.is(refused.body.error, 'invalid_grant');
  const git = await infoRefs(s, basic('x-token-auth', alice.access));
  t.is(git.status, 401);
  t.is(git.headers.get('x-sim-auth-failure'), 'revoked');
  t.is((await fetch(`${s.url}/2.0/user`, { headers: { Authorization: `Bearer ${alice.access}` } })).status, 401);
  t.is((await infoRefs(s, basic('x-token-auth', bob.access))).status, 200, "bob's grant is untouched");

  const viaEndpoint = await fetch(`${s.url}/_sim/oauth/revoke`, { method: 'POST', body: '{}' });
  t.deepEqual(await viaEndpoint.json(), { revoked: 1 });
  t.is((await cloudToken(s, { grant_type: 'refresh_token', refresh_token: bob.refresh })).body.error, 'invalid_grant');
  t.is(s.oauthStats().activeAccessTokens, 0);
});

test('token endpoint down → 503 with a short body; counted; back up again', async (t) => {
  const s = await sim(t, { autoApprove: true });
  const { refresh } = await cloudLogin(s);
  s.setTokenEndpointDown(true);
  const down = await cloudToken(s, { grant_type: 'refresh_token', refresh_token: refresh });
  t.is(down.status, 503);
  t.true(down.text.length < 200);
  t.false(down.text.includes(refresh.slice(0, 40)));
  const dcDown = await postToken(s, '/rest/oauth2/latest/token', { grant_type: 'refresh_token', refresh_token: 'x', client_id: DC_KEY });
  t.is(dcDown.status, 503);
  t.is(s.oauthStats().failures.temporarily_unavailable, 2);
  t.is(s.oauthStats().tokenRequests.refresh_token, 2);

  const up = await fetch(`${s.url}/_sim/oauth/down`, { method: 'POST', body: JSON.stringify({ down: false }) });
  t.deepEqual(await up.json(), { down: false });
  t.is((await cloudToken(s, { grant_type: 'refresh_token', refresh_token: refresh })).status, 200, 'the refresh token survived the outage');
});

test('tokens are ≥ 3000 URL-safe characters by default, all different; length is configurable', async (t) => {
  const s = await sim(t, { autoApprove: true });
  const seen = new Set<string>();
  const first = await cloudLogin(s);
  let refresh = first.refresh;
  seen.add(first.access).add(first.refresh);
  for (let i = 0; i < 5; i++) {
    const r = await cloudToken(s, { grant_type: 'refresh_token', refresh_token: refresh });
    refresh = r.body.refresh_token as string;
    seen.add(r.body.access_token as string).add(refresh);
  }
  t.is(seen.size, 12);
  for (const token of seen) {
    t.true(token.length >= 3000);
    t.regex(token, /^[A-Za-z0-9_-]+$/);
  }
  // A 3000-character token still fits in git's Authorization header.
  t.true((await lsRemote(s, 'x-token-auth', first.access)).ok);

  const short = await sim(t, { autoApprove: true, tokenLength: 64 });
  t.is((await cloudLogin(short)).access.length, 64);
});

test('/_sim endpoints: settings, stats with oauth, reset', async (t) => {
  const s = await sim(t, { autoApprove: true });
  await cloudLogin(s);
  const stats = (await (await fetch(`${s.url}/_sim/stats`)).json()) as { oauth: { tokenRequests: { authorization_code: number }; activeAccessTokens: number } };
  t.is(stats.oauth.tokenRequests.authorization_code, 1);
  t.is(stats.oauth.activeAccessTokens, 1);

  const set = await fetch(`${s.url}/_sim/oauth/settings`, { method: 'POST', body: JSON.stringify({ accessTokenLifetimeSeconds: 3, rotateRefreshTokens: false }) });
  t.is(set.status, 200);
  const settings = (await set.json()) as Record<string, unknown>;
  t.is(settings.accessTokenLifetimeSeconds, 3);
  t.is(settings.rotateRefreshTokens, false);
  t.is(settings.tokenLength, 3000);
  t.is((await fetch(`${s.url}/_sim/oauth/settings`, { method: 'POST', body: JSON.stringify({ accessTokenLifetimeSeconds: -1 }) })).status, 400);
  t.throws(() => s.setOAuthSettings({ consentUser: 'nobody' }));

  t.is((await fetch(`${s.url}/_sim/reset`, { method: 'POST' })).status, 204);
  const after = s.oauthStats();
  t.is(after.tokenRequests.authorization_code, 0);
  t.is(after.authorizations.granted, 0);
  t.is(after.activeAccessTokens, 1, 'a gauge, not a counter');
  t.deepEqual(await (await fetch(`${s.url}/_sim/oauth/stats`)).json(), after);
});

test('config validation for oauthConsumers and oauth', async (t) => {
  const bad = async (patch: Partial<SimulatorConfig>, message: RegExp) => {
    await t.throwsAsync(startSimulator({ config: { ...CONFIG, ...patch } }), { message });
  };
  await bad({ oauthConsumers: [{ key: 'k', name: 'n', family: 'cloud' }] }, /secret is required/);
  await bad({ oauthConsumers: [{ key: 'k', name: 'n', family: 'datacenter', scopes: ['repository'] }] }, /not a datacenter scope/);
  await bad({ oauth: { tokenLength: 10 } }, /tokenLength/);
  await bad({ oauth: { consentUser: 'carol' } }, /consentUser/);
  await bad({ oauthConsumers: [{ key: 'k', secret: 's', name: 'n', family: 'cloud', callbackUrl: 'ftp://x/' }] }, /callbackUrl/);
});

test.serial('SIM_DEBUG logs no token, code or client secret', async (t) => {
  const previous = process.env.SIM_DEBUG;
  process.env.SIM_DEBUG = '1';
  let s: Simulator;
  try {
    s = await sim(t);
  } finally {
    if (previous === undefined) delete process.env.SIM_DEBUG;
    else process.env.SIM_DEBUG = previous;
  }
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  // Captured, not forwarded: the test output stays quiet.
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const location = await consent(s, cloudAuthorizeUrl(s), 'grant');
    const code = location.searchParams.get('code')!;
    const answer = await cloudToken(s, { grant_type: 'authorization_code', code });
    const access = answer.body.access_token as string;
    const refresh = answer.body.refresh_token as string;
    await cloudToken(s, { grant_type: 'authorization_code', code });
    await cloudToken(s, { grant_type: 'refresh_token', refresh_token: refresh }, CLOUD_KEY, 'wrong-secret-zz9');
    await cloudToken(s, { grant_type: 'refresh_token', refresh_token: refresh });
    await infoRefs(s, basic('x-token-auth', access));
    s.expireOAuthAccessTokens();
    await infoRefs(s, basic('x-token-auth', access));
    const log = lines.join('');
    t.true(log.includes('[bitbucket-sim]'));
    for (const secret of [code, access.slice(0, 32), refresh.slice(0, 32), CLOUD_SECRET, 'wrong-secret-zz9']) t.false(log.includes(secret));
  } finally {
    process.stderr.write = write;
  }
});
