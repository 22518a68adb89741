// A long-lived daemon should stay small (the bench's soak: 10,000 gets over four accounts with
// refreshes and 200 held connections). V8 otherwise grows the young generation for good under a
// burst and lets old space climb between major GCs, the pages resident after: 10,000 gets on one
// daemon peak at ~87 MiB RSS without these flags and at ~64 MiB with them (either flag alone: ~74).
//
// They are set here, by the daemon itself, not on its command line: any V8 flag given at start
// makes V8 refuse the code cache Node ships for its built-in modules, and the start-up a cold git
// operation waits for would compile net, crypto and streams from source (+12 ms of CPU). Set once
// the bundle has loaded them, they cost nothing. `--max-semi-space-size` is read only when the heap
// is created; a growth factor of 1 keeps the young generation at its initial 1 MiB semi-spaces,
// which is what `--max-semi-space-size=1` did. (`--max-old-space-size` cannot be changed after start
// either; measured, it made no difference to the peak.)

import { setFlagsFromString } from 'node:v8';

const MEMORY_FLAGS = ['--semi-space-growth-factor=1', '--optimize-for-size'];

export function favourMemory(): void {
  for (const flag of MEMORY_FLAGS) setFlagsFromString(flag);
}
