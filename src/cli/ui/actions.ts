// What the page's buttons do: each runs the very command a person would type (the bundled
// entry point, as a child process), so validation, verification, stored results and every
// message are the CLI's own, and the page shows the command next to its answer. A secret goes
// to the child on stdin, never on its command line (which other local users can read).

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { STATIC_SECRET_KINDS } from '../../core/accounts.js';
import { UserError } from '../../core/errors.js';
import type { ActionResult, DoctorCheck, DoctorResult, LoginStarted } from './payload.js';

/** The installed entry point, next to this module in dist/. */
const ENTRY = fileURLToPath(new URL('../../helper/git-credential-bitbucket.cjs', import.meta.url));
/** As long as `login` waits by default: the person may take a while on Bitbucket's page. */
const LOGIN_TIMEOUT_SECONDS = 300;
const MAX_INPUT_CHARS = 2048;

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  /** Called with each chunk of stdout as it arrives. */
  onStdout?: (text: string) => void;
  input?: string;
}

function runCommand(args: string[], options: Running = {}): { done: Promise<Finished> } {
  const child = spawn(process.execPath, [ENTRY, ...args], { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    options.onStdout?.(stdout);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const done = new Promise<Finished>((resolve) => {
    child.on('error', (error) => resolve({ code: null, stdout, stderr: `${stderr}${error.message}\n` }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { done };
}

function result(shown: string[], finished: Finished): ActionResult {
  const lines = `${finished.stdout}${finished.stderr}`.split('\n').filter((line) => line.trim() !== '');
  return { ok: finished.code === 0, command: ['git-credential-bitbucket', ...shown].join(' '), lines };
}

async function run(args: string[], shown = args, input?: string): Promise<ActionResult> {
  return result(shown, await runCommand(args, input === undefined ? {} : { input }).done);
}

/** A text field from the page: a bounded string, or a UserError the page shows. */
export function field(body: Record<string, unknown>, name: string, optional = false): string {
  const value = body[name];
  if ((value === undefined || value === '') && optional) return '';
  if (typeof value !== 'string' || value === '' || value.length > MAX_INPUT_CHARS) throw new UserError(`${name}: expected a non-empty text of at most ${MAX_INPUT_CHARS} characters`);
  return value;
}

// `--` ends the options: a pattern or name from the page is never read as one.
export const addRoute = (pattern: string, account: string) => run(['route', 'add', '--', pattern, account], ['route', 'add', quote(pattern), account]);
export const removeRoute = (pattern: string) => run(['route', 'remove', '--', pattern], ['route', 'remove', quote(pattern)]);
export const verifyAccount = (account: string) => run(['account', 'verify', '--', account]);
// `--close=NAME`: one word, so a name is never read as an option.
export const closeForward = (name: string) => run(['forward', `--close=${name}`], ['forward', '--close', name]);

export function setSecret(account: string, secret: string, secretKind: string, expires: string): Promise<ActionResult> {
  if (secretKind && !(STATIC_SECRET_KINDS as readonly string[]).includes(secretKind)) throw new UserError(`secret kind: one of ${STATIC_SECRET_KINDS.join(', ')}`);
  if (/[\r\n\0]/.test(secret)) throw new UserError('the secret is one line of text');
  const options = ['--secret-stdin', ...(secretKind ? [`--secret-kind=${secretKind}`] : []), ...(expires ? [`--expires=${expires}`] : [])];
  return run(['account', 'set-secret', ...options, '--', account], ['account', 'set-secret', account, ...options], `${secret}\n`);
}

export async function doctor(): Promise<DoctorResult> {
  const finished = await runCommand(['doctor', '--json']).done;
  let checks: DoctorCheck[] = [];
  try {
    checks = (JSON.parse(finished.stdout) as { checks: DoctorCheck[] }).checks;
  } catch {
    // Not JSON: doctor failed before checking anything, and its stderr says why.
  }
  return { ...result(['doctor'], { ...finished, stdout: '' }), checks };
}

/**
 * Starts `login NAME` (the browser flow, with its loopback listener) and answers once the login
 * waits for Bitbucket (with the consent page's address) or has already ended; `finished` gets
 * the final result.
 */
export function startLogin(account: string, finished: (result: ActionResult) => void): Promise<LoginStarted> {
  const shown = ['login', account];
  return new Promise((resolve) => {
    let answered = false;
    const { done } = runCommand(['login', '--timeout', String(LOGIN_TIMEOUT_SECONDS), '--', account], {
      onStdout: (stdout) => {
        // `login` prints the consent page's address on its own indented line.
        const url = /^\s+(https?:\/\/\S+)$/m.exec(stdout)?.[1];
        if (url && !answered) {
          answered = true;
          resolve({ ok: true, command: ['git-credential-bitbucket', ...shown].join(' '), lines: [`Waiting for Bitbucket's consent page (within ${LOGIN_TIMEOUT_SECONDS / 60} minutes).`], url });
        }
      },
    });
    void done.then((end) => {
      const final = result(shown, end);
      if (!answered) resolve({ ...final, url: null });
      else finished(final);
    });
  });
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
