// The `ui` page's Forwards section (issue #17) in a real browser: forwards opened by real
// `forward` processes appear without a reload, with their accounts, kind and who may connect; the
// page's Close button is `forward --close` (the forward process ends and its row goes), and no
// secret reaches any payload. The ssh forward runs a stand-in for ssh that only waits: the page
// needs the forward, not a remote host (test/forward.test.ts drives a real sshd). The page learns
// of forwards from the daemon's event stream, not by asking in a loop: the daemon's own request
// count proves the `ui` process asked nothing it did not have to. A stand-in for a daemon from
// before forward events shows what the page does then.

import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserTests, leakedSecrets, startBrowser, startUi } from './support/browser.js';
import { HELPER, Sandbox, type RunResult } from './support/sandbox.js';
import { startStandInDaemon } from './support/stand-in-daemon.js';
import { waitUntil } from './support/wait.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-uifwd-alice-3e7b1d9c5a';
const BOB_TOKEN = 'ATATT3xFfGF0-uifwd-bob-8f2a6c4e0b';
/** Far beyond what a passing test needs; it bounds only a failing one. */
const CAP_MS = 60_000;
/** Accounts are added without verification: nothing here asks Bitbucket. */
const URL = 'http://127.0.0.1:9';

interface RunningForward {
  output(): string;
  ended: Promise<RunResult>;
}

/** A long-running `forward` process, ended (SIGTERM, as a closed terminal would) at teardown. */
function startForward(t: ExecutionContext, sandbox: Sandbox, args: string[]): RunningForward {
  const child = spawn(process.execPath, [HELPER, 'forward', ...args], { env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const ended = new Promise<RunResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await ended;
  });
  return { output: () => stdout + stderr, ended };
}

async function forwardList(sandbox: Sandbox): Promise<Array<{ name: string; openedAt: string }>> {
  return JSON.parse((await sandbox.cli(['forward', '--list', '--json'])).stdout) as Array<{ name: string; openedAt: string }>;
}

/** The daemon's count of the requests it answered on any socket, this ping included. */
async function requestsServed(sandbox: Sandbox): Promise<number> {
  const status = await sandbox.cli(['daemon', 'status', '--json']);
  return (JSON.parse(status.stdout) as { requests: number }).requests;
}

/** Counts the page's /api/state requests (each asks the daemon one ping), and which of them are done. */
function stateRequests(page: Page): { started: number; done: number } {
  const count = { started: 0, done: 0 };
  const isState = (url: string) => new globalThis.URL(url).pathname === '/api/state';
  page.on('request', (request) => isState(request.url()) && count.started++);
  page.on('requestfinished', (request) => isState(request.url()) && count.done++);
  page.on('requestfailed', (request) => isState(request.url()) && count.done++);
  return count;
}

/** The ui process and a browser on its page once the page follows the daemon; `state` counts the page's state reads. */
async function openPage(t: ExecutionContext, sandbox: Sandbox): Promise<{ browser: Awaited<ReturnType<typeof startBrowser>>; page: Page; state: { started: number; done: number } }> {
  const ui = await startUi(t, sandbox);
  const browser = await startBrowser(t);
  const { page } = browser;
  page.setDefaultTimeout(CAP_MS);
  const state = stateRequests(page);
  await page.goto(ui.address);
  await page.locator('#live-status', { hasText: 'watching the daemon' }).waitFor();
  return { browser, page, state };
}

const OLD_FORWARD = { name: 'legacy-box', accounts: ['work'], socketPath: '/tmp/gcb-fwd-legacy/sock', otherUsers: false, via: 'socket-only', openedAt: '2026-01-02T03:04:05.000Z', requests: 3 };

/**
 * A daemon of this wire version from before forward events, holding the sandbox's sockets: it
 * answers ping (with one open forward), watch (with no forward list, and no events after it) and
 * stop, and records each request it received.
 */
async function startDaemonWithoutForwardEvents(t: ExecutionContext, sandbox: Sandbox): Promise<Array<{ type?: unknown; forwards?: unknown }>> {
  const received: Array<{ type?: unknown; forwards?: unknown }> = [];
  const answer = (message: object) => JSON.stringify({ v: 2, ...message }) + '\n';
  const daemon = await startStandInDaemon(t, sandbox, (request, socket, stop) => {
    received.push(request);
    if (request.type === 'ping') {
      socket.end(answer({ type: 'pong', pid: process.pid, version: '0.0.9', startedAt: new Date().toISOString(), requests: received.length, configDir: sandbox.configHome, socketPath: daemon.socketPath, logFile: join(sandbox.root, 'none.log'), forwards: [OLD_FORWARD] }));
    } else if (request.type === 'watch') socket.write(answer({ type: 'watching' }));
    else if (request.type === 'stop') {
      socket.end(answer({ type: 'ok' }));
      stop();
    } else socket.end(answer({ type: 'error', code: 'bad-request', message: 'unknown request type' }));
  });
  return received;
}

browserTests(test, () => {
  test('the page lists open forwards as they open, and its Close button closes one: the forward process ends and the row goes, without a reload', async (t) => {
    const sandbox = new Sandbox();
    sandbox.trackSecrets(ALICE_TOKEN, BOB_TOKEN);
    t.teardown(() => sandbox.cleanup());
    await sandbox.addAccount('work', URL, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
    await sandbox.addAccount('personal', URL, 'bob', BOB_TOKEN, ['--kind', 'cloud']);
    // Stands in for ssh: waits until the forward ends it.
    const fakeSsh = join(sandbox.root, 'fake-ssh');
    writeFileSync(fakeSsh, '#!/bin/sh\nexec sleep 300\n');
    chmodSync(fakeSsh, 0o755);

    const ui = await startUi(t, sandbox);
    const browser = await startBrowser(t);
    const { page } = browser;
    page.setDefaultTimeout(CAP_MS);
    await page.goto(ui.address);
    await page.locator('#live-status', { hasText: 'watching the daemon' }).waitFor();
    await page.locator('#no-forwards', { hasText: 'No forwards open.' }).waitFor();
    // A reload would start a new document: this mark would be gone.
    await page.evaluate(() => ((window as unknown as { mark: string }).mark = 'the first document'));

    const box = startForward(t, sandbox, ['--socket-only', '--account', 'work', '--name', 'box', '--allow-other-users']);
    const build = startForward(t, sandbox, ['--account', 'personal', '--name', 'build', '--', fakeSsh, 'build-box']);
    const boxRow = page.locator('#forwards tbody tr[data-forward="box"]');
    const buildRow = page.locator('#forwards tbody tr[data-forward="build"]');
    await boxRow.waitFor();
    await buildRow.waitFor();
    t.true(await page.locator('#no-forwards').isHidden());
    const opened = (await forwardList(sandbox)).find((forward) => forward.name === 'box')!;
    const openedShown = await page.evaluate((iso) => new Date(iso).toLocaleString(), opened.openedAt);
    t.is(await boxRow.innerText(), ['box', 'work', 'socket-only', 'allowed', openedShown, '0', 'Close'].join('\t'));
    t.regex(await buildRow.innerText(), /^build\tpersonal\tssh\tno\t.+\t0\tClose$/);

    await boxRow.locator('button', { hasText: 'Close' }).click();
    const result = page.locator('#forward-result.ok', { hasText: 'Closed forward box.' });
    await result.waitFor();
    t.true((await result.innerText()).startsWith('$ git-credential-bitbucket forward --close box\n'), await result.innerText());
    const end = await box.ended;
    t.is(end.code, 1, 'the forward process learns its forward was closed');
    t.regex(end.stderr, /forward box was closed/);
    await boxRow.waitFor({ state: 'detached' });
    t.true(await buildRow.isVisible(), 'the other forward stays');
    t.deepEqual((await forwardList(sandbox)).map((forward) => forward.name), ['build']);

    // Ended elsewhere (its ssh session ends): the page follows as well.
    await waitUntil('the ssh stand-in to run', () => build.output().includes('until this ssh session ends'));
    await sandbox.cli(['forward', '--close', 'build']);
    await buildRow.waitFor({ state: 'detached' });
    await page.locator('#no-forwards').waitFor();
    t.is((await build.ended).code, 1);
    t.is(await page.evaluate(() => (window as unknown as { mark?: string }).mark), 'the first document');

    t.true(browser.payloads.some((payload) => payload.includes('"type":"forwards"')), 'the forwards came over the WebSocket');
    t.deepEqual(leakedSecrets(browser.payloads, [ALICE_TOKEN, BOB_TOKEN]), [], 'no secret in any HTML, JSON or WebSocket payload');
  });

  test('a forward opened and closed in a terminal appears and goes as the daemon reports it, its request count follows, and the ui process asks the daemon nothing in a loop', async (t) => {
    const sandbox = new Sandbox();
    sandbox.trackSecrets(ALICE_TOKEN);
    t.teardown(() => sandbox.cleanup());
    await sandbox.addAccount('work', URL, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
    t.is((await sandbox.cli(['daemon', 'start'])).code, 0);
    const before = await requestsServed(sandbox);

    const { browser, page, state } = await openPage(t, sandbox);
    await page.locator('#no-forwards', { hasText: 'No forwards open.' }).waitFor();

    const box = startForward(t, sandbox, ['--socket-only', '--account', 'work', '--name', 'box']);
    const row = page.locator('#forwards tbody tr[data-forward="box"]');
    await row.waitFor();
    t.regex(await row.innerText(), /^box\twork\tsocket-only\tno\t.+\t0\tClose$/);
    t.true(await page.locator('#forwards-not-live').isHidden(), 'this daemon reports forward changes');

    // A request through the forward: the row's count follows without a reload.
    await waitUntil('the forward to print its socket', () => /^Socket: .+$/m.test(box.output()));
    const socket = /^Socket: (.+)$/m.exec(box.output())![1]!;
    const answer = await sandbox.run('git', ['credential-cache', '--socket', socket, 'get'], { input: 'protocol=http\nhost=127.0.0.1:9\n\n', secretOutput: true });
    t.true(answer.stdout.includes(`password=${ALICE_TOKEN}\n`), 'the forward answered with the account\'s secret');
    await row.locator('td').nth(5).filter({ hasText: /^1$/ }).waitFor();

    t.is((await sandbox.cli(['forward', '--close', 'box'])).code, 0);
    await row.waitFor({ state: 'detached' });
    await page.locator('#no-forwards').waitFor();
    t.is((await box.ended).code, 1);

    // Every request the daemon answered since `before`, counted: the ui process's watch (its ping,
    // then `watch`), the page's state reads (one ping each), the forward process (its ping, then
    // `forward-open`), the get through the forward, `forward --close`, and this count's own ping.
    // A ui process that asked for the forwards in a loop would have sent more pings.
    await waitUntil('the page\'s state reads to finish', () => state.done === state.started);
    const served = (await requestsServed(sandbox)) - before;
    t.is(served, 2 + state.started + 2 + 1 + 1 + 1, `the daemon answered ${served} requests; the page read its state ${state.started} times`);
    t.deepEqual(leakedSecrets(browser.payloads, [ALICE_TOKEN]), [], 'no secret in any HTML, JSON or WebSocket payload');
  });

  test('a daemon from before forward events: the page lists its forwards as of loading (one ping, no loop) and says that changes need a reload', async (t) => {
    const sandbox = new Sandbox();
    t.teardown(() => sandbox.cleanup());
    const received = await startDaemonWithoutForwardEvents(t, sandbox);

    const { browser, page, state } = await openPage(t, sandbox);
    const row = page.locator('#forwards tbody tr[data-forward="legacy-box"]');
    await row.waitFor();
    t.regex(await row.innerText(), /^legacy-box\twork\tsocket-only\tno\t.+\t3\tClose$/);
    await page.locator('#forwards-not-live', { hasText: 'does not report forwards as they open and close' }).waitFor();
    t.true(await page.locator('#no-forwards').isHidden());

    t.like(received.find((request) => request.type === 'watch'), { forwards: true }, 'the watch asked for forward events');
    // The ui process's ping before its watch, its one ping for the forwards, and one per state read.
    await waitUntil('the page\'s state reads to finish', () => state.done === state.started);
    t.is(received.filter((request) => request.type === 'ping').length, 2 + state.started);
  });
});
