// The `ui` page's part of `npm run bench` (issue 16): a page client (what the browser's page does:
// load the one-time address, keep the cookie, open the WebSocket) against a running
// `git-credential-bitbucket ui`, and the time from a request sent to the daemon to its event
// arriving on that WebSocket. A Node WebSocket stands in for the browser: drawing a table row
// is not what the daemon and the ui process cost.

import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { WIRE_VERSION, encodeMessage } from '../src/shared/wire.js';
import type { LiveMessage } from '../src/cli/ui/payload.js';

export interface OpenPage {
  close(): void;
  /** Called with the path of each request event the page receives. */
  onEvent(listener: (path: string) => void): void;
}

/** Starts `ui --no-open` with `env`, loads its address, and opens the WebSocket as the page would. */
export async function openUiPage(helper: string, env: NodeJS.ProcessEnv): Promise<OpenPage> {
  const ui: ChildProcess = spawn(process.execPath, [helper, 'ui', '--no-open'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  const address = await new Promise<URL>((resolve, reject) => {
    let out = '';
    ui.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /^http:\/\/127\.0\.0\.1:\d+\/open\?\S+$/m.exec(out);
      if (match) resolve(new URL(match[0]));
    });
    ui.on('exit', (code) => reject(new Error(`ui exited (${code}) before printing its address`)));
  });
  const cookie = await new Promise<string>((resolve, reject) => {
    const request = httpRequest(address, (response) => {
      response.resume();
      resolve((response.headers['set-cookie']?.[0] ?? '').split(';')[0]!);
    });
    request.on('error', reject);
    request.end();
  });
  const socket = new WebSocket(`ws://${address.host}/live`, { headers: { cookie, origin: address.origin } });
  const listeners: Array<(path: string) => void> = [];
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as LiveMessage;
      if (message.type === 'daemon' && message.watching) resolve();
      if (message.type === 'event') for (const listener of listeners) listener(message.event.path ?? '');
    });
    socket.on('error', reject);
  });
  return {
    onEvent: (listener) => listeners.push(listener),
    close: () => {
      socket.terminate();
      ui.kill('SIGTERM');
    },
  };
}

/**
 * Sends `count` gets to the daemon's socket at `perSecond`, each on its own connection (as
 * helpers do), and returns how long each took from being sent to its event reaching the page.
 */
export async function requestToPage(page: OpenPage, socketPath: string, host: string, count: number, perSecond: number): Promise<number[]> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let arrived!: () => void;
  const allArrived = new Promise<void>((resolve) => (arrived = resolve));
  page.onEvent((path) => {
    const sent = sentAt.get(path);
    if (sent === undefined) return;
    latencies.push(performance.now() - sent);
    sentAt.delete(path);
    if (latencies.length === count) arrived();
  });
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / perSecond;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    const path = `acme/page-bench-${i}.git`;
    const client = connect(socketPath, () => {
      sentAt.set(path, performance.now());
      client.write(encodeMessage({ v: WIRE_VERSION, type: 'credential', action: 'get', credential: { protocol: 'https', host, path } }));
    });
    client.on('data', () => client.end());
    client.on('error', () => client.destroy());
  }
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 30_000).unref());
  await Promise.race([allArrived, timeout]);
  if (latencies.length !== count) throw new Error(`only ${latencies.length} of ${count} request events reached the page`);
  return latencies;
}
