// A real browser for the `ui` page tests: Debian's chromium, headless, driven by playwright-core
// (which downloads no browser), with a fresh profile per test. Every response body and WebSocket
// frame the page gets or sends is recorded, so a test can prove that no secret reached the page.
// Also starts `git-credential-bitbucket ui --no-open` for a sandbox and reads its address.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext, TestFn } from 'ava';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { HELPER, type Sandbox } from './sandbox.js';
import { waitUntil } from './wait.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_APT = 'sudo apt-get install -y chromium';
/** Without the background-networking flags a closed network refuses many connections and stalls start-up. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Registers `body` when chromium can run; otherwise one skipped test naming the apt command, or,
 * under CI=true, one failing test: CI must run the browser tests.
 */
export function browserTests(test: TestFn, body: () => void): void {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    body();
    return;
  } catch {
    const title = `the ui page tests need chromium at ${CHROMIUM}; install it with: ${CHROMIUM_APT}`;
    if (process.env.CI === 'true') test(title, (t) => t.fail(`under CI=true the browser tests must run, not skip: ${CHROMIUM} is missing`));
    else test.skip(title, () => undefined);
  }
}

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Every HTML, JSON, script and WebSocket payload the browser received or sent. */
  payloads: string[];
  /** A new tab, recorded like the first. */
  newPage(): Promise<Page>;
}

/** A headless chromium that closes (and loses its profile) at the end of the test. */
export async function startBrowser(t: ExecutionContext): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'gcb-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 120_000 });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`chromium did not start: ${(error as Error).message.split('\n')[0]}`);
  }
  t.teardown(async () => {
    await context.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  });
  const payloads: string[] = [];
  const record = (page: Page) => {
    page.on('response', (response) => void response.text().then((text) => payloads.push(text), () => undefined));
    page.on('websocket', (socket) => {
      socket.on('framereceived', (frame) => payloads.push(String(frame.payload)));
      socket.on('framesent', (frame) => payloads.push(String(frame.payload)));
    });
    return page;
  };
  const page = record(context.pages()[0] ?? (await context.newPage()));
  return { context, page, payloads, newPage: async () => record(await context.newPage()) };
}

/** The secrets (by their first characters only) found in any of the payloads. */
export function leakedSecrets(payloads: readonly string[], secrets: readonly string[]): string[] {
  return secrets.filter((secret) => payloads.some((payload) => payload.includes(secret))).map((secret) => `${secret.slice(0, 4)}…`);
}

export interface RunningUi {
  process: ChildProcess;
  /** The one-time address `ui --no-open` printed as its last line. */
  address: string;
  origin: string;
}

/** `git-credential-bitbucket ui --no-open` in the sandbox, stopped (SIGTERM) at the end of the test. */
export async function startUi(t: ExecutionContext, sandbox: Sandbox, env: NodeJS.ProcessEnv = {}): Promise<RunningUi> {
  const child = spawn(process.execPath, [HELPER, 'ui', '--no-open'], { env: { ...sandbox.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const address = () => /^(http:\/\/127\.0\.0\.1:\d+)\/open\?\S+$/m.exec(stdout);
  await waitUntil('ui to print its address', () => {
    if (child.exitCode !== null) throw new Error(`ui exited with ${child.exitCode}: ${stderr}`);
    return address() !== null;
  });
  const match = address()!;
  return { process: child, address: match[0], origin: match[1]! };
}
