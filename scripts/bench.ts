// `npm run bench`: wall time of a helper `get` against a warm daemon, next to `node -e 0` (the
// floor for any Node helper), measured in one run with the two interleaved so that machine
// noise hits both alike. Writes bench/results.json. `--smoke` runs a few iterations only (CI).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const helper = join(root, 'dist', 'helper', 'git-credential-bitbucket.cjs');
const smoke = process.argv.includes('--smoke');
const iterations = smoke ? 5 : Number(process.env.BENCH_ITERATIONS ?? 60);
const warmup = smoke ? 1 : 10;

const home = mkdtempSync(join(tmpdir(), 'gcb-bench-'));
const env = { ...process.env, GIT_CREDENTIAL_BITBUCKET_HOME: home, GIT_CREDENTIAL_BITBUCKET_IDLE_TIMEOUT: '300' };
const request = 'protocol=https\nhost=bitbucket.org\npath=acme/widgets.git\n\n';

function run(command: string, args: string[], input = ''): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, input, encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return elapsed;
}

function cli(args: string[], input = ''): void {
  run(process.execPath, [helper, ...args], input);
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { runs: samples.length, medianMs: round(at(0.5)), p90Ms: round(at(0.9)), p99Ms: round(at(0.99)), minMs: round(sorted[0]!) };
}

const round = (value: number) => Math.round(value * 100) / 100;

try {
  cli(['account', 'add', 'work', '--url', 'https://bitbucket.org', '--username', 'alice', '--secret-stdin'], 'ATATT3x-bench-secret-0000000000\n');
  cli(['daemon', 'start']);
  const check = spawnSync(helper, ['get'], { env, input: request, encoding: 'utf8' });
  if (!check.stdout.startsWith('username=alice\n')) throw new Error(`helper get did not answer: ${check.stderr}`);

  const nodeSamples: number[] = [];
  const helperSamples: number[] = [];
  for (let i = 0; i < warmup + iterations; i++) {
    const nodeMs = run(process.execPath, ['-e', '0']);
    const helperMs = run(helper, ['get'], request);
    if (i >= warmup) {
      nodeSamples.push(nodeMs);
      helperSamples.push(helperMs);
    }
  }
  const nodeFloor = summary(nodeSamples);
  const helperGet = summary(helperSamples);
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    smoke,
    nodeE0: nodeFloor,
    helperGetStaticSecret: helperGet,
    ratioMedian: round(helperGet.medianMs / nodeFloor.medianMs),
    goalRatio: 1.15,
  };
  console.table({ 'node -e 0': nodeFloor, 'helper get (static secret, warm daemon)': helperGet });
  console.log(`ratio of medians helper/node: ${results.ratioMedian} (goal ≤ ${results.goalRatio})`);
  if (!smoke) {
    mkdirSync(join(root, 'bench'), { recursive: true });
    writeFileSync(join(root, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
    console.log('wrote bench/results.json');
  }
} finally {
  spawnSync(process.execPath, [helper, 'daemon', 'stop'], { env });
  rmSync(home, { recursive: true, force: true });
}
