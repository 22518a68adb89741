// The `ui` page's Forwards section (issue #17) in a real browser: forwards opened by real
// `forward` processes appear without a reload, with their accounts, kind and who may connect; the
// page's Close button is `forward --close` (the forward process ends and its row goes), and no
// secret reaches any payload. The ssh forward runs a stand-in for ssh that only waits: the page
// needs the forward, not a remote host (test/forward.test.ts drives a real sshd).

import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { browserTests, leakedSecrets, startBrowser, startUi } from './support/browser.js';
import { HELPER, Sandbox, type RunResult } from './support/sandbox.js';
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
});
