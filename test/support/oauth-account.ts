// An OAuth account as the OAuth tests set it up: `work`, alice's, on a Cloud URL with a consumer's
// id and secret and a free loopback port for the redirect; the scripted browser that logs it in;
// and the consent a person grants on the simulator's page when the login's browser is elsewhere.

import { join } from 'node:path';
import type { Simulator } from '../../fixtures/simulator/server.js';
import { REPO_ROOT, type RunResult, type Sandbox } from './sandbox.js';
import { freePort } from './sim-fixtures.js';

/** For GIT_CREDENTIAL_BITBUCKET_BROWSER: grants access on the consent page (support/fake-browser.mjs). */
export const FAKE_BROWSER = join(REPO_ROOT, 'test', 'support', 'fake-browser.mjs');

/** An OAuth consumer as `account add` takes it. */
export interface OAuthClient {
  id: string;
  secret: string;
}

export interface AddOAuthAccountOptions {
  /** Arguments after the OAuth ones (e.g. `--no-verify`). */
  args?: string[];
  /** An API token the account falls back to (`--secret-stdin`, piped before the client secret). */
  staticSecret?: string;
}

/** `account add work` for alice with `client` on the Cloud at `url`; the caller checks the result. */
export async function addOAuthAccount(sandbox: Sandbox, url: string, client: OAuthClient, options: AddOAuthAccountOptions = {}): Promise<RunResult> {
  const port = await freePort();
  const args = ['account', 'add', 'work', '--url', url, '--kind', 'cloud', '--username', 'alice', '--oauth-client-id', client.id, '--oauth-client-secret-stdin', '--redirect-port', String(port), ...(options.args ?? [])];
  if (options.staticSecret === undefined) return sandbox.cli(args, { input: `${client.secret}\n` });
  return sandbox.cli([...args, '--secret-stdin'], { input: `${options.staticSecret}\n${client.secret}\n` });
}

/**
 * What a person does in a browser the login did not open: loads the consent page at
 * `consentUrl` and grants access. Returns the address the browser is then sent to (the
 * login's redirect, with the code).
 */
export async function grantConsent(sim: Simulator, consentUrl: string | URL): Promise<string> {
  const html = await (await fetch(consentUrl)).text();
  const form = new URLSearchParams([...html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]));
  form.set('decision', 'grant');
  const granted = await fetch(new URL('/site/oauth2/authorize', sim.url), { method: 'POST', body: form, redirect: 'manual' });
  return granted.headers.get('location')!;
}
