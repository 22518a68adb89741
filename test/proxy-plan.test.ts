// The rules that choose a proxy, CA certificates and the certificate check for one URL, as git
// and curl apply them (src/core/network/connection-plan.ts, no-proxy.ts), without a network.

import test from 'ava';
import { planConnection } from '../src/core/network/connection-plan.js';
import { noProxyMatch } from '../src/core/network/no-proxy.js';

const https = new URL('https://bitbucket.org/acme/widgets.git');
const http = new URL('http://127.0.0.1:7990/scm/x.git');
const git = (values: Record<string, string | true> = {}) => new Map(Object.entries(values));

test('git config http.proxy wins over the environment; empty means no proxy', (t) => {
  const env = { https_proxy: 'http://env-proxy:3128' };
  t.is(planConnection(https, git({ proxy: 'http://corp:8080' }), env).proxy?.shown, 'http://corp:8080');
  t.is(planConnection(https, git({ proxy: 'http://corp:8080' }), env).proxy?.source, 'git config http.proxy');
  const empty = planConnection(https, git({ proxy: '' }), env);
  t.is(empty.proxy, undefined);
  t.is(empty.bypass, 'git config http.proxy is set empty');
});

test('the environment in git\'s order: https_proxy over HTTPS_PROXY, http_proxy only in lower case, then all_proxy', (t) => {
  t.is(planConnection(https, git(), { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2' }).proxy?.source, 'https_proxy');
  t.is(planConnection(https, git(), { HTTPS_PROXY: 'http://upper:1' }).proxy?.source, 'HTTPS_PROXY');
  t.is(planConnection(https, git(), { http_proxy: 'http://plain:1' }).proxy, undefined, 'http_proxy is not for https');
  t.is(planConnection(http, git(), { HTTP_PROXY: 'http://upper:1' }).proxy, undefined, 'curl ignores HTTP_PROXY');
  t.is(planConnection(http, git(), { http_proxy: 'http://plain:1' }).proxy?.shown, 'http://plain:1');
  t.is(planConnection(https, git(), { ALL_PROXY: 'http://all:1', all_proxy: 'http://all-lower:2' }).proxy?.shown, 'http://all-lower:2');
  t.is(planConnection(https, git(), { https_proxy: '', all_proxy: 'http://all:1' }).proxy, undefined, 'a set but empty variable means none');
});

test('curl\'s defaults: no scheme is http, no port is 1080 (443 for an https proxy); credentials never shown; SOCKS is refused with a sentence', (t) => {
  const plain = planConnection(https, git({ proxy: 'user:pa55word@corp' }), {}).proxy!;
  t.is(plain.shown, 'http://corp:1080');
  t.is(plain.url.password, 'pa55word');
  t.is(planConnection(https, git({ proxy: 'https://corp' }), {}).proxy?.shown, 'https://corp:443');
  const socks = planConnection(https, git({ proxy: 'socks5://corp:1080' }), {});
  t.is(socks.proxy, undefined);
  t.is(socks.unusable?.kind, 'proxy');
  t.regex(socks.unusable?.message ?? '', /git config http\.proxy names a socks5 proxy \(corp\), which git-credential-bitbucket cannot use/);
});

test('no_proxy over NO_PROXY exempts a host, its subdomains, addresses and ranges', (t) => {
  const env = { https_proxy: 'http://corp:3128' };
  t.regex(planConnection(https, git(), { ...env, no_proxy: 'example.com,.bitbucket.org' }).bypass ?? '', /no_proxy entry "\.bitbucket\.org" covers bitbucket\.org/);
  t.truthy(planConnection(https, git(), { ...env, NO_PROXY: 'bitbucket.org', no_proxy: 'other.org' }).proxy, 'lower case wins');
  t.truthy(planConnection(https, git({ proxy: 'http://corp:1' }), { no_proxy: '*' }).bypass, 'also for http.proxy, as git passes no_proxy to curl');
  t.is(noProxyMatch('api.bitbucket.org', 'bitbucket.org'), 'bitbucket.org');
  t.is(noProxyMatch('notbitbucket.org', 'bitbucket.org'), undefined);
  t.is(noProxyMatch('10.1.2.3', '10.0.0.0/8'), '10.0.0.0/8');
  t.is(noProxyMatch('11.1.2.3', '10.0.0.0/8'), undefined);
  t.is(noProxyMatch('[::1]', '::1'), '::1');
  t.is(noProxyMatch('git.corp', ' git.corp:443 '), 'git.corp:443');
});

test('CA files: the environment over git config, ~ expanded; the certificate check off by http.sslVerify or GIT_SSL_NO_VERIFY', (t) => {
  const plan = planConnection(https, git({ sslcainfo: '~/corp-ca.pem', sslcapath: '/etc/corp/certs' }), { HOME: '/home/alice' });
  t.is(plan.caFile?.source, 'git config http.sslCAInfo');
  t.true(plan.caFile?.path.endsWith('/corp-ca.pem') && !plan.caFile.path.startsWith('~'));
  t.is(plan.caPath?.path, '/etc/corp/certs');
  t.deepEqual(planConnection(https, git({ sslcainfo: '/a.pem' }), { GIT_SSL_CAINFO: '/b.pem' }).caFile, { path: '/b.pem', source: 'GIT_SSL_CAINFO' });
  t.is(planConnection(https, git(), {}).verifyOff, undefined);
  t.is(planConnection(https, git({ sslverify: true }), {}).verifyOff, undefined, 'a key without a value is true');
  t.is(planConnection(https, git({ sslverify: 'off' }), {}).verifyOff, 'git config http.sslVerify is false');
  t.is(planConnection(https, git({ sslverify: 'true' }), { GIT_SSL_NO_VERIFY: '' }).verifyOff, 'GIT_SSL_NO_VERIFY is set', 'any value, even empty');
  t.regex(planConnection(https, git({ sslverify: 'maybe' }), {}).unusable?.message ?? '', /http\.sslVerify is "maybe", which is not a boolean/);
});
