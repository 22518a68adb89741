// Messages that must point the right way (#14 item 7), through the built executable: a Cloud
// access token is recognised by its prefix (not mistaken for an API token that needs an e-mail),
// an https:// URL on a plain-http server is not a certificate problem, a repository's URL is not
// a base URL, a route with the other scheme says the scheme differs, doctor's fix for an OAuth
// account is a login, and `account list` stays narrow with an OAuth account. A secret Bitbucket
// refuses (401) asks for a new secret, a host nothing answers at for the URL or the network
// (--no-verify saves anyway): the two are not the same problem.

import test from 'ava';
import { createServer } from 'node:http';
import { startSimulator } from '../fixtures/simulator/server.js';
import { assertAnswer } from './support/answers.js';
import { Sandbox, credentialRequest } from './support/sandbox.js';
import { freePort, simUser } from './support/sim-fixtures.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-messagetest-alice-6a2c8e4f1b';
const ACME_ACCESS_TOKEN = 'ATCTT3xFfGF0-messagetest-acme-ci-9d7b5f3e';
const CLIENT_SECRET = 'messagetest-oauth-client-secret-7c5e3a1f';

test('a Cloud access token (ATCTT…) without --secret-kind is saved as an access token, checked without an e-mail', async (t) => {
  const sim = await startSimulator({
    config: {
      users: [simUser('alice', ALICE_TOKEN, { acme: 'write' })],
      accessTokens: [{ name: 'acme-ci', value: ACME_ACCESS_TOKEN, workspace: 'acme', repository: null, permission: 'write' }],
      workspaces: { acme: ['widgets'] },
      appPasswordsDisabled: true,
    },
  });
  const sandbox = new Sandbox();
  sandbox.trackSecrets(ALICE_TOKEN, ACME_ACCESS_TOKEN);
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim.close();
  });
  const added = await sandbox.cli(['account', 'add', 'ci', '--url', sim.url, '--kind', 'cloud', '--username', 'acme-ci', '--secret-stdin'], { input: ACME_ACCESS_TOKEN + '\n' });
  t.is(added.code, 0, added.stderr);
  t.regex(added.stdout, /Added account ci: cloud, .*, access token in the file store/);
  t.false(/e-mail/.test(added.stderr + added.stdout));
  const [account] = JSON.parse((await sandbox.cli(['account', 'list', '--json'])).stdout) as Array<{ secretKind: string }>;
  t.is(account!.secretKind, 'access-token');
  const get = await sandbox.helper('get', credentialRequest({ protocol: 'http', host: new URL(sim.url).host, path: 'acme/widgets.git' }));
  assertAnswer(t, get.stdout, `username=x-token-auth\npassword=${ACME_ACCESS_TOKEN}\n`, 'git gets it with x-token-auth');

  // set-secret of an API-token account with an access token: the new prefix decides too.
  await sandbox.addAccount('alice', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  const replaced = await sandbox.cli(['account', 'set-secret', 'alice', '--secret-stdin', '--no-verify'], { input: ACME_ACCESS_TOKEN + '\n' });
  t.is(replaced.code, 0, replaced.stderr);
  t.regex(replaced.stdout, /Stored a new access token for account alice/);
  // An explicit --secret-kind still wins over the prefix.
  const explicit = await sandbox.cli(['account', 'set-secret', 'alice', '--secret-stdin', '--no-verify', '--secret-kind', 'api-token'], { input: ACME_ACCESS_TOKEN + '\n' });
  t.regex(explicit.stdout, /Stored a new API token for account alice/);
});

test('a route with the other scheme than its account says that the scheme differs, and how to write it', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('local', 'http://127.0.0.1:7990', 'erin', 'BBDC-messagetest-local-2f4a6c8e0b', ['--kind', 'datacenter']);
  const result = await sandbox.cli(['route', 'add', 'https://127.0.0.1:7990/scm/PROJ/*', 'local']);
  t.is(result.code, 1);
  t.is(
    result.stderr,
    "git-credential-bitbucket: account local is on http://127.0.0.1:7990, but the route says https://: the scheme differs; write it as 'http://127.0.0.1:7990/scm/PROJ/*'\n",
  );
  t.is((await sandbox.cli(['route', 'add', 'http://127.0.0.1:7990/scm/PROJ/*', 'local'])).code, 0);
  t.regex((await sandbox.cli(['route', 'add', 'https://other.example/scm/PROJ/*', 'local'])).stderr, /a route for it must be on the same host/);
});

test("an OAuth account: doctor's fix is `login NAME`, and account list stays narrow", async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  sandbox.trackSecrets(CLIENT_SECRET);
  const added = await sandbox.cli(
    ['account', 'add', 'oa', '--url', 'https://bitbucket.org', '--username', 'alice', '--oauth-client-id', 'messagetest-client', '--oauth-client-secret-stdin'],
    { input: CLIENT_SECRET + '\n' },
  );
  t.is(added.code, 0, added.stderr);
  const doctor = JSON.parse((await sandbox.cli(['doctor', '--json'])).stdout) as { checks: Array<{ check: string; pass: boolean; fix?: string }> };
  const oa = doctor.checks.find((check) => check.check === 'account oa')!;
  t.false(oa.pass);
  t.is(oa.fix, 'git-credential-bitbucket login oa');
  // An OAuth account with an API token as fallback (added after doctor, which would check it with bitbucket.org), the widest AUTH there is.
  const both = await sandbox.cli(
    ['account', 'add', 'ob', '--url', 'https://bitbucket.org', '--username', 'bob', '--secret-stdin', '--no-verify', '--oauth-client-id', 'messagetest-client', '--oauth-client-secret-stdin'],
    { input: `ATATT3xFfGF0-messagetest-bob-1e3c5a7f9d\n${CLIENT_SECRET}\n` },
  );
  sandbox.trackSecrets('ATATT3xFfGF0-messagetest-bob-1e3c5a7f9d');
  t.is(both.code, 0, both.stderr);

  const list = await sandbox.cli(['account', 'list']);
  t.is(list.code, 0, list.stderr);
  const lines = list.stdout.trimEnd().split('\n');
  t.regex(lines[1]!, /^oa +cloud +https:\/\/bitbucket\.org +alice +OAuth NEEDS LOGIN +not used yet$/);
  t.regex(lines[2]!, /^ob +cloud +https:\/\/bitbucket\.org +bob +OAuth NEEDS LOGIN; API token in use +not used yet$/);
  t.true(lines.every((line) => line.length <= 100), lines.map((line) => `${line.length}: ${line}`).join('\n'));
  t.regex(list.stdout, /`git-credential-bitbucket status` says what to do/);
  // status keeps the whole story.
  t.regex((await sandbox.cli(['status'])).stdout, /oa: .*OAuth NEEDS LOGIN \(not logged in yet\): run `git-credential-bitbucket login oa`/);
});

test('an https:// URL on a plain-http server says so, not that a certificate is untrusted', async (t) => {
  const server = createServer((_request, response) => response.end('plain http'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const secret = 'BBDC-messagetest-tls-5b7d9f1a3c';
  sandbox.trackSecrets(secret);
  const result = await sandbox.cli(['account', 'add', 'dc', '--url', `https://127.0.0.1:${port}`, '--kind', 'datacenter', '--username', 'erin', '--secret-stdin'], { input: secret + '\n' });
  t.is(result.code, 1);
  t.regex(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port} does not answer TLS there \\(ERR_SSL_WRONG_VERSION_NUMBER\\): it looks like a plain-http port; check the URL's scheme and port\\. Nothing was saved`));
  t.false(result.stderr.includes('NODE_EXTRA_CA_CERTS'));
});

test("a repository's URL given as --url is refused with the base URL to use", async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const secret = 'ATATT3xFfGF0-messagetest-repo-url-4e6a8c0b2d';
  sandbox.trackSecrets(secret);
  for (const [url, base] of [
    ['https://bitbucket.org/acme/widgets.git', 'https://bitbucket.org'],
    ['https://bitbucket.org/acme', 'https://bitbucket.org'],
    ['https://git.corp.example/bitbucket/scm/PROJ/widgets.git', 'https://git.corp.example/bitbucket'],
    ['https://git.corp.example/scm/proj/widgets', 'https://git.corp.example'],
  ]) {
    const result = await sandbox.cli(['account', 'add', 'work', '--url', url!, '--username', 'alice', '--secret-stdin', '--no-verify'], { input: secret + '\n' });
    t.is(result.code, 1, url);
    t.is(result.stderr, `git-credential-bitbucket: --url ${url} is the address of a repository or workspace, not of Bitbucket: use the base URL, --url ${base}\n`);
  }
  t.is((await sandbox.cli(['account', 'list', '--json'])).stdout, '[]\n');
  // A Data Center context path is a base URL, not a repository.
  const dc = await sandbox.cli(['account', 'add', 'corp', '--url', 'https://git.corp.example/bitbucket', '--username', 'alice', '--secret-stdin', '--no-verify'], { input: secret + '\n' });
  t.is(dc.code, 0, dc.stderr);
});

test('a secret Bitbucket refuses (401) at `account add` or `set-secret` asks for the right one, never for --no-verify', async (t) => {
  const sim = await startSimulator({ config: { users: [simUser('alice', ALICE_TOKEN, { acme: 'write' })], accessTokens: [], workspaces: { acme: ['widgets'] } } });
  const sandbox = new Sandbox();
  const wrong = 'ATATT3xFfGF0-messagetest-wrong-3c5e7a9b1d';
  sandbox.trackSecrets(ALICE_TOKEN, wrong);
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim.close();
  });
  const added = await sandbox.cli(['account', 'add', 'work', '--url', sim.url, '--kind', 'cloud', '--username', 'alice', '--email', 'alice@example.com', '--secret-stdin'], { input: wrong + '\n' });
  t.is(added.code, 1);
  t.regex(added.stderr, /^git-credential-bitbucket: account work \(http:\/\/127\.0\.0\.1:\d+\): Bitbucket Cloud refused the API token .*\(401\).*run `account add` again with the right one\. Nothing was saved\.\n$/);
  t.false(added.stderr.includes('--no-verify'), 'a wrong secret is not saved unchecked');
  t.is((await sandbox.cli(['account', 'list', '--json'])).stdout, '[]\n');

  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud', '--email', 'alice@example.com']);
  const replaced = await sandbox.cli(['account', 'set-secret', 'work', '--secret-stdin'], { input: wrong + '\n' });
  t.is(replaced.code, 1);
  t.regex(replaced.stderr, /refused the API token .*run `account set-secret` again with the right one\. Nothing was saved\.\n$/);
  t.false(replaced.stderr.includes('--no-verify'));
  t.is((await sandbox.cli(['account', 'verify', 'work'])).code, 0, 'the stored secret was kept');
});

test('a host nothing answers at: `account add` says to check the URL and the network and offers --no-verify; `account verify` asks for no new secret', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const secret = 'ATATT3xFfGF0-messagetest-closed-port-8b0d2f4a6c';
  sandbox.trackSecrets(secret);
  const port = await freePort();
  const args = ['account', 'add', 'work', '--url', `http://127.0.0.1:${port}`, '--kind', 'cloud', '--username', 'alice', '--email', 'alice@example.com', '--secret-stdin'];
  const added = await sandbox.cli(args, { input: secret + '\n' });
  t.is(added.code, 1);
  t.is(
    added.stderr,
    `git-credential-bitbucket: account work (http://127.0.0.1:${port}): nothing answers at 127.0.0.1:${port} (connection refused): check the URL and port, and that this machine can reach the host (network, VPN, firewall). Nothing was saved. To save it without checking, add --no-verify.\n`,
  );
  t.is((await sandbox.cli(['account', 'list', '--json'])).stdout, '[]\n');

  t.is((await sandbox.cli([...args, '--no-verify'], { input: secret + '\n' })).code, 0);
  const verified = await sandbox.cli(['account', 'verify', 'work']);
  t.is(verified.code, 1);
  t.regex(verified.stdout, new RegExp(`FAIL nothing answers at 127\\.0\\.0\\.1:${port} \\(connection refused\\): check the URL and port`));
  t.false(verified.stdout.includes('set-secret'));
  const [json] = JSON.parse((await sandbox.cli(['account', 'verify', 'work', '--json'])).stdout) as Array<{ code: string }>;
  t.is(json!.code, 'unreachable');
});
