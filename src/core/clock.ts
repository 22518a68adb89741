// "Now" for OAuth token expiry (the token manager's decisions and the expiry of tokens the
// token endpoint issues). Test-only seam: when GIT_CREDENTIAL_BITBUCKET_TEST_CLOCK_FILE names a
// file, the number of milliseconds it holds is added to the real time, so a test moves the
// daemon's and the CLI's clock past a token's lifetime (with the simulator's, through its own
// switch) instead of sleeping through it (issue #12: sleeps of a few seconds made the suite red
// on a loaded machine). The file is read again only when it was replaced or changed. Without the
// variable `now` is Date.now itself: nothing is read and nothing costs. Not for users.

import { readFileSync, statSync } from 'node:fs';

export const TEST_CLOCK_FILE_ENV = 'GIT_CREDENTIAL_BITBUCKET_TEST_CLOCK_FILE';

/** Date.now, or Date.now plus the offset in `env`'s test clock file. */
export function clockFrom(env: NodeJS.ProcessEnv): () => number {
  const file = env[TEST_CLOCK_FILE_ENV];
  if (!file) return Date.now;
  let version = '';
  let offsetMs = 0;
  return () => {
    const stat = statSync(file, { bigint: true, throwIfNoEntry: false });
    const current = stat ? `${stat.ino}:${stat.mtimeNs}:${stat.size}` : '';
    if (current !== version) {
      version = current;
      const value = stat ? Number(readFileSync(file, 'utf8').trim()) : 0;
      offsetMs = Number.isFinite(value) ? value : 0;
    }
    return Date.now() + offsetMs;
  };
}

export const now = clockFrom(process.env);
