// Whether the helper answers git through the daemon or in its own process. A one-shot CI job
// gains nothing from a daemon: it would outlive the job, and it would keep the environment of the
// job that started it, so a secret read from an environment variable (secretEnv) would come from
// the wrong job. Hence:
//   GIT_CREDENTIAL_BITBUCKET_NO_DAEMON=1 (or true): always in-process;
//   GIT_CREDENTIAL_BITBUCKET_NO_DAEMON=0 (or false): always the daemon, started when none runs;
//   unset, with CI=true (GitHub Actions, Bitbucket Pipelines, GitLab, CircleCI set it): a daemon
//   that already runs (a self-hosted runner that chose one) answers, else the helper does, and
//   none is started;
//   otherwise the daemon. Node built-ins only: the thin helper imports this file.

import type { Env } from './paths.js';

export const NO_DAEMON_ENV = 'GIT_CREDENTIAL_BITBUCKET_NO_DAEMON';

export type DaemonChoice = 'daemon' | 'in-process' | 'daemon-if-running';

export function daemonChoice(env: Env): DaemonChoice {
  const explicit = env[NO_DAEMON_ENV];
  if (explicit === '1' || explicit === 'true') return 'in-process';
  if (explicit === '0' || explicit === 'false') return 'daemon';
  return env.CI === 'true' || env.CI === '1' ? 'daemon-if-running' : 'daemon';
}
