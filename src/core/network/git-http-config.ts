// git's own `http.*` settings for one URL, read from git itself so that `http.<url>.*` matching,
// includes and the system/global/XDG files follow git's rules exactly: `git config -z
// --get-urlmatch http <url>` prints every http key with the value that best matches the URL
// (git help config, "--get-urlmatch" and "http.<url>.*"). Requests we make are for no repository,
// so a repository's own .git/config is left out (GIT_DIR names no repository), and so is one git
// command's `-c` (GIT_CONFIG_PARAMETERS), which a daemon started by that command would inherit.

import { execFile } from 'node:child_process';
import { devNull, homedir } from 'node:os';
import { join } from 'node:path';
import { fileIdentity } from '../files.js';

/** Key (lower case, without `http.`) → value; `true` is a key written without `=` ("[http] sslVerify"). */
export type GitHttpConfig = ReadonlyMap<string, string | true>;

const GIT_TIMEOUT_MS = 10_000;

export async function readGitHttpConfig(url: string, env: NodeJS.ProcessEnv = process.env): Promise<GitHttpConfig> {
  // No http key at all, or no git on PATH, leaves git's defaults, which is what git would use.
  return parse((await runGitConfig(['-z', '--get-urlmatch', 'http', url], env)) ?? '');
}

/**
 * The `<url>` of every `http.<url>.<key>` setting, as written (one `git config` for all URLs,
 * so that the URL-specific lookups above are needed only where such a key could apply);
 * undefined when git could not say.
 */
export async function readGitHttpKeyUrls(env: NodeJS.ProcessEnv = process.env): Promise<string[] | undefined> {
  const output = await runGitConfig(['-z', '--name-only', '--get-regexp', '^http\\..+\\.[^.]+$'], env);
  // The section and the key name hold no dot, so the URL is everything between the first and the last.
  const names = output?.split('\0').filter((name) => name !== '');
  return names && [...new Set(names.map((name) => name.slice(name.indexOf('.') + 1, name.lastIndexOf('.'))))];
}

/**
 * `git config ARGS`' output, as git would read its config outside any repository: '' when
 * nothing matched (exit 1), undefined when git failed otherwise or is missing.
 */
function runGitConfig(args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const gitEnv: NodeJS.ProcessEnv = { ...env, GIT_DIR: devNull };
  for (const key of Object.keys(gitEnv)) if (key === 'GIT_CONFIG_PARAMETERS' || key.startsWith('GIT_CONFIG_COUNT') || /^GIT_CONFIG_(KEY|VALUE)_\d+$/.test(key)) delete gitEnv[key];
  return new Promise((resolve) => {
    execFile('git', ['config', ...args], { env: gitEnv, timeout: GIT_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout) => {
      if (!error || stdout) resolve(stdout);
      else resolve(error.code === 1 ? '' : undefined);
    });
  });
}

function parse(output: string): GitHttpConfig {
  const values = new Map<string, string | true>();
  for (const entry of output.split('\0')) {
    if (entry === '') continue;
    const newline = entry.indexOf('\n');
    const key = (newline < 0 ? entry : entry.slice(0, newline)).toLowerCase().replace(/^http\./, '');
    values.set(key, newline < 0 ? true : entry.slice(newline + 1));
  }
  return values;
}

/**
 * Changes whenever one of git's config files does (stat identity), so a cache of what was read
 * is dropped when someone edits the proxy or CA setting. A file included from these, or a system
 * file outside /etc, is seen at the next change of these or the next daemon start.
 */
export function gitConfigSignature(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME ?? homedir();
  const files = [
    ...(env.GIT_CONFIG_NOSYSTEM ? [] : [env.GIT_CONFIG_SYSTEM ?? '/etc/gitconfig']),
    ...(env.GIT_CONFIG_GLOBAL !== undefined ? [env.GIT_CONFIG_GLOBAL] : [join(home, '.gitconfig'), join(env.XDG_CONFIG_HOME || join(home, '.config'), 'git', 'config')]),
  ];
  return files.map((file) => `${file}:${fileIdentity(file)?.identity ?? '-'}`).join('|');
}
