// Who may talk to the daemon is decided by the file system alone: the sockets live in a 0700
// directory of the user's, and Node exposes no SO_PEERCRED to ask a connection who it is. Issue
// #12: with that directory loosened to 0755 and the sockets to 0666, another Unix user was given
// a secret on both sockets. So on every accepted connection the daemon looks at the directory and
// both sockets again (one lstat each) before it reads a byte.
//
// Anything wrong means the connection may come from someone else: it is closed unanswered, loose
// modes are set back, and the daemon stops serving. Stopping matters even after a repair: other
// connections made while the modes were loose can still wait in either socket's listen backlog,
// and would pass the check once the modes are right again; the exiting daemon drops them all. The
// user's next git operation starts a fresh daemon, which checks the directory again at start-up
// (claimRuntimeDir in main.ts).

import { chmodSync, lstatSync, type Stats } from 'node:fs';
import type { Logger } from 'pino';

export interface SocketGuardOptions {
  runtimeDir: string;
  /** Both sockets: a connection on either proves nothing about the other's mode. */
  sockets: readonly string[];
  log: Logger;
  /** Called once, with the reason, when the daemon must stop serving. */
  onUnsafe(reason: string): void;
  /** What stops when a check fails, for the log (a forward's socket closes alone). */
  consequence?: string;
}

/** What one inspection found: nothing, or why the connection is refused. */
type Finding = { safe: true } | { safe: false; reason: string; repaired: boolean };

const PRIVATE_DIR = 0o700;
const PRIVATE_SOCKET = 0o600;
const GROUP_OR_OTHER = 0o077;

export class SocketGuard {
  private refusing = false;
  private readonly uid = process.getuid?.();

  constructor(private readonly options: SocketGuardOptions) {}

  /** For each accepted connection, before anything is read from it: may it be served? */
  admit(): boolean {
    // Windows: named pipes, no runtime directory; the pipe's default ACL is the user's.
    if (this.uid === undefined) return true;
    if (this.refusing) return false;
    const finding = this.inspect();
    if (finding.safe) return true;
    this.refusing = true;
    const level = finding.repaired ? 'warn' : 'error';
    this.options.log[level]({ runtimeDir: this.options.runtimeDir }, `refused a connection: ${finding.reason}; ${this.options.consequence ?? 'the daemon stops serving'}`);
    this.options.onUnsafe(finding.reason);
    return false;
  }

  private inspect(): Finding {
    const { runtimeDir, sockets } = this.options;
    try {
      const dir = lstatSync(runtimeDir, { throwIfNoEntry: false });
      if (!dir) return notOurs(`${runtimeDir} is gone`);
      const dirProblem = this.problem(runtimeDir, dir, 'directory');
      if (dirProblem) return notOurs(dirProblem);
      const repaired: string[] = [];
      if ((dir.mode & GROUP_OR_OTHER) !== 0) repaired.push(repair(runtimeDir, dir, PRIVATE_DIR));
      for (const socket of sockets) {
        const stat = lstatSync(socket, { throwIfNoEntry: false });
        // Gone (a successor daemon or the user removed it): nobody can connect through it.
        if (!stat) continue;
        const socketProblem = this.problem(socket, stat, 'socket');
        if (socketProblem) return notOurs(socketProblem);
        if ((stat.mode & GROUP_OR_OTHER) !== 0) repaired.push(repair(socket, stat, PRIVATE_SOCKET));
      }
      return repaired.length === 0 ? { safe: true } : { safe: false, reason: `${repaired.join('; ')} (other users could connect)`, repaired: true };
    } catch (error) {
      // A check that cannot be made is a check that failed.
      return notOurs(`cannot check ${runtimeDir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }

  /** Why `path` is not ours (a link, another type, another owner), or undefined. */
  private problem(path: string, stat: Stats, kind: 'directory' | 'socket'): string | undefined {
    if (stat.isSymbolicLink()) return `${path} is a symbolic link`;
    if (kind === 'directory' ? !stat.isDirectory() : !stat.isSocket()) return `${path} is no longer a ${kind}`;
    if (stat.uid !== this.uid) return `${path} belongs to uid ${stat.uid}`;
    return undefined;
  }
}

/** Nothing to repair: the daemon can no longer tell who connects. */
function notOurs(reason: string): Finding {
  return { safe: false, reason, repaired: false };
}

function repair(path: string, stat: Stats, mode: number): string {
  chmodSync(path, mode);
  return `${path} was mode ${octal(stat.mode)}, set back to ${octal(mode)}`;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
