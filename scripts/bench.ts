// `npm run bench`: what the helper costs git, measured in one run on this machine.
// - a helper `get` against a warm daemon (static secret, and cached OAuth token), interleaved
//   with `node -e 0` (the floor for any Node helper) so that machine noise hits all alike;
// - a `get` with an OAuth refresh in the path (against the simulator's token endpoint);
// - 200 concurrent gets across an access-token expiry: per-request p50/p99 and token requests.
// Writes bench/results.json. `--smoke` runs a few iterations only (CI keeps the script alive).
// The simulator runs as a child process: the timed runs block this process.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../test/support/sim-fixtures.js';

const root = resolve(import.meta.dirname, '..');
const helper = join(root, 'dist', 'helper', 'git-credential-bitbucket.cjs');
const smoke = process.argv.includes('--smoke');
const iterations = smoke ? 5 : Number(process.env.BENCH_ITERATIONS ?? 60);
const warmup = smoke ? 1 : 10;
const work = mkdtempSync(join(tmpdir(), 'gcb-bench-'));
const CLIENT_ID = 'bench-oauth-consumer';
const CLIENT_SECRET = 'bench-oauth-consumer-secret-0000';
const API_TOKEN = 'ATATT3x-bench-secret-0000000000';

interface Profile {
  env: NodeJS.ProcessEnv;
  request: string;
}

function profile(name: string, extraEnv: NodeJS.ProcessEnv, host: string): Profile {
  return {
    // The file store: what is measured is the helper and the daemon, not the OS keychain.
    env: { ...process.env, GIT_CREDENTIAL_BITBUCKET_HOME: join(work, name), GIT_CREDENTIAL_BITBUCKET_IDLE_TIMEOUT: '300', GIT_CREDENTIAL_BITBUCKET_SECRET_STORE: 'file', ...extraEnv },
    request: `protocol=${host.startsWith('127.') ? 'http' : 'https'}\nhost=${host}\npath=acme/widgets.git\n\n`,
  };
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv, input = ''): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, input, encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return elapsed;
}

function cli(p: Profile, args: string[], input = ''): string {
  const result = spawnSync(process.execPath, [helper, ...args], { env: p.env, input, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git-credential-bitbucket ${args[0]} failed: ${result.stderr}`);
  return result.stdout;
}

function get(p: Profile): string {
  return spawnSync(helper, ['get'], { env: p.env, input: p.request, encoding: 'utf8' }).stdout;
}

const round = (value: number) => Math.round(value * 100) / 100;

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { runs: samples.length, medianMs: round(at(0.5)), p90Ms: round(at(0.9)), p99Ms: round(at(0.99)), minMs: round(sorted[0]!) };
}

/** Runs each command once per round, interleaved, after a warm-up. */
function interleaved(commands: Record<string, () => number>, rounds: number) {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((name) => [name, []]));
  for (let i = 0; i < warmup + rounds; i++) {
    for (const [name, run] of Object.entries(commands)) {
      const ms = run();
      if (i >= warmup) samples[name]!.push(ms);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, summary(values)]));
}

async function startSimulator(lifetimeSeconds: number): Promise<{ child: ChildProcess; url: string; host: string }> {
  const config = join(work, `sim-${lifetimeSeconds}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      users: [{ username: 'alice', email: 'alice@example.com', displayName: 'Alice', uuid: '{bench-alice}', accountId: '712020:bench', secrets: [{ kind: 'api-token', value: API_TOKEN }], workspaces: { acme: 'write' } }],
      accessTokens: [],
      workspaces: { acme: ['widgets'] },
      oauthConsumers: [{ key: CLIENT_ID, secret: CLIENT_SECRET, name: 'bench', family: 'cloud' }],
      oauth: { accessTokenLifetimeSeconds: lifetimeSeconds, consentUser: 'alice', autoApprove: true },
    }),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'fixtures', 'simulator', 'main.ts'), '--config', config], { stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise<string>((done) => createInterface({ input: child.stdout! }).once('line', done));
  return { child, ...(JSON.parse(line) as { url: string; host: string }) };
}

/** An OAuth account logged in through the simulator (auto-approving consent, scripted browser). */
async function oauthProfile(name: string, sim: { url: string; host: string }, marginSeconds: number): Promise<Profile> {
  const p = profile(name, { GIT_CREDENTIAL_BITBUCKET_REFRESH_MARGIN: String(marginSeconds), GIT_CREDENTIAL_BITBUCKET_BROWSER: join(root, 'test', 'support', 'fake-browser.mjs') }, sim.host);
  const port = await freePort();
  cli(p, ['account', 'add', 'work', '--url', sim.url, '--kind', 'cloud', '--username', 'alice', '--oauth-client-id', CLIENT_ID, '--oauth-client-secret-stdin', '--redirect-port', String(port)], CLIENT_SECRET + '\n');
  await new Promise<void>((done, fail) => {
    const login = spawn(process.execPath, [helper, 'login', 'work', '--timeout', '30'], { env: p.env, stdio: 'ignore' });
    login.on('close', (code) => (code === 0 ? done() : fail(new Error(`login failed (${code})`))));
  });
  cli(p, ['daemon', 'start']);
  if (!get(p).startsWith('username=x-token-auth\n')) throw new Error('OAuth get did not answer');
  return p;
}

async function tokenRequests(sim: { url: string }): Promise<number> {
  const stats = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as { oauth: { tokenRequests: { refresh_token: number } } };
  return stats.oauth.tokenRequests.refresh_token;
}

/** 200 gets at once on the daemon's socket, as 200 helpers would send them. */
async function concurrentGets(p: Profile, count: number): Promise<{ latencies: number[]; answered: number }> {
  const socket = join(p.env.GIT_CREDENTIAL_BITBUCKET_HOME!, 'run', 'daemon.sock');
  const [protocol, host] = [/protocol=(\w+)/.exec(p.request)![1], /host=(\S+)/.exec(p.request)![1]];
  const line = JSON.stringify({ v: 1, type: 'credential', action: 'get', credential: { protocol, host, path: 'acme/widgets.git' } }) + '\n';
  const one = () =>
    new Promise<{ ms: number; ok: boolean }>((done) => {
      const started = process.hrtime.bigint();
      const client = connect(socket);
      let data = '';
      client.on('connect', () => client.write(line));
      client.on('data', (chunk) => {
        data += chunk.toString();
        if (data.includes('\n')) client.end();
      });
      client.on('close', () => done({ ms: Number(process.hrtime.bigint() - started) / 1e6, ok: data.includes('"password"') }));
      client.on('error', () => done({ ms: NaN, ok: false }));
    });
  const results = await Promise.all(Array.from({ length: count }, one));
  return { latencies: results.map((result) => result.ms), answered: results.filter((result) => result.ok).length };
}

const sims: ChildProcess[] = [];
const profiles: Profile[] = [];
try {
  const fixed = profile('static', {}, 'bitbucket.org');
  profiles.push(fixed);
  cli(fixed, ['account', 'add', 'work', '--url', 'https://bitbucket.org', '--username', 'alice', '--secret-stdin'], API_TOKEN + '\n');
  cli(fixed, ['daemon', 'start']);
  if (!get(fixed).startsWith('username=alice\n')) throw new Error('static get did not answer');

  const longLived = await startSimulator(3600);
  sims.push(longLived.child);
  const cached = await oauthProfile('oauth-cached', longLived, 300);
  // A margin longer than the token's life: every get refreshes first.
  const refreshing = await oauthProfile('oauth-refresh', longLived, 3600);
  profiles.push(cached, refreshing);

  const floorAndGets = interleaved(
    {
      'node -e 0': () => timed(process.execPath, ['-e', '0'], process.env),
      'helper get, static secret': () => timed(helper, ['get'], fixed.env, fixed.request),
      'helper get, cached OAuth token': () => timed(helper, ['get'], cached.env, cached.request),
    },
    iterations,
  );
  const refreshesBefore = await tokenRequests(longLived);
  const withRefresh = interleaved({ 'helper get, OAuth refresh in the path': () => timed(helper, ['get'], refreshing.env, refreshing.request) }, smoke ? 3 : 20);
  const refreshesDuring = (await tokenRequests(longLived)) - refreshesBefore;

  const shortLived = await startSimulator(1);
  sims.push(shortLived.child);
  const expiring = await oauthProfile('oauth-expiring', shortLived, 0);
  profiles.push(expiring);
  await new Promise((done) => setTimeout(done, 1200)); // past the access token's life
  const before = await tokenRequests(shortLived);
  const started = process.hrtime.bigint();
  const burst = await concurrentGets(expiring, 200);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const burstTokenRequests = (await tokenRequests(shortLived)) - before;

  const floor = floorAndGets['node -e 0']!.medianMs;
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    smoke,
    secretStore: 'file',
    timings: { ...floorAndGets, ...withRefresh },
    ratiosToNodeE0: {
      staticSecret: round(floorAndGets['helper get, static secret']!.medianMs / floor),
      cachedOAuthToken: round(floorAndGets['helper get, cached OAuth token']!.medianMs / floor),
    },
    goalRatio: 1.15,
    refreshPath: { tokenRequests: refreshesDuring, gets: withRefresh['helper get, OAuth refresh in the path']!.runs + warmup },
    concurrentAcrossExpiry: { gets: 200, answered: burst.answered, tokenRequests: burstTokenRequests, wallMs: round(wallMs), perRequest: summary(burst.latencies) },
  };
  console.table(results.timings);
  console.log(`ratios of medians to node -e 0: static ${results.ratiosToNodeE0.staticSecret}, cached OAuth ${results.ratiosToNodeE0.cachedOAuthToken} (goal ≤ ${results.goalRatio})`);
  console.log(`refresh in the path: ${refreshesDuring} token requests for ${results.refreshPath.gets} gets`);
  console.log(
    `200 concurrent gets across expiry: ${burst.answered} answered, ${burstTokenRequests} token request(s), wall ${round(wallMs)} ms, per request p50 ${results.concurrentAcrossExpiry.perRequest.medianMs} ms p99 ${results.concurrentAcrossExpiry.perRequest.p99Ms} ms`,
  );
  if (burst.answered !== 200 || burstTokenRequests !== 1) throw new Error('the concurrent burst was not answered from exactly one refresh');
  if (!smoke) {
    mkdirSync(join(root, 'bench'), { recursive: true });
    writeFileSync(join(root, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
    console.log('wrote bench/results.json');
  }
} finally {
  for (const p of profiles) spawnSync(process.execPath, [helper, 'daemon', 'stop'], { env: p.env });
  for (const child of sims) child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
