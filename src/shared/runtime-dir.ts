// What may sit where the sockets live. Whoever controls the socket directory receives every
// credential git sends, and a leftover at a socket path (a directory, a file) would make every
// start fail the same way, so helper and daemon judge both with these checks and say the same
// thing. lstat only: a link is reported, never followed. Node built-ins only (the thin helper).

import { lstatSync } from 'node:fs';

/** The parts of fs.Stats the checks read (lstat's, or fstat's of a directory opened O_NOFOLLOW). */
export interface StatLike {
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  uid: number;
  mode: number;
}

/** Why the socket directory may not be used, or undefined for a real directory of ours that only we may enter. */
export function runtimeDirProblem(stat: StatLike): string | undefined {
  if (stat.isSymbolicLink()) return 'is a symbolic link';
  if (!stat.isDirectory()) return 'is not a directory';
  if (process.getuid && stat.uid !== process.getuid()) return 'belongs to another user';
  if ((stat.mode & 0o077) !== 0) return 'can be entered by other users';
  return undefined;
}

/** One line for a socket path that holds something other than a socket, else undefined. */
export function nonSocketProblem(path: string): string | undefined {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat || stat.isSocket()) return undefined;
  const what = stat.isDirectory() ? 'a directory' : stat.isSymbolicLink() ? 'a symbolic link' : 'a file';
  return `${path} is ${what}, not the daemon's socket; remove it (the daemon creates its socket there)`;
}
