// Behind a corporate proxy with a company CA: git is set up with http.proxy and http.sslCAInfo,
// and the product's own requests (verification, `route suggest`, OAuth login and refresh) must
// take the same road. The simulator sits behind a TLS front whose certificate only the private
// CA vouches for, under a name (bitbucket.corp.test) that only the proxy resolves: a request
// that reaches it came through the proxy and trusted git's CA. The proxy logs every tunnel.

import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Simulator, SimulatorConfig } from '../fixtures/simulator/server.js';
import { masked } from './support/answers.js';
import { TestClock } from './support/clock.js';
import { startConnectProxy, type ConnectProxy, type ConnectProxyOptions } from './support/connect-proxy.js';
import { addOAuthAccount, grantConsent } from './support/oauth-account.js';
import { makePrivateCa, startTlsFront } from './support/private-ca.js';
import { HELPER, type Sandbox, credentialRequest } from './support/sandbox.js';
import { freePort, simUser } from './support/sim-fixtures.js';
import { simulatorAndSandbox, type SimulatorAndSandbox } from './support/sim-sandbox.js';

const HOST = 'bitbucket.corp.test';
const URL_ = `https://${HOST}`;
const ALICE_TOKEN = 'ATATT3xFfGF0-proxytest-alice-5e7a9c1b3d';
const BOB_TOKEN = 'ATATT3xFfGF0-proxytest-bob-9d1f3b5a7c';
const CLIENT_ID = 'proxy-oauth-consumer-key-01';
const CLIENT_SECRET = 'proxy-oauth-consumer-secret-8e2b4d6f0a';
const LIFETIME_SECONDS = 3600;

function simConfig(): SimulatorConfig {
  return {
    users: [simUser('alice', ALICE_TOKEN, { acme: 'write' }), simUser('bob', BOB_TOKEN, { tools: 'write' })],
    accessTokens: [],
    workspaces: { acme: ['widgets'], tools: ['scripts'] },
    oauthConsumers: [{ key: CLIENT_ID, secret: CLIENT_SECRET, name: 'proxy tests', family: 'cloud', scopes: ['repository', 'repository:write'] }],
    oauth: { accessTokenLifetimeSeconds: LIFETIME_SECONDS, consentUser: 'alice' },
  };
}

interface Corp extends SimulatorAndSandbox {
  proxy: ConnectProxy;
  caFile: string;
  /** Tunnels the proxy opened to Bitbucket so far. */
  tunnels(): number;
}

/** The simulator, reached by its clients at `origin`, and a sandbox watching for this file's secrets. */
function simulatorAt(t: ExecutionContext, origin: string): Promise<SimulatorAndSandbox> {
  return simulatorAndSandbox(t, { config: simConfig(), publicOrigin: origin }, { secrets: [ALICE_TOKEN, BOB_TOKEN, CLIENT_SECRET] });
}

/** The simulator behind TLS with a private CA, a proxy that alone resolves its name, a sandbox. */
async function corporateNetwork(t: ExecutionContext, options: { proxy?: ConnectProxyOptions; gitConfig?: boolean } = {}): Promise<Corp> {
  const ca = makePrivateCa(HOST);
  t.teardown(() => ca.remove());
  const { sim, sandbox } = await simulatorAt(t, URL_);
  const front = await startTlsFront(ca, Number(sim.host.split(':')[1]));
  t.teardown(() => front.close());
  const proxy = await startConnectProxy({ hosts: { [`${HOST}:443`]: `127.0.0.1:${front.port}` }, ...options.proxy });
  t.teardown(() => proxy.close());
  if (options.gitConfig !== false) {
    await sandbox.git(['config', '--global', 'http.proxy', proxy.url]);
    await sandbox.git(['config', '--global', 'http.sslCAInfo', ca.caFile]);
  }
  return { sim, proxy, sandbox, caFile: ca.caFile, tunnels: () => proxy.log.filter((entry) => entry.target === `${HOST}:443` && entry.status === 200).length };
}

async function addAlice(sandbox: Sandbox, extra: string[] = []) {
  return sandbox.cli(['account', 'add', 'work', '--url', URL_, '--kind', 'cloud', '--username', 'alice', '--email', 'alice@example.com', '--secret-stdin', ...extra], { input: ALICE_TOKEN + '\n' });
}

test('verification, route suggest and git itself all go through git\'s proxy and trust git\'s CA; doctor names both', async (t) => {
  const { sandbox, proxy, caFile, tunnels } = await corporateNetwork(t);

  const added = await addAlice(sandbox);
  t.is(added.code, 0, added.stderr);
  t.regex(added.stdout, /API token: OK/);
  const afterVerify = tunnels();
  t.true(afterVerify >= 1, 'the REST checks and the git probe went through the proxy');

  // route suggest lists workspaces only where a host has several accounts.
  const bob = await sandbox.cli(['account', 'add', 'personal', '--url', URL_, '--kind', 'cloud', '--username', 'bob', '--email', 'bob@example.com', '--secret-stdin'], { input: BOB_TOKEN + '\n' });
  t.is(bob.code, 0, bob.stderr);
  const afterBob = tunnels();
  t.true(afterBob > afterVerify);
  const suggested = await sandbox.cli(['route', 'suggest', '--json']);
  t.is(suggested.code, 0, suggested.stderr);
  const spaces = (JSON.parse(suggested.stdout) as { suggestions: Array<{ space: string }> }).suggestions.map((suggestion) => suggestion.space).sort();
  t.deepEqual(spaces, ['acme', 'tools']);
  t.true(tunnels() > afterBob, 'route suggest went through the proxy');

  const beforeClone = tunnels();
  await sandbox.cli(['route', 'suggest', '--apply']);
  const clone = await sandbox.git(['clone', '-q', `${URL_}/acme/widgets.git`, 'widgets']);
  t.is(clone.code, 0, clone.stderr);
  t.true(tunnels() > beforeClone, 'git used the same proxy with the helper answering');

  const doctor = await sandbox.cli(['doctor']);
  const line = doctor.stdout.split('\n').find((text) => text.includes(`network ${URL_}`)) ?? '';
  t.true(line.startsWith('PASS'), doctor.stdout);
  t.true(line.includes(`proxy ${proxy.url} (git config http.proxy)`), line);
  t.true(line.includes(`CA certificates from ${caFile} (git config http.sslCAInfo)`), line);
});

/** An OAuth account `work` on the corporate host, logged in with a pasted code; the login's own requests use the CLI's process. */
async function loginWithPastedCode(t: ExecutionContext, sim: Simulator, sandbox: Sandbox, url = URL_): Promise<void> {
  const added = await addOAuthAccount(sandbox, url, { id: CLIENT_ID, secret: CLIENT_SECRET }, { args: ['--no-verify'] });
  t.is(added.code, 0, added.stderr);
  const child = spawn(process.execPath, [HELPER, 'login', 'work', '--no-browser'], { env: sandbox.env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const authorize = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^ {2}(https\S+authorize\S+)$/m.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.on('close', (code) => reject(new Error(`login exited (${code}): ${stdout}${stderr}`)));
  });
  // The person's browser: it reaches the consent page by its own means (here: directly).
  const consentUrl = new URL(authorize);
  const location = await grantConsent(sim, new URL(`${consentUrl.pathname}${consentUrl.search}`, sim.url));
  const code = new URL(location).searchParams.get('code')!;
  child.stdin.end(code + '\n');
  t.is(await closed, 0, stderr);
  t.regex(stdout, /Logged in account work with OAuth/);
  t.is(sim.oauthStats().tokenRequests.authorization_code, 1);
}

const getWidgets = (sandbox: Sandbox, host = HOST) => sandbox.helper('get', credentialRequest({ protocol: 'https', host, path: 'acme/widgets.git' }));

test('login with a pasted code and the refresh after expiry go through the proxy', async (t) => {
  const { sim, sandbox, tunnels } = await corporateNetwork(t);
  const clock = new TestClock(sandbox, [sim]);
  const beforeLogin = tunnels();
  await loginWithPastedCode(t, sim, sandbox);
  t.true(tunnels() > beforeLogin, 'the code exchange went through the proxy');

  t.regex(masked((await getWidgets(sandbox)).stdout), /^username=x-token-auth\npassword=/);
  clock.advance(LIFETIME_SECONDS);
  const beforeRefresh = tunnels();
  const refreshed = await getWidgets(sandbox);
  t.regex(masked(refreshed.stdout), /^username=x-token-auth\npassword=/, refreshed.stderr);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 1, 'the daemon refreshed');
  t.true(tunnels() > beforeRefresh, 'the daemon\'s refresh went through the proxy');
});

// Node reads NODE_EXTRA_CA_CERTS at every start-up (45 ms for a distribution's bundle), so the
// daemon is started without it and adds the file's certificates to its own requests.
test('NODE_EXTRA_CA_CERTS is not read at the daemon\'s start, yet its refresh trusts that CA', async (t) => {
  const { sim, sandbox, proxy, caFile, tunnels } = await corporateNetwork(t, { gitConfig: false });
  // git's proxy (the only road to the host's name), but not git's CA.
  await sandbox.git(['config', '--global', 'http.proxy', proxy.url]);
  sandbox.env.NODE_EXTRA_CA_CERTS = caFile;
  const clock = new TestClock(sandbox, [sim]);
  await loginWithPastedCode(t, sim, sandbox);
  t.regex(masked((await getWidgets(sandbox)).stdout), /^username=x-token-auth\npassword=/);

  const [pid] = sandbox.daemonPids();
  const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  t.false(environ.some((entry) => entry.startsWith('NODE_EXTRA_CA_CERTS=')), 'Node was not given the file at the daemon\'s start');
  t.true(environ.includes(`GIT_CREDENTIAL_BITBUCKET_NODE_EXTRA_CA_CERTS=${caFile}`));

  clock.advance(LIFETIME_SECONDS);
  const beforeRefresh = tunnels();
  const refreshed = await getWidgets(sandbox);
  t.regex(masked(refreshed.stdout), /^username=x-token-auth\npassword=/, refreshed.stderr);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 1, 'the daemon refreshed, trusting the extra CA');
  t.true(tunnels() > beforeRefresh);
});

test('without a proxy too: the daemon, started without NODE_EXTRA_CA_CERTS, trusts that file for its refresh', async (t) => {
  // The common set-up: no proxy, the company CA only in NODE_EXTRA_CA_CERTS, git told nothing.
  const ca = makePrivateCa('localhost');
  t.teardown(() => ca.remove());
  const frontPort = await freePort();
  const origin = `https://localhost:${frontPort}`;
  const { sim, sandbox } = await simulatorAt(t, origin);
  const front = await startTlsFront(ca, Number(sim.host.split(':')[1]), frontPort);
  t.teardown(() => front.close());
  sandbox.env.NODE_EXTRA_CA_CERTS = ca.caFile;
  const clock = new TestClock(sandbox, [sim]);
  await loginWithPastedCode(t, sim, sandbox, origin);
  t.regex(masked((await getWidgets(sandbox, `localhost:${frontPort}`)).stdout), /^username=x-token-auth\npassword=/);
  const [pid] = sandbox.daemonPids();
  t.false(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').some((entry) => entry.startsWith('NODE_EXTRA_CA_CERTS=')));

  clock.advance(LIFETIME_SECONDS);
  const refreshed = await getWidgets(sandbox, `localhost:${frontPort}`);
  t.regex(masked(refreshed.stdout), /^username=x-token-auth\npassword=/, refreshed.stderr);
  t.is(sim.oauthStats().tokenRequests.refresh_token, 1, 'the daemon refreshed over TLS, trusting the extra CA');
});

test('a proxy that refuses, wants a login or is not there, or a CA file that is missing, gives one line naming it, and nothing is saved', async (t) => {
  const { sandbox, proxy } = await corporateNetwork(t);
  proxy.refuse(403);
  const refused = await addAlice(sandbox);
  t.is(refused.code, 1);
  const lines = refused.stderr.trim().split('\n');
  t.is(lines.length, 1, refused.stderr);
  t.regex(lines[0]!, new RegExp(`the proxy ${proxy.url.replace(/[.]/g, '\\.')} \\(git config http\\.proxy\\) refused to connect to bitbucket\\.corp\\.test:443 \\(HTTP 403\\)`));
  t.true(proxy.log.some((entry) => entry.status === 403));
  t.deepEqual(JSON.parse((await sandbox.cli(['account', 'list', '--json'])).stdout), [], 'nothing saved');

  await sandbox.git(['config', '--global', 'http.proxy', 'http://127.0.0.1:1']);
  const unreachable = await addAlice(sandbox);
  t.is(unreachable.code, 1);
  t.regex(unreachable.stderr, /cannot reach the proxy http:\/\/127\.0\.0\.1:1 \(git config http\.proxy\): ECONNREFUSED/);

  const missingCa = join(sandbox.root, 'no-such-ca.pem');
  await sandbox.git(['config', '--global', 'http.sslCAInfo', missingCa]);
  const noCa = await addAlice(sandbox);
  t.is(noCa.code, 1);
  t.true(noCa.stderr.includes(`git config http.sslCAInfo names ${missingCa}, which cannot be read (ENOENT)`), noCa.stderr);
});

test('a proxy login comes from the proxy URL and never shows; without it the 407 is named', async (t) => {
  const password = 'proxy-password-3f5a7c9e1b';
  const { sandbox, proxy, tunnels } = await corporateNetwork(t, { proxy: { login: `corp-user:${password}` } });
  sandbox.trackSecrets(password);
  const withoutLogin = await addAlice(sandbox);
  t.is(withoutLogin.code, 1);
  t.regex(withoutLogin.stderr, /the proxy http:\/\/127\.0\.0\.1:\d+ \(git config http\.proxy\) wants a login \(HTTP 407\)/);

  const port = new URL(proxy.url).port;
  await sandbox.git(['config', '--global', 'http.proxy', `http://corp-user:${password}@127.0.0.1:${port}`]);
  const added = await addAlice(sandbox);
  t.is(added.code, 0, added.stderr);
  t.true(tunnels() >= 1);
  const doctor = await sandbox.cli(['doctor']);
  t.true(doctor.stdout.includes(`proxy http://127.0.0.1:${port} (git config http.proxy)`), doctor.stdout);
  // the teardown fails the test if the password reached any output or file
});

test('https_proxy from the environment is used as git uses it; no_proxy and an empty http.proxy bypass it', async (t) => {
  const { sandbox, proxy, caFile, tunnels } = await corporateNetwork(t, { gitConfig: false });
  await sandbox.git(['config', '--global', 'http.sslCAInfo', caFile]);
  // The name resolves only inside the proxy: a request that bypasses it fails on DNS.
  const direct = await addAlice(sandbox);
  t.is(direct.code, 1);
  t.regex(direct.stderr, /cannot resolve bitbucket\.corp\.test/);
  t.is(tunnels(), 0);

  const env = { https_proxy: proxy.url };
  const verified = await sandbox.cli(['account', 'add', 'work', '--url', URL_, '--kind', 'cloud', '--username', 'alice', '--email', 'alice@example.com', '--secret-stdin'], { input: ALICE_TOKEN + '\n', env });
  t.is(verified.code, 0, verified.stderr);
  t.true(tunnels() >= 1);
  const doctor = await sandbox.cli(['doctor'], { env });
  t.true(doctor.stdout.includes(`proxy ${proxy.url} (https_proxy)`), doctor.stdout);

  const exempt = await sandbox.cli(['account', 'verify', 'work'], { env: { ...env, no_proxy: 'localhost,.corp.test' } });
  t.is(exempt.code, 1);
  t.regex(exempt.stdout + exempt.stderr, /cannot resolve bitbucket\.corp\.test/);
  await sandbox.git(['config', '--global', 'http.proxy', '']);
  const emptyConfig = await sandbox.cli(['account', 'verify', 'work'], { env });
  t.is(emptyConfig.code, 1);
  t.regex(emptyConfig.stdout + emptyConfig.stderr, /cannot resolve bitbucket\.corp\.test/);
  const bypassed = await sandbox.cli(['doctor'], { env });
  t.true(bypassed.stdout.includes('direct, no proxy (git config http.proxy is set empty)'), bypassed.stdout);
});

test('without git\'s CA the certificate is refused with the fix; http.sslVerify false and GIT_SSL_NO_VERIFY turn the check off with a warning', async (t) => {
  const { sandbox, proxy } = await corporateNetwork(t, { gitConfig: false });
  await sandbox.git(['config', '--global', 'http.proxy', proxy.url]);
  const untrusted = await addAlice(sandbox);
  t.is(untrusted.code, 1);
  t.regex(untrusted.stderr, /the TLS certificate of bitbucket\.corp\.test is not trusted \(\w+\): .*http\.sslCAInfo/);

  const noVerify = await addAlice(sandbox, ['--no-verify']);
  t.is(noVerify.code, 0, noVerify.stderr);
  const envOff = await sandbox.cli(['account', 'verify', 'work'], { env: { GIT_SSL_NO_VERIFY: '1' } });
  t.is(envOff.code, 0, envOff.stderr);
  t.regex(envOff.stderr, /warning: TLS certificates of bitbucket\.corp\.test are not checked \(GIT_SSL_NO_VERIFY is set, as for git\)/);

  await sandbox.git(['config', '--global', 'http.sslVerify', 'false']);
  const configOff = await sandbox.cli(['account', 'verify', 'work']);
  t.is(configOff.code, 0, configOff.stderr);
  t.regex(configOff.stderr, /warning: TLS certificates of bitbucket\.corp\.test are not checked \(git config http\.sslVerify is false, as for git\)/);
  const doctor = await sandbox.cli(['doctor']);
  const line = doctor.stdout.split('\n').find((text) => text.includes(`network ${URL_}`)) ?? '';
  t.true(line.startsWith('FAIL') && line.includes('are not checked'), doctor.stdout);
});
