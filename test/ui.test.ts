// The `ui` page in a real browser (Debian's chromium, headless) against the simulator: what it
// lists, the live request list fed by real git through the real helper and daemon, the actions
// (each the CLI's own command), the safety rules as a browser meets them, and that no secret
// reaches any HTML, JSON or WebSocket payload of the session.

import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import type { SimulatorConfig } from '../fixtures/simulator/config.js';
import { assertSameSecret, passwordOf } from './support/answers.js';
import { browserTests, leakedSecrets, startBrowser, startUi, type RunningUi, type TestBrowser } from './support/browser.js';
import { Sandbox, credentialRequest, type SandboxOptions } from './support/sandbox.js';
import { freePort, simUser } from './support/sim-fixtures.js';
import { waitUntil } from './support/wait.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-uitest-alice-4b8d2f6a1c';
const ALICE_NEW_TOKEN = 'ATATT3xFfGF0-uitest-alice-new-9e3c7a5b0d';
const BOB_TOKEN = 'ATATT3xFfGF0-uitest-bob-7a1c5e9b3d';
const CLIENT_ID = 'uitest-consumer-key-1';
const CLIENT_SECRET = 'uitest-consumer-secret-5f3a9c1e7b';
const SECRETS = [ALICE_TOKEN, ALICE_NEW_TOKEN, BOB_TOKEN, CLIENT_SECRET];
/** Far beyond what a passing test needs; it bounds only a failing one. */
const CAP_MS = 60_000;

const alice = simUser('alice', ALICE_TOKEN, { acme: 'write', alice: 'admin' });
alice.secrets.push({ kind: 'api-token', value: ALICE_NEW_TOKEN });
const SIM_CONFIG: SimulatorConfig = {
  users: [alice, simUser('bob', BOB_TOKEN, { acme: 'read', bob: 'admin', personal: 'admin' })],
  accessTokens: [],
  workspaces: { acme: ['widgets'], alice: ['notes'], bob: ['notes'], personal: ['notes'] },
  appPasswordsDisabled: true,
  oauthConsumers: [{ key: CLIENT_ID, secret: CLIENT_SECRET, name: 'ui tests', family: 'cloud', scopes: ['repository', 'repository:write'] }],
  oauth: { accessTokenLifetimeSeconds: 3600, consentUser: 'alice' },
};

interface World {
  sim: Simulator;
  sandbox: Sandbox;
  ui: RunningUi;
  browser: TestBrowser;
}

/** The demo's two accounts on one host, routed by workspace, a running `ui` and a browser on its page. */
async function world(t: ExecutionContext, options: SandboxOptions = {}, setup?: (sandbox: Sandbox, sim: Simulator) => Promise<void>): Promise<World> {
  const sim = await startSimulator({ config: SIM_CONFIG });
  const sandbox = new Sandbox(options);
  sandbox.trackSecrets(...SECRETS);
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim.close();
  });
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud', '--email', 'alice@example.com']);
  await sandbox.addAccount('personal', sim.url, 'bob', BOB_TOKEN, ['--kind', 'cloud', '--email', 'bob@example.com']);
  await sandbox.addRoute(`${sim.url}/acme/*`, 'work');
  await sandbox.addRoute(`${sim.url}/personal/*`, 'personal');
  await setup?.(sandbox, sim);
  const ui = await startUi(t, sandbox);
  const browser = await startBrowser(t);
  browser.page.setDefaultTimeout(CAP_MS);
  await browser.page.goto(ui.address);
  // The live list only shows what happens once the page watches the daemon.
  await browser.page.locator('#live-status', { hasText: 'watching the daemon' }).waitFor();
  return { sim, sandbox, ui, browser };
}

function assertNoLeaks(t: ExecutionContext, browser: TestBrowser, more: string[] = []): void {
  t.true(browser.payloads.length > 0, 'payloads were recorded');
  t.deepEqual(leakedSecrets(browser.payloads, [...SECRETS, ...more]), [], 'no secret in any HTML, JSON or WebSocket payload');
}

/** The OAuth tokens in the file store (issued by the simulator during the test). */
function storedTokens(sandbox: Sandbox): string[] {
  const stored = JSON.parse(readFileSync(join(sandbox.configHome, 'secrets.json'), 'utf8')) as { secrets: Record<string, Record<string, string>> };
  return Object.values(stored.secrets).flatMap((slots) =>
    Object.entries(slots).flatMap(([slot, value]) => (slot === 'oauth-refresh' ? [value] : slot === 'oauth-access' ? [(JSON.parse(value) as { token: string }).token] : [])),
  );
}

async function routeList(sandbox: Sandbox): Promise<Array<{ pattern: string; account: string }>> {
  return JSON.parse((await sandbox.cli(['route', 'list', '--json'])).stdout) as Array<{ pattern: string; account: string }>;
}

browserTests(test, () => {
  test('the page lists both accounts and their routes; a git clone shows up live, with its account, without a reload', async (t) => {
    const { sim, sandbox, ui, browser } = await world(t);
    const { page } = browser;
    t.is(page.url(), `${ui.origin}/`, 'the one-time secret is gone from the address');

    const work = page.locator('#accounts tbody tr[data-account="work"]');
    const personal = page.locator('#accounts tbody tr[data-account="personal"]');
    await work.waitFor();
    t.regex(await work.innerText(), /cloud\s+http:\/\/127\.0\.0\.1:\d+\s+alice\s+API token/);
    t.regex(await personal.innerText(), /bob\s+API token[^]*not used yet/);
    // Equally deep, so the one with more literal characters comes first, as the router ranks them.
    t.regex(await page.locator(`#routes tbody tr[data-pattern="${sim.url}/personal/*"]`).innerText(), /^1\s+\S+\s+personal/);
    t.regex(await page.locator(`#routes tbody tr[data-pattern="${sim.url}/acme/*"]`).innerText(), /^2\s+\S+\s+work/);

    // A reload would start a new document: this mark would be gone.
    await page.evaluate(() => ((window as unknown as { mark: string }).mark = 'the first document'));
    const clone = await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets']);
    t.is(clone.code, 0, clone.stderr);
    const get = page.locator('#events tbody tr[data-action="get"][data-path="acme/widgets.git"]').first();
    await get.waitFor();
    t.is(await get.getAttribute('data-account'), 'work');
    t.regex(await get.innerText(), /get\s+helper\s+127\.0\.0\.1:\d+\s+acme\/widgets\.git\s+work\s+answered\s+route http:\/\/127\.0\.0\.1:\d+\/acme\/\*/);
    await page.locator('#events tbody tr[data-action="store"][data-account="work"]').first().waitFor();
    // What the daemon learnt shows in the accounts without a reload too.
    await page.locator('#accounts tbody tr[data-account="work"]', { hasText: 'last success' }).waitFor();
    t.is(await page.evaluate(() => (window as unknown as { mark?: string }).mark), 'the first document');

    // The filter by account.
    await page.selectOption('#filter', 'personal');
    t.is(await page.locator('#events tbody tr').count(), 0);
    await page.selectOption('#filter', 'work');
    t.true((await page.locator('#events tbody tr').count()) >= 2);
    assertNoLeaks(t, browser);
  });

  test('routes added and removed in the page are the ones `route list` shows; a bad pattern shows the CLI message', async (t) => {
    const { sim, sandbox, browser } = await world(t);
    const { page } = browser;
    const pattern = `${sim.url}/alice/*`;
    await page.fill('#route-pattern', pattern);
    await page.selectOption('#route-account', 'work');
    await page.click('#route-form button[type=submit]');
    await page.locator('#route-result', { hasText: `Added route ${pattern} → work.` }).waitFor();
    t.true((await routeList(sandbox)).some((route) => route.pattern === pattern && route.account === 'work'));
    await page.locator(`#routes tbody tr[data-pattern="${pattern}"]`).waitFor();

    // Exactly what `route add` says, for the same input.
    const cli = await sandbox.cli(['route', 'add', 'not a url', 'work']);
    t.is(cli.code, 1);
    await page.fill('#route-pattern', 'not a url');
    await page.click('#route-form button[type=submit]');
    const result = page.locator('#route-result.failed');
    await result.waitFor();
    t.true((await result.innerText()).includes(cli.stderr.trim()), `${await result.innerText()} shows ${cli.stderr.trim()}`);
    t.is((await routeList(sandbox)).length, 3, 'nothing was added');

    // Two equally specific routes of different accounts are a conflict the page names.
    await sandbox.addRoute(`${sim.url}/acme/widgets`, 'work');
    await sandbox.addRoute(`${sim.url}/*/widgets`, 'personal');
    await page.click('#route-form button[type=submit]');
    await page.locator(`#routes tbody tr[data-pattern="${sim.url}/acme/widgets"]`).waitFor();
    t.is(await page.locator(`#routes tbody tr[data-pattern="${sim.url}/acme/widgets"]`).innerText().then((text) => text.startsWith('1')), true, 'the most literal route first');

    await page.locator(`#routes tbody tr[data-pattern="${pattern}"] button`).click();
    await page.locator('#route-result', { hasText: `Removed route ${pattern}.` }).waitFor();
    t.false((await routeList(sandbox)).some((route) => route.pattern === pattern));
    assertNoLeaks(t, browser);
  });

  test('a static secret replaced in the page is verified, stored and served, and never shown back', async (t) => {
    const { sim, sandbox, browser } = await world(t);
    const { page } = browser;
    await page.locator('#accounts tbody tr[data-account="work"] button', { hasText: 'Replace secret' }).click();
    await page.fill('#secret-value', ALICE_NEW_TOKEN);
    await page.click('#secret-form button[type=submit]');
    await page.locator('#account-result.ok', { hasText: 'Stored a new API token for account work' }).waitFor();
    t.is(await page.inputValue('#secret-value'), '', 'the field is emptied once posted');
    const host = new URL(sim.url).host;
    const answer = await sandbox.helper('get', credentialRequest({ protocol: 'http', host, path: 'acme/widgets.git' }));
    assertSameSecret(t, passwordOf(answer.stdout), ALICE_NEW_TOKEN, 'git gets the new token');

    await page.locator('#accounts tbody tr[data-account="work"] button', { hasText: 'Verify' }).click();
    await page.locator('#account-result.ok', { hasText: 'work — API token: OK (user alice)' }).waitFor();
    await page.click('#doctor-run');
    await page.locator('#doctor-result.ok, #doctor-result.failed').waitFor();
    const doctor = await page.locator('#doctor-result').innerText();
    t.true(doctor.startsWith('$ git-credential-bitbucket doctor'), doctor);
    t.regex(doctor, /^PASS {2}account work: API token verified with Bitbucket \(user alice\)$/m);
    assertNoLeaks(t, browser);
  });

  test('an OAuth login started in the page is the login flow: consent in the browser, tokens stored, the result shown', async (t) => {
    const addOAuthAccount = async (sandbox: Sandbox, sim: Simulator) => {
      const port = await freePort();
      const args = ['account', 'add', 'cloud', '--url', sim.url, '--kind', 'cloud', '--username', 'alice', '--oauth-client-id', CLIENT_ID, '--oauth-client-secret-stdin', '--redirect-port', String(port), '--no-verify'];
      const added = await sandbox.cli(args, { input: `${CLIENT_SECRET}\n` });
      if (added.code !== 0) throw new Error(`account add failed: ${added.stderr}`);
    };
    // The login's own attempt to open a browser does nothing here: the test's browser follows the page's link.
    const { sandbox, browser } = await world(t, { env: { GIT_CREDENTIAL_BITBUCKET_BROWSER: 'true' } }, addOAuthAccount);
    const { page } = browser;
    const row = page.locator('#accounts tbody tr[data-account="cloud"]');
    t.regex(await row.innerText(), /OAuth NEEDS LOGIN \(not logged in yet\)/);
    await row.locator('button', { hasText: 'Log in' }).click();
    const link = page.locator('#login-link');
    await link.waitFor();
    t.true((await page.locator('#account-result').innerText()).startsWith('$ git-credential-bitbucket login cloud'));
    const consent = await browser.newPage();
    await consent.goto((await link.getAttribute('href'))!);
    await consent.locator('button', { hasText: 'Grant access' }).click();
    await page.locator('#account-result.ok', { hasText: 'Logged in account cloud with OAuth' }).waitFor();
    await page.locator('#accounts tbody tr[data-account="cloud"]', { hasText: 'OAuth, access token until' }).waitFor();
    const tokens = storedTokens(sandbox);
    t.is(tokens.length, 2, 'a refresh and an access token');
    sandbox.trackSecrets(...tokens);
    assertNoLeaks(t, browser, tokens);
  });

  test('a page on another origin can neither change anything nor open the WebSocket', async (t) => {
    const { sim, sandbox, ui, browser } = await world(t);
    const foreign = await browser.newPage();
    // The simulator's origin: same host, another port, so a cookie of ours even goes along.
    await foreign.goto(`${sim.url}/`);
    const outcome = await foreign.evaluate(async (origin) => {
      // The browser sends it (as text/plain: a JSON request would need CORS, which is never granted).
      await fetch(`${origin}/api/route-add`, { method: 'POST', mode: 'no-cors', body: JSON.stringify({ pattern: 'http://127.0.0.1/x/*', account: 'work' }) }).catch(() => undefined);
      const socket = await new Promise<string>((resolve) => {
        const ws = new WebSocket(`${origin.replace('http', 'ws')}/live`);
        ws.onopen = () => resolve('open');
        ws.onclose = () => resolve('refused');
      });
      const read = await fetch(`${origin}/api/state`).then(
        (response) => response.text(),
        () => 'unreadable',
      );
      return { socket, read };
    }, ui.origin);
    t.is(outcome.socket, 'refused');
    t.is(outcome.read, 'unreadable', 'no CORS: the state cannot be read from another origin');
    t.is((await routeList(sandbox)).length, 2, 'the cross-origin POST changed nothing');
    assertNoLeaks(t, browser);
  });

  test('an open page keeps the daemon from its idle exit, and only while it is open', async (t) => {
    const { sandbox, browser } = await world(t, { env: { GIT_CREDENTIAL_BITBUCKET_IDLE_TIMEOUT: '1' } });
    const log = () => readFileSync(join(sandbox.configHome, 'state', 'daemon.log'), 'utf8');
    await waitUntil('the daemon to defer its idle exit for the page', () => log().includes('idle exit deferred: a page is open'));
    t.is(sandbox.daemonPids().length, 1);
    await browser.page.close();
    await waitUntil('the daemon to stop at its idle timeout', () => sandbox.daemonPids().length === 0);
    t.true(log().includes('"reason":"idle timeout"'));
  });
});
