// Waiting for something a separate process does (a daemon exiting, a log line appearing):
// poll the condition until it holds, with a cap far beyond what any machine needs, so a test
// never depends on how fast a loaded machine happens to be.

/** Generous on purpose: it bounds only a test that is failing anyway. */
export const WAIT_CAP_MS = 60_000;

export async function waitFor(condition: () => boolean | Promise<boolean>, capMs = WAIT_CAP_MS): Promise<boolean> {
  const deadline = Date.now() + capMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** waitFor for set-up steps: a condition that never holds is an error naming what was awaited. */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, capMs = WAIT_CAP_MS): Promise<void> {
  if (!(await waitFor(condition, capMs))) throw new Error(`gave up waiting ${capMs / 1000} s for ${what}`);
}
