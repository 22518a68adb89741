// What may sit where the sockets live. A leftover at a socket path (a directory, a file) would
// make every start fail the same way, so helper and daemon check it alike and say the same
// thing. lstat only: a link is reported, never followed. Node built-ins only (the thin helper).

import { lstatSync } from 'node:fs';

/** One line for a socket path that holds something other than a socket, else undefined. */
export function nonSocketProblem(path: string): string | undefined {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat || stat.isSocket()) return undefined;
  const what = stat.isDirectory() ? 'a directory' : stat.isSymbolicLink() ? 'a symbolic link' : 'a file';
  return `${path} is ${what}, not the daemon's socket; remove it (the daemon creates its socket there)`;
}
