// The product's tunable numbers, each written down once: its environment variable, its key in
// config.json (when it has one), its default and the range the README states. The helper, the
// daemon, config validation and `doctor` all read them through here, so a value outside its
// range is refused the same way everywhere (issue #12: `idleTimeoutSeconds: 0.001` was taken and
// made every request fail). Node built-ins only: the thin helper imports this file.

import type { Env } from './paths.js';

export interface Setting {
  /** Environment variable; it wins over config.json. */
  env: string;
  /** Where config.json holds it, if it may: [section, key]. */
  config?: readonly [section: 'daemon' | 'oauth', key: string];
  unit: 'seconds' | 'milliseconds' | 'bytes';
  default: number;
  min: number;
  max: number;
  /** One line for the README and `doctor`. */
  summary: string;
}

/**
 * The answer timeout's default: the slowest answer that is not a fault. That is an OAuth refresh
 * (its token request gives up after 10 s, core/oauth/oauth-client.ts) plus one keychain call
 * held up by an unlock prompt (at most 5 s, keychainTimeout; unlocked, the other calls take
 * milliseconds, and after a call that timed out the store fails at once), plus 5 s for the
 * remaining keychain and file calls on a busy machine. Longer than that the daemon is hung, and
 * every git operation waits with it (60 s before issue #12). Whoever raises the keychain timeout
 * raises this one with it.
 */
const SLOWEST_ANSWER_MS = 20_000;

/** A week: the longest idle time (Node timers cannot exceed about 24.8 days). */
const WEEK_SECONDS = 7 * 24 * 3600;

export const SETTINGS = {
  idleTimeout: {
    env: 'GIT_CREDENTIAL_BITBUCKET_IDLE_TIMEOUT',
    config: ['daemon', 'idleTimeoutSeconds'],
    unit: 'seconds',
    default: 3600,
    min: 1,
    max: WEEK_SECONDS,
    summary: 'the daemon exits after this long without a request',
  },
  refreshMargin: {
    env: 'GIT_CREDENTIAL_BITBUCKET_REFRESH_MARGIN',
    config: ['oauth', 'refreshMarginSeconds'],
    unit: 'seconds',
    default: 300,
    min: 0,
    max: 3600,
    summary: 'an OAuth access token is handed to git only while it stays valid this much longer',
  },
  startTimeout: {
    env: 'GIT_CREDENTIAL_BITBUCKET_START_TIMEOUT_MS',
    unit: 'milliseconds',
    default: 10_000,
    min: 100,
    max: 120_000,
    summary: 'how long the helper waits for a daemon it started',
  },
  answerTimeout: {
    env: 'GIT_CREDENTIAL_BITBUCKET_ANSWER_TIMEOUT_MS',
    unit: 'milliseconds',
    default: SLOWEST_ANSWER_MS,
    min: 100,
    max: 300_000,
    summary: 'how long the helper waits for the daemon to answer one request',
  },
  connectionTimeout: {
    env: 'GIT_CREDENTIAL_BITBUCKET_CONNECTION_TIMEOUT_MS',
    unit: 'milliseconds',
    // Our clients write their request as soon as they connect; 30 s covers a helper descheduled on
    // a loaded machine many times over, and still frees a held-open connection's descriptor soon.
    default: 30_000,
    min: 100,
    max: 600_000,
    summary: 'the daemon closes a connection that has sent no complete request for this long (never while answering it)',
  },
  keychainTimeout: {
    env: 'GIT_CREDENTIAL_BITBUCKET_KEYCHAIN_TIMEOUT_MS',
    unit: 'milliseconds',
    default: 5000,
    min: 100,
    max: 120_000,
    summary: 'each keychain call fails after this long instead of hanging on a prompt nobody answers',
  },
  secretCache: {
    env: 'GIT_CREDENTIAL_BITBUCKET_SECRET_CACHE_MS',
    config: ['daemon', 'secretCacheMs'],
    unit: 'milliseconds',
    // Long enough for the bursts of git operations a script or a working session makes; short
    // enough that a secret replaced or a keychain locked outside the product is seen within
    // minutes (daemon/secret-cache.ts). Changes through the product are seen at once anyway.
    default: 300_000,
    min: 0,
    max: 3_600_000,
    summary: 'the daemon answers from memory with a static secret it read from the keychain this recently; 0 asks the keychain every time',
  },
  logMaxBytes: {
    env: 'GIT_CREDENTIAL_BITBUCKET_LOG_MAX_BYTES',
    unit: 'bytes',
    default: 10 * 1024 * 1024,
    min: 4096,
    max: 1024 * 1024 * 1024,
    summary: 'daemon.log past this size becomes daemon.log.1 (replacing the previous one) and a new daemon.log starts',
  },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;

/** A setting's value, and why a value that was given was not used. */
export interface SettingValue {
  value: number;
  source: 'environment' | 'config' | 'default';
  /** An environment value outside the range (or not a number): ignored, and this says so. */
  problem?: string;
}

/** The documented range, as messages and the README say it. */
export function describeRange(setting: Setting): string {
  return `a number of ${setting.unit} from ${setting.min} to ${setting.max}`;
}

export function inRange(setting: Setting, value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= setting.min && value <= setting.max;
}

/**
 * The environment first, then config.json's value (already validated when the file was read),
 * then the default. A bad environment value is never used: the caller reports `problem`.
 */
export function readSetting(setting: Setting, env: Env, fromConfig?: number): SettingValue {
  const raw = env[setting.env];
  let problem: string | undefined;
  if (raw !== undefined && raw.trim() !== '') {
    const parsed = Number(raw);
    if (inRange(setting, parsed)) return { value: parsed, source: 'environment' };
    problem = `${setting.env}=${raw.length > 20 ? raw.slice(0, 20) + '…' : raw} was ignored: it must be ${describeRange(setting)}`;
  }
  const chosen: SettingValue = fromConfig !== undefined ? { value: fromConfig, source: 'config' } : { value: setting.default, source: 'default' };
  return problem ? { ...chosen, problem } : chosen;
}
