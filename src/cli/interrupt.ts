// The long-running commands (`ui`, `trace`, `forward --socket-only`) run until Ctrl-C and then
// clean up and exit on their own terms (exit code, last message) rather than die by the signal.

/** Ctrl-C, and `kill` or a service manager stopping the process. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export interface Interruption {
  /** Resolves at the first of the signals. */
  signalled: Promise<void>;
  /** Stops catching the signals (the process ends by them again); call it once done waiting, whatever ended the wait. */
  release(): void;
}

/** Catches the signals from now on; `also` adds more (SIGHUP for a closed terminal). */
export function catchInterrupt(also: readonly NodeJS.Signals[] = []): Interruption {
  const signals = [...STOP_SIGNALS, ...also];
  let stop = (): void => undefined;
  const signalled = new Promise<void>((resolve) => (stop = () => resolve()));
  for (const signal of signals) process.on(signal, stop);
  return { signalled, release: () => signals.forEach((signal) => process.off(signal, stop)) };
}

/** Waits for Ctrl-C (or SIGTERM); the signals are the process's own again afterwards. */
export async function untilInterrupted(): Promise<void> {
  const interruption = catchInterrupt();
  await interruption.signalled;
  interruption.release();
}
