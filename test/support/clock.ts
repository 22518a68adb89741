// One clock for a test's product processes and simulators: `advance` moves the daemon's and the
// CLI's notion of now (through the test-only clock file, src/core/clock.ts) and every
// simulator's (its own switch) by the same amount, so a token expires exactly when the test says,
// however slow the machine is. Sleeping past a lifetime instead made the suite flaky under load.

import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Simulator } from '../../fixtures/simulator/server.js';
import { TEST_CLOCK_FILE_ENV } from '../../src/core/clock.js';
import type { Sandbox } from './sandbox.js';

export class TestClock {
  private readonly file: string;
  private offsetMs = 0;

  /** Every process the sandbox starts from now on (daemon, CLI) follows this clock. */
  constructor(
    sandbox: Sandbox,
    private readonly simulators: readonly Simulator[],
  ) {
    this.file = join(sandbox.root, 'test-clock');
    this.write();
    sandbox.env[TEST_CLOCK_FILE_ENV] = this.file;
  }

  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
    this.write();
    for (const simulator of this.simulators) simulator.advanceClock(seconds);
  }

  private write(): void {
    // Replaced whole, never rewritten in place: a reader sees the old offset or the new one.
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, String(this.offsetMs));
    renameSync(temporary, this.file);
  }
}
