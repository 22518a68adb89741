// Verify on add (and on set-secret), and `account verify`: every failure of the list is
// produced against the simulator (or a real local TLS server / an unresolvable name), says what
// to fix, and leaves nothing saved.

import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type SimUser } from '../fixtures/simulator/config.js';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import { REPO_ROOT, Sandbox, type RunResult } from './support/sandbox.js';
import { simUser } from './support/sim-fixtures.js';
import { cleanCloneUrl } from '../src/core/hosts/rest/http.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-verify-alice-token-5c7e9a1b3d';
const ALICE_EXPIRED = 'ATATT3xFfGF0-verify-alice-expired-8d0f2b4c6e';
const ALICE_APP_PASSWORD = 'ATBB-verify-alice-app-password-Xk4Lm8Pq2';
const CAROL_NO_REPO_SCOPE = 'ATATT3xFfGF0-verify-carol-noscope-1a3c5e7f9b';
const DAN_GIT_ONLY = 'ATATT3xFfGF0-verify-dan-gitonly-2b4d6f8a0c';
const ACME_ACCESS_TOKEN = 'ATCTT3xFfGN0-verify-acme-access-token-6e8a0c2d4f';
const ALL = [ALICE_TOKEN, ALICE_EXPIRED, ALICE_APP_PASSWORD, CAROL_NO_REPO_SCOPE, DAN_GIT_ONLY, ACME_ACCESS_TOKEN];

function cloudUsers(): SimUser[] {
  const alice = simUser('alice', ALICE_TOKEN, { acme: 'write', alice: 'admin' });
  alice.secrets.push({ kind: 'api-token', value: ALICE_EXPIRED, expiresAt: '2026-01-01T00:00:00Z' }, { kind: 'app-password', value: ALICE_APP_PASSWORD });
  const carol = simUser('carol', CAROL_NO_REPO_SCOPE, { acme: 'read' });
  carol.secrets[0]!.scopes = ['read:user:bitbucket', 'read:workspace:bitbucket'];
  const dan = simUser('dan', DAN_GIT_ONLY, { acme: 'write' });
  dan.secrets[0]!.scopes = ['read:repository:bitbucket', 'write:repository:bitbucket'];
  return [alice, carol, dan];
}

const DC_CONFIG = loadConfig(join(REPO_ROOT, 'fixtures', 'simulator', 'datacenter.json'));
const dcSecret = (username: string, expired: boolean) =>
  DC_CONFIG.users.find((user) => user.username === username)!.secrets.find((secret) => secret.kind === 'personal-access-token' && Boolean(secret.expiresAt) === expired)!.value;
const DAVE_PAT = dcSecret('dave', false);
const ERIN_EXPIRED = dcSecret('erin', true);

interface World {
  sandbox: Sandbox;
  cloud: Simulator;
  dc: Simulator;
  dcBase: string;
}

async function world(t: ExecutionContext): Promise<World> {
  const cloud = await startSimulator({
    config: {
      users: cloudUsers(),
      accessTokens: [{ name: 'acme-ci', value: ACME_ACCESS_TOKEN, workspace: 'acme', repository: null, permission: 'read' }],
      workspaces: { acme: ['widgets'], alice: ['notes'] },
    },
  });
  const lonely = { username: 'frank', email: 'frank@example.com', displayName: 'Frank', secrets: [{ kind: 'personal-access-token', value: 'BBDC-verify-frank-no-projects-3Hn7Kq' }], projects: {} };
  const dc = await startSimulator({ config: { ...DC_CONFIG, users: [...DC_CONFIG.users, lonely] } as typeof DC_CONFIG });
  const sandbox = new Sandbox();
  sandbox.trackSecrets(...ALL, DAVE_PAT, ERIN_EXPIRED, 'BBDC-verify-frank-no-projects-3Hn7Kq');
  t.teardown(async () => {
    await sandbox.cleanup();
    await cloud.close();
    await dc.close();
  });
  return { sandbox, cloud, dc, dcBase: `${dc.url}/bitbucket` };
}

function add(sandbox: Sandbox, name: string, url: string, username: string, secret: string, extra: string[] = []): Promise<RunResult> {
  return sandbox.cli(['account', 'add', name, '--url', url, '--username', username, '--secret-stdin', ...extra], { input: secret + '\n' });
}

/** The add failed with one line that matches, and neither config.json nor the store holds anything. */
function assertRefusedAndNothingSaved(t: ExecutionContext, sandbox: Sandbox, result: RunResult, message: RegExp, secret: string): void {
  t.is(result.code, 1, result.stderr);
  t.regex(result.stderr, message);
  t.regex(result.stderr, /Nothing was saved\./);
  t.is(result.stderr.trim().split('\n').length, 1, 'one line');
  const config = join(sandbox.configHome, 'config.json');
  if (existsSync(config)) t.deepEqual((JSON.parse(readFileSync(config, 'utf8')) as { accounts: unknown[] }).accounts, []);
  const secrets = join(sandbox.configHome, 'secrets.json');
  if (existsSync(secrets)) t.false(readFileSync(secrets, 'utf8').includes(secret));
}

test('a good Cloud API token is verified on add: identity, repository read, git fetch and push', async (t) => {
  const { sandbox, cloud } = await world(t);
  const result = await add(sandbox, 'work', cloud.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud', '--email', 'alice@example.com']);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /work — API token: OK \(user alice\)/);
  t.regex(result.stdout, /ok {3}git fetch: git can fetch acme\/widgets as alice/);
  t.regex(result.stdout, /ok {3}git push: git can push to acme\/widgets/);
  const accounts = JSON.parse((await sandbox.cli(['account', 'list', '--json'])).stdout) as Array<{ name: string }>;
  t.deepEqual(accounts.map((account) => account.name), ['work']);
  t.true(cloud.stats().byUsername['alice@example.com']!.succeeded > 0, 'the REST check used the e-mail');
});

test('an e-mail given as the Cloud username: the message names the real username', async (t) => {
  const { sandbox, cloud } = await world(t);
  const result = await add(sandbox, 'work', cloud.url, 'alice@example.com', ALICE_TOKEN, ['--kind', 'cloud']);
  assertRefusedAndNothingSaved(t, sandbox, result, /alice@example\.com is an e-mail address, but git needs the Bitbucket username, which for this token is alice: use --username alice --email alice@example\.com/, ALICE_TOKEN);
});

test('a token of another user: the message names its owner', async (t) => {
  const { sandbox, cloud } = await world(t);
  const result = await add(sandbox, 'work', cloud.url, 'bob', ALICE_TOKEN, ['--kind', 'cloud', '--email', 'alice@example.com']);
  assertRefusedAndNothingSaved(t, sandbox, result, /the token belongs to Bitbucket user alice, not bob: use --username alice/, ALICE_TOKEN);
});

test('a Cloud app password is refused by Bitbucket and named as such, with the date and the API-token fix', async (t) => {
  const { sandbox, cloud } = await world(t);
  const result = await add(sandbox, 'work', cloud.url, 'alice', ALICE_APP_PASSWORD, ['--kind', 'cloud', '--email', 'alice@example.com']);
  assertRefusedAndNothingSaved(t, sandbox, result, /it is an app password, and Cloud app passwords stopped working on 2026-06-09\. Create an API token with read:repository:bitbucket and write:repository:bitbucket at https:\/\/id\.atlassian\.com/, ALICE_APP_PASSWORD);
  t.true(cloud.stats().failed > 0, 'Bitbucket (the simulator) was asked and refused');
});

test('401: a wrong or expired token; a recorded expiry date turns it into "expired on"', async (t) => {
  const { sandbox, cloud } = await world(t);
  const unknown = await add(sandbox, 'work', cloud.url, 'alice', ALICE_EXPIRED, ['--kind', 'cloud', '--email', 'alice@example.com']);
  assertRefusedAndNothingSaved(t, sandbox, unknown, /refused the API token with the e-mail alice@example\.com \(401\): the token is wrong, revoked or past its expiry date/, ALICE_EXPIRED);
  const dated = await add(sandbox, 'work', cloud.url, 'alice', ALICE_EXPIRED, ['--kind', 'cloud', '--email', 'alice@example.com', '--expires', '2026-01-01']);
  assertRefusedAndNothingSaved(t, sandbox, dated, /refused the token \(401\); it expired on 2026-01-01: create a new one/, ALICE_EXPIRED);
});

test('403: a token without read:repository:bitbucket is refused with the scope named', async (t) => {
  const { sandbox, cloud } = await world(t);
  const result = await add(sandbox, 'work', cloud.url, 'carol', CAROL_NO_REPO_SCOPE, ['--kind', 'cloud', '--email', 'carol@example.com']);
  assertRefusedAndNothingSaved(t, sandbox, result, /the token lacks the scope read:repository:bitbucket: create a token with read:repository:bitbucket, write:repository:bitbucket .*git needs it to fetch; Bitbucket answered 403/, CAROL_NO_REPO_SCOPE);
});

test('a token with only the git scopes: the username cannot be checked until a route names a workspace, then git checks it', async (t) => {
  const { sandbox, cloud } = await world(t);
  const added = await add(sandbox, 'work', cloud.url, 'dan', DAN_GIT_ONLY, ['--kind', 'cloud', '--email', 'dan@example.com']);
  assertRefusedAndNothingSaved(t, sandbox, added, /Bitbucket accepts the token, but the username dan could not be checked: the token lacks read:user:bitbucket .*save it with --no-verify and run `git-credential-bitbucket account verify work` after adding a route/, DAN_GIT_ONLY);

  await sandbox.addAccount('work', cloud.url, 'dan', DAN_GIT_ONLY, ['--kind', 'cloud', '--email', 'dan@example.com']);
  await sandbox.addAccount('typo', cloud.url, 'not-dan', DAN_GIT_ONLY, ['--kind', 'cloud', '--email', 'dan@example.com']);
  await sandbox.addRoute(`${cloud.url}/acme/*`, 'work');
  await sandbox.addRoute(`${cloud.url}/acme/widgets`, 'typo');
  const verify = await sandbox.cli(['account', 'verify', 'work']);
  t.is(verify.code, 0, verify.stdout);
  t.regex(verify.stdout, /the username is checked through git: the token lacks read:user:bitbucket/);
  t.regex(verify.stdout, /git can fetch acme\/widgets as dan/);
  // A wrong username is caught by git itself.
  const typo = await sandbox.cli(['account', 'verify', 'typo']);
  t.is(typo.code, 1);
  t.regex(typo.stdout, /git refused the username not-dan with this token although Bitbucket's API accepted the token/);
});

test('x-bitbucket-api-token-auth is a valid git username for an API token', async (t) => {
  const { sandbox, cloud } = await world(t);
  const result = await add(sandbox, 'work', cloud.url, 'x-bitbucket-api-token-auth', ALICE_TOKEN, ['--kind', 'cloud', '--email', 'alice@example.com']);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /git can fetch acme\/widgets as x-bitbucket-api-token-auth/);
});

test('a secret with spaces or control characters is refused before anything is sent', async (t) => {
  const { sandbox, cloud } = await world(t);
  const result = await add(sandbox, 'work', cloud.url, 'alice', `${ALICE_TOKEN} trailing`, ['--kind', 'cloud', '--email', 'alice@example.com']);
  assertRefusedAndNothingSaved(t, sandbox, result, /holds spaces, control or non-ASCII characters/, ALICE_TOKEN);
  t.is(cloud.stats().failed + cloud.stats().succeeded, 0);
});

test('a clone link off the account URL is never used: the credential stays on its origin', (t) => {
  t.is(cleanCloneUrl('https://alice@bitbucket.org/acme/widgets.git', 'https://bitbucket.org'), 'https://bitbucket.org/acme/widgets.git');
  t.is(cleanCloneUrl('https://git.corp/bitbucket/scm/proj/r.git', 'https://git.corp/bitbucket'), 'https://git.corp/bitbucket/scm/proj/r.git');
  t.is(cleanCloneUrl('https://evil.example/acme/widgets.git', 'https://bitbucket.org'), undefined);
  t.is(cleanCloneUrl('http://git.corp/bitbucket/scm/proj/r.git', 'https://git.corp/bitbucket'), undefined, 'no downgrade to plain http');
  t.is(cleanCloneUrl('https://git.corp/other/scm/proj/r.git', 'https://git.corp/bitbucket'), undefined, 'not below the context path');
  t.is(cleanCloneUrl('not a url', 'https://bitbucket.org'), undefined);
});

test('a Cloud API token without an e-mail: the check needs it, and says so before anything is sent', async (t) => {
  const { sandbox, cloud } = await world(t);
  const result = await add(sandbox, 'work', cloud.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  assertRefusedAndNothingSaved(t, sandbox, result, /checking a Cloud API token needs the Atlassian account e-mail .*add --email ADDRESS, or --no-verify/, ALICE_TOKEN);
  t.is(cloud.stats().failed + cloud.stats().succeeded, 0);
});

test('a Cloud URL given as Data Center, and a Data Center URL given as Cloud', async (t) => {
  const { sandbox, cloud, dcBase } = await world(t);
  const asDc = await add(sandbox, 'work', cloud.url, 'alice', ALICE_TOKEN, ['--kind', 'datacenter']);
  assertRefusedAndNothingSaved(t, sandbox, asDc, /is Bitbucket Cloud, not Data Center \(it answers Cloud's \/2\.0 API\): use --kind cloud/, ALICE_TOKEN);
  const asCloud = await add(sandbox, 'corp', dcBase, 'dave', DAVE_PAT, ['--kind', 'cloud', '--secret-kind', 'access-token']);
  assertRefusedAndNothingSaved(t, sandbox, asCloud, /is Bitbucket Data Center, not Cloud \(it answers \/rest\/api\/1\.0\): use --kind datacenter/, DAVE_PAT);
});

test('DNS and TLS failures name the host and the fix', async (t) => {
  const { sandbox } = await world(t);
  const dns = await add(sandbox, 'corp', 'https://bitbucket.no-such-host.invalid', 'dave', DAVE_PAT);
  assertRefusedAndNothingSaved(t, sandbox, dns, /cannot resolve bitbucket\.no-such-host\.invalid \(DNS ENOTFOUND\): check the host name in the URL.*add --no-verify/, DAVE_PAT);

  // A real TLS server whose certificate nobody trusts, like a company CA the machine lacks.
  const dir = mkdtempSync(join(tmpdir(), 'gcb-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  const server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('{}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const tls = await add(sandbox, 'corp', `https://localhost:${port}/bitbucket`, 'dave', DAVE_PAT);
  assertRefusedAndNothingSaved(t, sandbox, tls, new RegExp(`the TLS certificate of localhost:${port} is not trusted \\(DEPTH_ZERO_SELF_SIGNED_CERT\\): .*http\\.sslCAInfo`), DAVE_PAT);
});

test('Data Center: a good token is verified; an e-mail, another user, an expired token and no access are refused', async (t) => {
  const { sandbox, dcBase } = await world(t);
  const email = await add(sandbox, 'corp', dcBase, 'dave@example.com', DAVE_PAT);
  assertRefusedAndNothingSaved(t, sandbox, email, /dave@example\.com is an e-mail address, but Bitbucket Data Center needs the username .*which for this token is dave: use --username dave/, DAVE_PAT);
  const other = await add(sandbox, 'corp', dcBase, 'erin', DAVE_PAT);
  assertRefusedAndNothingSaved(t, sandbox, other, /the token belongs to dave, not erin: use --username dave/, DAVE_PAT);
  const expired = await add(sandbox, 'corp', dcBase, 'erin', ERIN_EXPIRED, ['--expires', '2026-01-01']);
  assertRefusedAndNothingSaved(t, sandbox, expired, /refused the token \(401\); it expired on 2026-01-01/, ERIN_EXPIRED);
  const expiredUnknown = await add(sandbox, 'corp', dcBase, 'erin', ERIN_EXPIRED);
  assertRefusedAndNothingSaved(t, sandbox, expiredUnknown, /refused erin with this token \(401\): the token is wrong, revoked or past its expiry date/, ERIN_EXPIRED);
  const lonely = await add(sandbox, 'corp', dcBase, 'frank', 'BBDC-verify-frank-no-projects-3Hn7Kq');
  assertRefusedAndNothingSaved(t, sandbox, lonely, /works on .* but reaches no repository: give the token Repository read/, 'BBDC-verify-frank-no-projects-3Hn7Kq');

  const good = await add(sandbox, 'corp', dcBase, 'dave', DAVE_PAT);
  t.is(good.code, 0, good.stderr);
  t.regex(good.stdout, /corp — access token: OK \(user dave\)/);
  t.regex(good.stdout, /git can fetch (PROJ\/widgets|OPS\/deploy) as dave/);
});

test('a Cloud access token is accepted as not tied to a user; with a route the repository is probed', async (t) => {
  const { sandbox, cloud } = await world(t);
  const added = await add(sandbox, 'ci', cloud.url, 'ci', ACME_ACCESS_TOKEN, ['--kind', 'cloud', '--secret-kind', 'access-token']);
  t.is(added.code, 0, added.stderr);
  t.regex(added.stdout, /accepts the access token \(it belongs to a repository, project or workspace, not a user\)/);
  t.regex(added.stdout, /warn git fetch: not checked: no workspace to look in/);
  await sandbox.addRoute(`${cloud.url}/acme/*`, 'ci');
  const verify = await sandbox.cli(['account', 'verify', 'ci', '--json']);
  t.is(verify.code, 0, verify.stdout);
  const [result] = JSON.parse(verify.stdout) as Array<{ status: string; checks: Array<{ name: string; status: string; detail: string }> }>;
  t.is(result!.status, 'pass');
  t.like(result!.checks.find((check) => check.name === 'git fetch'), { status: 'pass', detail: 'git can fetch acme/widgets as x-token-auth' });
  t.like(result!.checks.find((check) => check.name === 'git push'), { status: 'warn' });
});

test('account verify checks saved accounts; set-secret verifies before replacing and keeps the old secret on failure', async (t) => {
  const { sandbox, cloud } = await world(t);
  await sandbox.addAccount('work', cloud.url, 'alice', ALICE_EXPIRED, ['--kind', 'cloud', '--email', 'alice@example.com']);
  await sandbox.addAccount('other', cloud.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud', '--email', 'alice@example.com']);
  const all = await sandbox.cli(['account', 'verify', '--json']);
  t.is(all.code, 1);
  const results = JSON.parse(all.stdout) as Array<{ account: string; status: string; code?: string; message?: string }>;
  t.deepEqual(results.map((result) => [result.account, result.status, result.code]), [
    ['work', 'fail', 'refused'],
    ['other', 'pass', undefined],
  ]);
  t.regex(results[0]!.message!, /account set-secret work --secret-stdin/);
  t.is((await sandbox.cli(['account', 'verify', 'other'])).code, 0);

  const refused = await sandbox.cli(['account', 'set-secret', 'other', '--secret-stdin'], { input: ALICE_APP_PASSWORD + '\n' });
  t.is(refused.code, 1);
  t.regex(refused.stderr, /app passwords stopped working on 2026-06-09.*Nothing was saved/);
  t.is((await sandbox.cli(['account', 'verify', 'other'])).code, 0, 'the old secret is still there and works');
  const fixed = await sandbox.cli(['account', 'set-secret', 'work', '--secret-stdin'], { input: ALICE_TOKEN + '\n' });
  t.is(fixed.code, 0, fixed.stderr);
  t.is((await sandbox.cli(['account', 'verify', 'work'])).code, 0);
  t.is((await sandbox.cli(['account', 'verify', 'ghost'])).code, 1);

  // Without the e-mail, set-secret points at set-email (it has no --email of its own).
  await sandbox.addAccount('noemail', cloud.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  const noEmail = await sandbox.cli(['account', 'set-secret', 'noemail', '--secret-stdin'], { input: ALICE_TOKEN + '\n' });
  t.is(noEmail.code, 1);
  t.regex(noEmail.stderr, /needs the Atlassian account e-mail .*run `git-credential-bitbucket account set-email noemail ADDRESS` first/);
  t.is((await sandbox.cli(['account', 'set-email', 'noemail', 'alice@example.com'])).code, 0);
  t.is((await sandbox.cli(['account', 'verify', 'noemail'])).code, 0);
});
