// Opens a URL in the user's browser, best effort: the URL is always printed too, so a failure
// here costs nothing. GIT_CREDENTIAL_BITBUCKET_BROWSER names another program to run with the URL.

import { spawn } from 'node:child_process';

export function openBrowser(url: string): void {
  const custom = process.env.GIT_CREDENTIAL_BITBUCKET_BROWSER;
  const [command, args] = custom
    ? [custom, [url]]
    : process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
        : ['xdg-open', [url]];
  const child = spawn(command, args, { stdio: 'ignore', detached: !custom, windowsHide: true });
  child.on('error', () => undefined);
  if (!custom) child.unref();
}
