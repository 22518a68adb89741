// How to reach one URL the way git would: which proxy, which CA certificates, whether the
// certificate is checked. Pure: git's http.* values for the URL (git-http-config.ts) and the
// environment in, a plan out, so every rule is tested without a network. The rules are git's:
// - proxy: `http.proxy` (URL-matched) first, an empty value meaning none; else for https
//   `https_proxy`, then `HTTPS_PROXY`, for http only `http_proxy`; else `all_proxy`, then
//   `ALL_PROXY`. A set variable wins even when empty (none). `no_proxy`, else `NO_PROXY`, exempts
//   hosts (no-proxy.ts). No scheme means http://; no port means 1080 (443 for an https proxy),
//   curl's defaults. Sources: git's http.c get_curl_handle(); git help config "http.proxy";
//   https://curl.se/libcurl/c/CURLOPT_PROXYPORT.html
// - CA: `GIT_SSL_CAINFO` over `http.sslCAInfo`, `GIT_SSL_CAPATH` over `http.sslCAPath`,
//   `GIT_PROXY_SSL_CAINFO` over `http.proxySSLCAInfo` (git help config, "http.sslCAInfo").
//   Given, they replace the built-in list of public CAs, as they do for curl.
// - `http.sslVerify` false, or `GIT_SSL_NO_VERIFY` set to anything, turns the certificate check
//   off (git help git, "GIT_SSL_NO_VERIFY").

import { homedir } from 'node:os';
import type { GitHttpConfig } from './git-http-config.js';
import { noProxyMatch } from './no-proxy.js';

export interface ProxySetting {
  /** The proxy with any credentials in it: for the connection only, never printed. */
  url: URL;
  /** scheme://host:port without credentials, for messages. */
  shown: string;
  /** Where it was set, for messages: "git config http.proxy", "https_proxy". */
  source: string;
}

export interface FileSetting {
  path: string;
  source: string;
}

export interface ConnectionPlan {
  proxy?: ProxySetting;
  /** Why no proxy is used although one was named (no_proxy, an empty http.proxy). */
  bypass?: string;
  caFile?: FileSetting;
  caPath?: FileSetting;
  proxyCaFile?: FileSetting;
  /** Where the certificate check was turned off; undefined while it is on. */
  verifyOff?: string;
  /** A setting that cannot be followed: which part of the road, and the whole sentence to show. */
  unusable?: { kind: 'proxy' | 'tls'; message: string };
}

export function planConnection(target: URL, git: GitHttpConfig, env: NodeJS.ProcessEnv): ConnectionPlan {
  const plan: ConnectionPlan = {};
  const named = namedProxy(target, git, env);
  if (named && named.value === '') {
    plan.bypass = `${named.source} is set empty`;
  } else if (named) {
    const exempt = exemptingEntry(target, env);
    if (exempt) plan.bypass = `${exempt.source} entry "${exempt.entry}" covers ${target.hostname}`;
    else {
      const proxy = parseProxy(named.value, named.source);
      if (typeof proxy === 'string') plan.unusable = { kind: 'proxy', message: proxy };
      else plan.proxy = proxy;
    }
  }
  const caFile = fileSetting(env, 'GIT_SSL_CAINFO', git, 'sslcainfo', 'http.sslCAInfo');
  if (caFile) plan.caFile = caFile;
  const caPath = fileSetting(env, 'GIT_SSL_CAPATH', git, 'sslcapath', 'http.sslCAPath');
  if (caPath) plan.caPath = caPath;
  const proxyCaFile = fileSetting(env, 'GIT_PROXY_SSL_CAINFO', git, 'proxysslcainfo', 'http.proxySSLCAInfo');
  if (proxyCaFile) plan.proxyCaFile = proxyCaFile;
  if (env.GIT_SSL_NO_VERIFY !== undefined) plan.verifyOff = 'GIT_SSL_NO_VERIFY is set';
  else {
    const verify = git.get('sslverify');
    const on = verify === undefined ? true : gitBoolean(verify);
    if (on === undefined) plan.unusable ??= { kind: 'tls', message: `git config http.sslVerify is "${verify}", which is not a boolean (git refuses it too): fix it with git config --global http.sslVerify true` };
    else if (!on) plan.verifyOff = 'git config http.sslVerify is false';
  }
  return plan;
}

/** Whether plain fetch (Node's public CA list, no proxy, checked certificates) would differ. */
export function isDirectAndDefault(plan: ConnectionPlan): boolean {
  return !plan.proxy && !plan.caFile && !plan.caPath && !plan.verifyOff && !plan.unusable;
}

/** One line for `doctor`: the proxy and the CA certificates a request to this URL uses. */
export function describePlan(plan: ConnectionPlan): string {
  const proxy = plan.proxy ? `proxy ${plan.proxy.shown} (${plan.proxy.source})` : `direct, no proxy${plan.bypass ? ` (${plan.bypass})` : ''}`;
  const files = [plan.caFile, plan.caPath].filter((file): file is FileSetting => file !== undefined);
  const ca = files.length ? `CA certificates from ${files.map((file) => `${file.path} (${file.source})`).join(' and ')}` : "Node's built-in public CA list (git names no http.sslCAInfo)";
  const proxyCa = plan.proxyCaFile && plan.proxy?.url.protocol === 'https:' ? `; the proxy's certificate checked against ${plan.proxyCaFile.path} (${plan.proxyCaFile.source})` : '';
  return `${proxy}; ${ca}${proxyCa}`;
}

function namedProxy(target: URL, git: GitHttpConfig, env: NodeJS.ProcessEnv): { value: string; source: string } | undefined {
  const configured = git.get('proxy');
  if (configured !== undefined) return { value: configured === true ? '' : configured.trim(), source: 'git config http.proxy' };
  const names = target.protocol === 'https:' ? ['https_proxy', 'HTTPS_PROXY'] : ['http_proxy'];
  for (const name of [...names, 'all_proxy', 'ALL_PROXY']) {
    const value = env[name];
    if (value !== undefined) return { value: value.trim(), source: name };
  }
  return undefined;
}

function exemptingEntry(target: URL, env: NodeJS.ProcessEnv): { entry: string; source: string } | undefined {
  const source = env.no_proxy !== undefined ? 'no_proxy' : env.NO_PROXY !== undefined ? 'NO_PROXY' : undefined;
  if (!source) return undefined;
  const entry = noProxyMatch(target.hostname, env[source]!);
  return entry === undefined ? undefined : { entry, source };
}

/** The proxy setting, or the sentence saying why it cannot be used. */
function parseProxy(value: string, source: string): ProxySetting | string {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    return `${source} is not a proxy URL we can read: use http://host:port`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `${source} names a ${url.protocol.replace(/:$/, '')} proxy (${url.hostname}), which git-credential-bitbucket cannot use: give it an http:// or https:// proxy`;
  }
  // An https proxy's 443 is the URL's own default, so only http needs curl's 1080 set.
  if (url.port === '' && url.protocol === 'http:') url.port = '1080';
  return { url, shown: `${url.protocol}//${url.hostname}:${url.port || '443'}`, source };
}

function fileSetting(env: NodeJS.ProcessEnv, variable: string, git: GitHttpConfig, key: string, name: string): FileSetting | undefined {
  const fromEnv = env[variable];
  if (fromEnv) return { path: fromEnv, source: variable };
  const configured = git.get(key);
  if (typeof configured === 'string' && configured !== '') return { path: expandHome(configured), source: `git config ${name}` };
  return undefined;
}

/** git expands a leading ~/ in path settings (git help config, "pathname"). */
function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

/** git's boolean: true/yes/on/1 or no value; false/no/off/0 or empty; other integers true. */
function gitBoolean(value: string | true): boolean | undefined {
  if (value === true) return true;
  const lower = value.trim().toLowerCase();
  if (['true', 'yes', 'on'].includes(lower)) return true;
  if (['false', 'no', 'off', ''].includes(lower)) return false;
  return /^-?\d+$/.test(lower) ? Number(lower) !== 0 : undefined;
}
