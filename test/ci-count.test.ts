// .ci/run ends with "N passed, N failed", counted by .ci/count-ava from ava's console output.
// ava's closing summary names the passed tests only when none failed, so CI once said
// "0 passed, 7 failed" for a run with 173 passing tests (issue #12). The outputs here are real
// ava runs (test/fixtures/ava-output/README.md).

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './support/sandbox.js';

const COUNT = join(REPO_ROOT, '.ci', 'count-ava');
const OUTPUTS = join(REPO_ROOT, 'test', 'fixtures', 'ava-output');

function count(log: string, status: number): string {
  const result = spawnSync('bash', [COUNT, log, String(status)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`count-ava failed: ${result.stderr}`);
  return result.stdout;
}

const cases: Array<[file: string, status: number, expected: string, what: string]> = [
  ['all-pass.txt', 0, '2 passed, 0 failed', 'every test passed'],
  ['failures.txt', 1, '5 passed, 3 failed', 'two failed tests and an uncaught exception; the known failure passed as expected'],
  ['timeout.txt', 1, '5 passed, 4 failed', 'a failed test, an uncaught exception and two tests pending at the timeout'],
  ['timeout-only.txt', 1, '1 passed, 1 failed', "a test pending at the timeout, though ava's summary says only \"1 test passed\""],
  ['crashes.txt', 1, '2 passed, 3 failed', 'a failed hook, an unhandled rejection and a test file that exited'],
];

for (const [file, status, expected, what] of cases) {
  test(`${file}: ${what}`, (t) => {
    t.is(count(join(OUTPUTS, file), status), `${expected}\n`);
  });
}

test('a failed run with nothing to count (the build broke) is one failure; colours are ignored', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-ci-count-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, 'error TS2304: Cannot find name\n');
  t.is(count(empty, 2), '0 passed, 1 failed\n');
  const coloured = join(dir, 'coloured.txt');
  writeFileSync(coloured, '  \x1b[32m✔\x1b[39m a › one\n  \x1b[31m✘ [fail]:\x1b[39m a › two \x1b[3mboom\x1b[23m\n');
  t.is(count(coloured, 1), '1 passed, 1 failed\n');
});
