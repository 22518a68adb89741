// How often the product asks git for its http settings: a command that asks Bitbucket's REST API
// once per workspace (`account verify` looks for a repository in each routed workspace) must start
// one `git config` lookup per origin, not one per workspace, unless a `http.<url>.*` key with a
// path could apply there, whose settings must then still reach the requests under that path. git
// itself reports every process it starts to GIT_TRACE2_EVENT, so the count is git's own.

import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionPlanFor } from '../src/core/network/fetch-like-git.js';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import { startConnectProxy } from './support/connect-proxy.js';
import { Sandbox } from './support/sandbox.js';
import { simUser } from './support/sim-fixtures.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-httpsettings-alice-3f5b7d9e1a';
const WORKSPACES = ['ws1', 'ws2', 'ws3', 'ws4', 'ws5'];

/** Alice's Cloud account with one route per workspace; no workspace holds a repository, so verify asks about every one. */
async function routedWorkspaces(t: ExecutionContext): Promise<{ sim: Simulator; sandbox: Sandbox }> {
  const sim = await startSimulator({
    config: {
      users: [simUser('alice', ALICE_TOKEN, Object.fromEntries(WORKSPACES.map((workspace) => [workspace, 'write'])))],
      accessTokens: [],
      workspaces: Object.fromEntries(WORKSPACES.map((workspace) => [workspace, []])),
    },
  });
  const sandbox = new Sandbox();
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim.close();
  });
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud', '--email', 'alice@example.com']);
  for (const workspace of WORKSPACES) await sandbox.addRoute(`${sim.url}/${workspace}/*`, 'work');
  return { sim, sandbox };
}

/** `account verify work`, and the URLs of the `git config --get-urlmatch` lookups it started, in order. */
async function verifyTraced(sandbox: Sandbox, name: string): Promise<{ code: number | null; stdout: string; lookups: string[] }> {
  const trace = join(sandbox.root, `${name}.trace2.json`);
  const result = await sandbox.cli(['account', 'verify', 'work'], { env: { GIT_TRACE2_EVENT: trace } });
  const lookups: string[] = [];
  for (const line of existsSync(trace) ? readFileSync(trace, 'utf8').split('\n') : []) {
    if (line === '') continue;
    const event = JSON.parse(line) as { event?: string; argv?: string[] };
    const argv = event.event === 'start' ? (event.argv ?? []) : [];
    if (argv[1] === 'config' && argv.includes('--get-urlmatch')) lookups.push(argv.at(-1)!);
  }
  return { code: result.code, stdout: result.stdout, lookups };
}

test('a command asking the REST API about several workspaces looks up git\'s http settings once for the origin', async (t) => {
  const { sim, sandbox } = await routedWorkspaces(t);
  // Settings without a path: they hold for every URL of their origin, so one lookup serves all.
  await sandbox.git(['config', '--global', 'http.sslVerify', 'true']);
  await sandbox.git(['config', '--global', `http.${sim.url}.lowSpeedTime`, '600']);
  await sandbox.git(['config', '--global', 'http.https://elsewhere.example/acme.proxy', 'http://127.0.0.1:9']);
  sim.resetStats();

  const { code, stdout, lookups } = await verifyTraced(sandbox, 'origin');
  t.is(code, 0, stdout);
  t.true(stdout.includes(`no repository found in ${WORKSPACES.join(', ')}`), stdout);
  t.is(sim.stats().succeeded, 1 + WORKSPACES.length, 'the user endpoint and each workspace were asked');
  t.deepEqual(lookups, [`${sim.url}/`], 'one lookup for the origin, none per workspace');
});

test('a http.<url>.proxy key with a workspace\'s path is used for the requests under that path, and only for them', async (t) => {
  const { sim, sandbox } = await routedWorkspaces(t);
  // A proxy that refuses every tunnel: a request that took it fails and names it; one that went
  // direct reaches the simulator.
  const proxy = await startConnectProxy();
  t.teardown(() => proxy.close());
  proxy.refuse(403);
  await sandbox.git(['config', '--global', `http.${sim.url}/2.0/repositories/ws3.proxy`, proxy.url]);
  sim.resetStats();

  const { code, stdout, lookups } = await verifyTraced(sandbox, 'path');
  t.not(code, 0, stdout);
  t.true(stdout.includes(`the proxy ${proxy.url} (git config http.proxy) refused to connect to ${sim.host}`), stdout);
  t.deepEqual(
    proxy.log.map((entry) => entry.target),
    [sim.host],
    'only the request under ws3 went to the proxy',
  );
  t.is(sim.stats().succeeded, 3, 'the user endpoint, ws1 and ws2 were reached directly, before ws3');
  t.true(lookups.includes(`${sim.url}/2.0/repositories/ws3`), lookups.join(' '));
  t.true(lookups.includes(`${sim.url}/2.0/repositories/ws1`), 'with a path key for the origin, each path is looked up');
});

test('a process that keeps running sees a path key added to git\'s config, and a key moved to the origin', async (t) => {
  // The daemon's situation: one process, and the user edits ~/.gitconfig between two requests.
  const home = mkdtempSync(join(tmpdir(), 'gcb-http-settings-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' };
  const gitConfig = (...args: string[]) => execFileSync('git', ['config', '--global', ...args], { env });
  const origin = 'https://settings-scope.example';
  const acme = `${origin}/2.0/repositories/acme`;
  const other = `${origin}/2.0/repositories/other`;
  const proxyOf = async (url: string) => (await connectionPlanFor(url, env)).proxy?.shown;

  gitConfig('http.lowSpeedTime', '600');
  t.is(await proxyOf(acme), undefined);
  t.is(await proxyOf(other), undefined);

  gitConfig(`http.${acme}.proxy`, 'http://127.0.0.1:3128');
  t.is(await proxyOf(acme), 'http://127.0.0.1:3128', 'the new path key is seen at once');
  t.is(await proxyOf(`${acme}/`), 'http://127.0.0.1:3128', 'and holds under its path');
  t.is(await proxyOf(other), undefined, 'but not beside it');
  t.is(await proxyOf(`${origin}/2.0/repositories/acme-two`), undefined, 'a path matches on a slash boundary only');

  gitConfig('--remove-section', `http.${acme}`);
  gitConfig(`http.${origin}.proxy`, 'http://127.0.0.1:3129');
  t.is(await proxyOf(acme), 'http://127.0.0.1:3129');
  t.is(await proxyOf(other), 'http://127.0.0.1:3129');

  gitConfig('--remove-section', `http.${origin}`);
  gitConfig('http.https://*.example/2.0/repositories/acme.proxy', 'http://127.0.0.1:3130');
  t.is(await proxyOf(acme), 'http://127.0.0.1:3130', 'a host wildcard with a path applies under the path');
  t.is(await proxyOf(other), undefined);
});
