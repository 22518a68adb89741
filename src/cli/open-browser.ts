// Opens a URL in the user's browser, best effort: the URL is always printed too, so a failure
// here costs nothing, and `login` also takes the pasted answer. GIT_CREDENTIAL_BITBUCKET_BROWSER
// names another program to run with the URL. Failures are reported to `onFailure` (a missing
// opener, one that exits with an error), so the user is told instead of left waiting.

import { spawn } from 'node:child_process';

const BROWSER_ENV = 'GIT_CREDENTIAL_BITBUCKET_BROWSER';

/**
 * Why no browser can open here before trying: on Linux and the other Unixes without a display
 * (an SSH session, a server) xdg-open can only fail or start a text browser nobody sees.
 */
export function browserUnavailable(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  if (env[BROWSER_ENV] || platform === 'darwin' || platform === 'win32') return undefined;
  return env.DISPLAY || env.WAYLAND_DISPLAY ? undefined : 'no display: DISPLAY and WAYLAND_DISPLAY are unset';
}

export function openBrowser(url: string, onFailure: (problem: string) => void = () => undefined): void {
  const custom = process.env[BROWSER_ENV];
  const [command, args] = custom
    ? [custom, [url]]
    : process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
        : ['xdg-open', [url]];
  const child = spawn(command, args, { stdio: 'ignore', detached: !custom, windowsHide: true });
  child.on('error', (error: NodeJS.ErrnoException) => onFailure(`${command}: ${error.code === 'ENOENT' ? 'not found' : error.message}`));
  child.on('exit', (code) => {
    if (code !== null && code !== 0) onFailure(`${command} exited with status ${code}`);
  });
  if (!custom) child.unref();
}
