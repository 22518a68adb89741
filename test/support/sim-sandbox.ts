// A simulator and a sandbox for one test, torn down together, and the pair of Cloud accounts
// (alice at work, bob for himself) that the routing tests add to them. The teardown makes every
// secret the store holds by then (OAuth tokens the simulator issued during the test too) a
// tracked secret before the sandbox's leak scan.

import type { ExecutionContext } from 'ava';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../fixtures/simulator/server.js';
import { Sandbox, type SandboxOptions } from './sandbox.js';

export interface SimulatorAndSandbox {
  sim: Simulator;
  sandbox: Sandbox;
}

export interface SimulatorAndSandboxOptions {
  /** Secrets the leak scan looks for from the start (those the test's accounts are added with need not be named). */
  secrets?: string[];
  sandbox?: SandboxOptions;
}

/** Starts a simulator and makes a sandbox; the test's teardown scans the sandbox for leaks, cleans it up and stops the simulator. */
export async function simulatorAndSandbox(t: ExecutionContext, simulator: SimulatorOptions, options: SimulatorAndSandboxOptions = {}): Promise<SimulatorAndSandbox> {
  const sim = await startSimulator(simulator);
  const sandbox = new Sandbox(options.sandbox);
  sandbox.trackSecrets(...(options.secrets ?? []));
  t.teardown(async () => {
    sandbox.trackStoredSecrets();
    await sandbox.cleanup();
    await sim.close();
  });
  return { sim, sandbox };
}

/** API tokens of the simulator's users alice and bob. */
export interface AliceAndBobTokens {
  alice: string;
  bob: string;
}

/**
 * Two Cloud accounts on the simulator, each with its own route: `work` (alice) for acme's
 * repositories, `personal` (bob) for those of `bobWorkspace`.
 */
export async function addWorkAndPersonal(sandbox: Sandbox, sim: Simulator, tokens: AliceAndBobTokens, bobWorkspace = 'personal'): Promise<void> {
  await sandbox.addAccount('work', sim.url, 'alice', tokens.alice, ['--kind', 'cloud']);
  await sandbox.addAccount('personal', sim.url, 'bob', tokens.bob, ['--kind', 'cloud']);
  await sandbox.addRoute(`${sim.url}/acme/*`, 'work');
  await sandbox.addRoute(`${sim.url}/${bobWorkspace}/*`, 'personal');
}
