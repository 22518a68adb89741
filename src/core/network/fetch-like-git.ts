// Every request to Bitbucket (REST checks, `route suggest`, OAuth token requests) goes through
// here, so it takes the road git takes: git's proxy, CA certificates and certificate-check
// settings for that URL (connection-plan.ts). With none of them set this is plain fetch, and
// undici (Node 20's fetch has no proxy or CA option; undici's ProxyAgent and Agent give one) is
// loaded only when a request needs it: most people pay nothing. What git's config says is read
// once per origin (per URL only where a `http.<url>.*` key has a path: settings-scope.ts) and
// read again when a git config file changes. A proxy that refuses or cannot be reached is
// reported as the proxy's fault, naming it and where it was set, never its password.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HANDED_OVER_EXTRA_CA } from '../../shared/extra-ca.js';
import { describePlan, isDirectAndDefault, planConnection, type ConnectionPlan, type FileSetting } from './connection-plan.js';
import { fileIdentity } from '../files.js';
import { gitConfigSignature, readGitHttpConfig, readGitHttpKeyUrls } from './git-http-config.js';
import { settingsScope } from './settings-scope.js';

/** A proxy or CA setting that stops the request, with the whole sentence to show. */
export class NetworkSetupError extends Error {
  constructor(
    readonly kind: 'proxy' | 'tls',
    message: string,
  ) {
    super(message);
  }
}

type Warn = (line: string) => void;
let warn: Warn = (line) => process.stderr.write(`git-credential-bitbucket: warning: ${line}\n`);
const warned = new Set<string>();

/** Where warnings go (the CLI: stderr; the daemon: its log). */
export function onNetworkWarning(sink: Warn): void {
  warn = sink;
}

/** Plans by settings scope (settings-scope.ts), each for the git config files' state it was read in. */
const plans = new Map<string, { signature: string; plan: Promise<ConnectionPlan> }>();
let keyUrls: { signature: string; urls: Promise<string[] | undefined> } | undefined;

/** The plan for `url` as git's config and this process's environment say now. */
export async function connectionPlanFor(url: string | URL, env: NodeJS.ProcessEnv = process.env): Promise<ConnectionPlan> {
  const target = new URL(url);
  const signature = gitConfigSignature(env);
  if (keyUrls?.signature !== signature) keyUrls = { signature, urls: readGitHttpKeyUrls(env) };
  const scope = settingsScope(target, await keyUrls.urls);
  const cached = plans.get(scope);
  if (cached?.signature === signature) return cached.plan;
  // The promise itself is kept, so requests made at the same time share one `git config`.
  const plan = readGitHttpConfig(scope, env).then((git) => planConnection(target, git, env));
  plans.set(scope, { signature, plan });
  return plan;
}

/** One line for `doctor` about `url`. */
export async function describeConnection(url: string): Promise<{ line: string; problem?: string }> {
  const plan = await connectionPlanFor(url);
  if (plan.unusable) return { line: describePlan(plan), problem: plan.unusable.message };
  if (plan.verifyOff) return { line: describePlan(plan), problem: verifyOffLine(new URL(url), plan.verifyOff) };
  try {
    trustOptions(plan, undefined);
  } catch (error) {
    if (error instanceof NetworkSetupError) return { line: describePlan(plan), problem: error.message };
    throw error;
  }
  return { line: describePlan(plan) };
}

/** fetch() for a request to Bitbucket, through git's proxy and with git's CA certificates. */
export async function fetchLikeGit(url: string, init: RequestInit = {}): Promise<Response> {
  const target = new URL(url);
  const plan = await connectionPlanFor(target);
  // Certificates matter only where TLS is spoken: a plain-http request (a local Data Center) with
  // no https proxy stays on plain fetch.
  const tls = target.protocol === 'https:' || plan.proxy?.url.protocol === 'https:';
  const defaultCa = tls ? await handedOverCa() : undefined;
  if (isDirectAndDefault(plan) && !defaultCa) return fetch(url, init);
  if (plan.unusable) throw new NetworkSetupError(plan.unusable.kind, plan.unusable.message);
  if (plan.verifyOff && !warned.has(`${target.origin} ${plan.verifyOff}`)) {
    warned.add(`${target.origin} ${plan.verifyOff}`);
    warn(verifyOffLine(target, plan.verifyOff));
  }
  const { fetch: undiciFetch, dispatcher } = await dispatcherFor(plan, defaultCa);
  try {
    return (await undiciFetch(url, { ...(init as object), dispatcher })) as unknown as Response;
  } catch (error) {
    throw plan.proxy ? (proxyFault(error, plan, target) ?? error) : error;
  }
}

function verifyOffLine(target: URL, source: string): string {
  return `TLS certificates of ${target.host} are not checked (${source}, as for git): anyone on the network path can read the credentials sent; point http.sslCAInfo at your company's CA file instead`;
}

type Undici = typeof import('undici');
interface Road {
  fetch: Undici['fetch'];
  dispatcher: InstanceType<Undici['Agent']> | InstanceType<Undici['ProxyAgent']>;
}
const roads = new Map<string, Road>();

async function dispatcherFor(plan: ConnectionPlan, defaultCa: string[] | undefined): Promise<Road> {
  const files = [plan.caFile, plan.caPath, plan.proxyCaFile].filter((file): file is FileSetting => file !== undefined);
  // The same settings and unchanged files reuse one dispatcher (and its open connections).
  const key = JSON.stringify([plan.proxy?.url.href, plan.verifyOff, files.map((file) => [file.path, fileIdentity(file.path)?.identity]), defaultCa !== undefined]);
  const known = roads.get(key);
  if (known) return known;
  const { request, proxy } = trustOptions(plan, defaultCa);
  const { Agent, ProxyAgent, fetch } = await import('undici');
  const dispatcher = plan.proxy ? new ProxyAgent({ uri: plan.proxy.url.href, requestTls: request, proxyTls: proxy }) : new Agent({ connect: request });
  const road = { fetch, dispatcher };
  roads.set(key, road);
  return road;
}

interface Trust {
  rejectUnauthorized: boolean;
  /** Absent: Node's built-in list of public CAs. */
  ca?: string[];
}

/**
 * TLS options for Bitbucket and for an https proxy; throws NetworkSetupError for a CA file that
 * cannot serve. git's CA settings replace the default list, as in git; `defaultCa` stands for
 * the default list where Node was kept from reading NODE_EXTRA_CA_CERTS.
 */
function trustOptions(plan: ConnectionPlan, defaultCa: string[] | undefined): { request: Trust; proxy: Trust } {
  const rejectUnauthorized = !plan.verifyOff;
  const ca = [...(plan.caFile ? certificatesIn(plan.caFile, false) : []), ...(plan.caPath ? certificatesIn(plan.caPath, true) : [])];
  const proxyCa = plan.proxyCaFile ? certificatesIn(plan.proxyCaFile, false) : [];
  const trust = (list: string[]): Trust => ({ rejectUnauthorized, ...(list.length ? { ca: list } : defaultCa && { ca: defaultCa }) });
  return { request: trust(ca), proxy: trust(proxyCa) };
}

let handedOver: Promise<string[] | undefined> | undefined;

/**
 * In the daemon, started with NODE_EXTRA_CA_CERTS handed over rather than read by Node
 * (shared/extra-ca.ts): Node's built-in list plus that file's certificates, read once, as Node
 * would have. Like Node, a file that cannot be read is warned about and left out.
 */
function handedOverCa(): Promise<string[] | undefined> {
  handedOver ??= (async () => {
    const file = process.env[HANDED_OVER_EXTRA_CA];
    if (!file) return undefined;
    let extra: string[];
    try {
      extra = readFileSync(file, 'utf8').match(PEM) ?? [];
    } catch (error) {
      warn(`NODE_EXTRA_CA_CERTS names ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}); using Node's built-in CA list`);
      return undefined;
    }
    if (extra.length === 0) return undefined;
    const { rootCertificates } = await import('node:tls');
    return [...rootCertificates, ...extra];
  })();
  return handedOver;
}

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function certificatesIn(setting: FileSetting, directory: boolean): string[] {
  const found: string[] = [];
  try {
    // A directory holds one certificate per file (c_rehash links, .pem files); what is not one is skipped, as curl does.
    const files = directory ? readdirSync(setting.path).map((entry) => join(setting.path, entry)) : [setting.path];
    for (const file of files) {
      try {
        found.push(...(readFileSync(file, 'utf8').match(PEM) ?? []));
      } catch (error) {
        if (!directory) throw error;
      }
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new NetworkSetupError('tls', `${setting.source} names ${setting.path}, which cannot be read (${code}): fix the path (git cannot use it either)`);
  }
  if (found.length === 0) throw new NetworkSetupError('tls', `${setting.source} names ${setting.path}, which holds no PEM certificate: point it at your CA's PEM file`);
  return found;
}

const PROXY_UNREACHABLE = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'];

/** The proxy's part in a failed request, as one sentence; undefined when the proxy is not to blame. */
function proxyFault(error: unknown, plan: ConnectionPlan, target: URL): NetworkSetupError | undefined {
  const proxy = plan.proxy!;
  const where = `the proxy ${proxy.shown} (${proxy.source})`;
  // undici nests the reason: TypeError "fetch failed" ← DOMException ← the connector's error.
  const causes: Array<{ code?: string; message?: string }> = [];
  for (let cause = (error as { cause?: unknown }).cause; cause && causes.length < 5; cause = (cause as { cause?: unknown }).cause) causes.push(cause as { code?: string; message?: string });
  const status = causes.map((cause) => /Proxy response \((\d+)\)|Proxy Authentication Required \((\d+)\)/.exec(cause.message ?? '')).find(Boolean)?.slice(1).find(Boolean);
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  if (status === '407') {
    return new NetworkSetupError('proxy', `${where} wants a login (HTTP 407): give the user and password in the proxy URL (http://user:password@host:port), as git-credential-bitbucket cannot ask for them`);
  }
  if (status) {
    return new NetworkSetupError('proxy', `${where} refused to connect to ${target.hostname}:${port} (HTTP ${status}): ask whoever runs the proxy to allow it, or exempt the host with no_proxy if it is reachable directly`);
  }
  const code = causes.map((cause) => cause.code).find((candidate) => candidate && PROXY_UNREACHABLE.includes(candidate));
  if (code) {
    return new NetworkSetupError('proxy', `cannot reach ${where}: ${code}; check the proxy setting, or unset it if this network needs none`);
  }
  return undefined;
}
