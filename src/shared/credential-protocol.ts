// Git's credential protocol (`git help credential`), parsed the way git's credential.c reads it.
// Shared by the thin helper (which validates before it talks to the daemon) and the daemon.

export const MAX_CREDENTIAL_INPUT_BYTES = 64 * 1024;

/** Single-valued attributes git sends or reads. Anything else is ignored, as git does. */
export const SCALAR_KEYS = [
  'protocol',
  'host',
  'path',
  'username',
  'password',
  'password_expiry_utc',
  'oauth_refresh_token',
  'authtype',
  'credential',
  'ephemeral',
  'continue',
  'quit',
] as const;
export type ScalarKey = (typeof SCALAR_KEYS)[number];

/** Multi-valued attributes (`key[]=`); an empty value clears the list, as in git. */
export const LIST_KEYS = ['wwwauth', 'capability', 'state'] as const;
export type ListKey = (typeof LIST_KEYS)[number];

export type Credential = { [K in ScalarKey]?: string } & { lists?: { [K in ListKey]?: string[] } };

export class CredentialInputError extends Error {}

const scalarKeys: ReadonlySet<string> = new Set(SCALAR_KEYS);
const listKeys: ReadonlySet<string> = new Set(LIST_KEYS);

/**
 * Parses the lines git writes to a helper. Reading stops at the first blank line, like git.
 * Error messages never quote a line: it may hold a password.
 */
export function parseCredential(input: Uint8Array): Credential {
  if (input.byteLength > MAX_CREDENTIAL_INPUT_BYTES) {
    throw new CredentialInputError(`input is larger than ${MAX_CREDENTIAL_INPUT_BYTES / 1024} KiB`);
  }
  if (input.includes(0)) throw new CredentialInputError('input contains a NUL byte');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    throw new CredentialInputError('input is not valid UTF-8');
  }
  const credential: Credential = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    if (line === '') break;
    const eq = line.indexOf('=');
    // git fails a line without "="; an empty key is merely unknown, and ignored like one.
    if (eq < 0) throw new CredentialInputError(`line ${i + 1} is not of the form key=value`);
    applyAttribute(credential, line.slice(0, eq), line.slice(eq + 1));
  }
  return credential;
}

function applyAttribute(credential: Credential, key: string, value: string): void {
  if (key === 'url') {
    replaceWithUrl(credential, value);
  } else if (key.endsWith('[]') && listKeys.has(key.slice(0, -2))) {
    const name = key.slice(0, -2) as ListKey;
    const lists = (credential.lists ??= {});
    if (value === '') delete lists[name];
    else (lists[name] ??= []).push(value);
  } else if (scalarKeys.has(key)) {
    credential[key as ScalarKey] = value;
  }
}

/**
 * `url=` behaves like git's credential_from_url(): it clears what was read so far and sets
 * protocol, user, password, host (with port) and path (slashes trimmed at both ends),
 * percent-decoding user, password, host and path.
 */
function replaceWithUrl(credential: Credential, url: string): void {
  const schemeEnd = url.indexOf('://');
  if (schemeEnd < 0) throw new CredentialInputError('url= value has no scheme (expected scheme://host/...)');
  for (const key of Object.keys(credential)) delete credential[key as ScalarKey | 'lists'];

  const rest = url.slice(schemeEnd + 3);
  const hostEnd = firstIndexOf(rest, '/?#');
  const at = rest.indexOf('@');
  let hostStart = 0;
  if (at >= 0 && at < hostEnd) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon < 0) {
      credential.username = percentDecode(userinfo);
    } else {
      credential.username = percentDecode(userinfo.slice(0, colon));
      credential.password = percentDecode(userinfo.slice(colon + 1));
    }
    hostStart = at + 1;
  }
  if (schemeEnd > 0) credential.protocol = url.slice(0, schemeEnd);
  credential.host = percentDecode(rest.slice(hostStart, hostEnd));
  const path = rest.slice(hostEnd).replace(/^\/+/, '').replace(/(.)\/+$/, '$1');
  if (path !== '') credential.path = percentDecode(path);
}

function firstIndexOf(text: string, chars: string): number {
  for (let i = 0; i < text.length; i++) if (chars.includes(text[i]!)) return i;
  return text.length;
}

function percentDecode(text: string): string {
  // git's url_decode leaves malformed escapes as they are; decodeURIComponent would throw.
  return text.replace(/(%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/**
 * Formats attributes for git. Refuses values git could misread: a newline would inject a key,
 * and git (2.47.1+, and Debian's patched 2.39.5) dies on a carriage return (CVE-2024-52006).
 */
export function formatCredential(attributes: ReadonlyArray<readonly [string, string]>): string {
  let out = '';
  for (const [key, value] of attributes) {
    if (/[\r\n\0=]/.test(key) || /[\r\n\0]/.test(value)) {
      throw new CredentialInputError(`attribute ${JSON.stringify(key)} cannot be sent to git`);
    }
    out += `${key}=${value}\n`;
  }
  return out;
}
