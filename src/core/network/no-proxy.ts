// Whether `no_proxy` exempts a host, with curl's rules, because git hands the variable to curl
// (git's http.c sets CURLOPT_NOPROXY from no_proxy, else NO_PROXY) and we must route like git:
// a comma-separated list; `*` alone matches every host; a name matches itself and every name
// below it (a leading dot changes nothing); IPv6 without brackets; since curl 7.86 an address
// may carry a CIDR suffix. Source: https://curl.se/libcurl/c/CURLOPT_NOPROXY.html

import { BlockList, isIP } from 'node:net';

/** The entry of `list` that exempts `hostname`, or undefined when the proxy is used. */
export function noProxyMatch(hostname: string, list: string): string | undefined {
  const host = bare(hostname);
  for (const raw of list.split(/[,\s]+/)) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (entry === '*') return entry;
    if (matches(host, entry)) return entry;
  }
  return undefined;
}

function matches(host: string, entry: string): boolean {
  const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
  if (cidr) return inCidr(host, bare(cidr[1]!), Number(cidr[2]));
  const name = bare(entry).replace(/^\.+/, '');
  if (isIP(name)) return isIP(host) !== 0 && sameAddress(host, name);
  return host === name || host.endsWith(`.${name}`);
}

function inCidr(host: string, network: string, bits: number): boolean {
  const family = isIP(network);
  if (family === 0 || isIP(host) !== family || bits > (family === 4 ? 32 : 128)) return false;
  const list = new BlockList();
  list.addSubnet(network, bits, family === 4 ? 'ipv4' : 'ipv6');
  return list.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

function sameAddress(a: string, b: string): boolean {
  return isIP(a) === isIP(b) && inCidr(a, b, isIP(b) === 4 ? 32 : 128);
}

/** Lower case, no brackets around IPv6, no trailing dot (the root), no port on a name. */
function bare(host: string): string {
  let value = host.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']') < 0 ? undefined : value.indexOf(']'));
  if (isIP(value) === 0 && /:\d+$/.test(value)) value = value.replace(/:\d+$/, '');
  return value.replace(/\.$/, '');
}
