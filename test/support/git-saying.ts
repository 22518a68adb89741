// A `git` that reports another version: the installer and doctor read `git --version`, and the
// versions other platforms print ("2.45.1.windows.1", "2.39.3 (Apple Git-145)") or older
// releases cannot be installed here. Every other command goes to the real git.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A PATH on which `git --version` prints "git version <version>"; made in a new directory under `root`. */
export function pathWithGitSaying(root: string, version: string): string {
  const real = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
  const dir = join(root, `git-${version.replace(/\W/g, '-')}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'git'), `#!/bin/sh\nif [ "$1" = --version ]; then echo "git version ${version}"; exit 0; fi\nexec '${real}' "$@"\n`, { mode: 0o755 });
  return `${dir}:${process.env.PATH}`;
}
