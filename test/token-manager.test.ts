// The token lifecycle as a state machine, without a network: a scripted token endpoint, a fake
// clock, and a real file store in a temporary directory (recording the order of writes).

import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Account } from '../src/core/accounts.js';
import { AccountStateBook } from '../src/core/account-state.js';
import { OAuthRejectedError, OAuthUnavailableError, type TokenSet } from '../src/core/oauth/oauth-client.js';
import { TokenManager, type TokenRefresher } from '../src/daemon/oauth/token-manager.js';
import { FileSecretStore } from '../src/core/secrets/file-store.js';
import type { SecretRef } from '../src/core/secrets/secret-store.js';

const account: Account = { name: 'work', kind: 'cloud', url: 'https://bitbucket.org', username: 'alice', oauth: { clientId: 'client', redirectPort: 47823 } };
const MARGIN_MS = 60_000;

class ScriptedEndpoint implements TokenRefresher {
  calls: string[] = [];
  next: Array<(refreshToken: string) => TokenSet | Error | Promise<TokenSet | Error>> = [];
  delayMs = 0;
  private serial = 0;
  constructor(private readonly clock: { now: number }) {}

  async refresh(_account: Account, _secret: string | undefined, refreshToken: string): Promise<TokenSet> {
    this.calls.push(refreshToken);
    if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const step = this.next.shift() ?? (() => this.rotate());
    const outcome = await step(refreshToken);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }

  rotate(lifetimeMs = 3600_000): TokenSet {
    this.serial++;
    return { accessToken: `access-${this.serial}-xxxxxxxx`, refreshToken: `refresh-${this.serial}-xxxxxxxx`, expiresAt: this.clock.now + lifetimeMs };
  }
}

async function setup(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-tokens-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = { now: 1_800_000_000_000 };
  const writes: string[] = [];
  const store = new FileSecretStore(join(dir, 'secrets.json'));
  const set = store.set.bind(store);
  store.set = async (ref: SecretRef, value: string) => {
    writes.push(ref.slot);
    await set(ref, value);
  };
  await set({ account: 'work', slot: 'oauth-refresh' }, 'refresh-0-initial');
  const endpoint = new ScriptedEndpoint(clock);
  const states = new AccountStateBook(join(dir, 'state.json'));
  const make = () => new TokenManager({ store, states, client: endpoint, log: pino({ enabled: false }), marginMs: () => MARGIN_MS, now: () => clock.now });
  return { clock, store, writes, endpoint, states, make, manager: make() };
}

test('a valid cached token is handed out without a refresh; inside the margin it is refreshed first', async (t) => {
  const { clock, endpoint, manager, writes } = await setup(t);
  const first = await manager.accessToken(account);
  t.like(first, { kind: 'token', token: 'access-1-xxxxxxxx' });
  t.deepEqual(endpoint.calls, ['refresh-0-initial']);
  t.deepEqual(writes, ['oauth-refresh', 'oauth-access'], 'the rotated refresh token is stored before the access token');
  clock.now += 3600_000 - MARGIN_MS - 1000;
  t.like(await manager.accessToken(account), { token: 'access-1-xxxxxxxx' });
  t.is(endpoint.calls.length, 1);
  clock.now += 2000; // now inside the margin
  t.like(await manager.accessToken(account), { token: 'access-2-xxxxxxxx' });
  t.deepEqual(endpoint.calls, ['refresh-0-initial', 'refresh-1-xxxxxxxx']);
});

test('200 concurrent gets share one refresh', async (t) => {
  const { endpoint, manager } = await setup(t);
  endpoint.delayMs = 50;
  const results = await Promise.all(Array.from({ length: 200 }, () => manager.accessToken(account)));
  t.is(endpoint.calls.length, 1);
  t.true(results.every((result) => result.kind === 'token' && result.token === 'access-1-xxxxxxxx'));
});

test('gets arriving while a slow store is read and a refresh ends still make one refresh', async (t) => {
  const { endpoint, store, make } = await setup(t);
  const get = store.get.bind(store);
  store.get = async (ref) => {
    await new Promise((resolve) => setTimeout(resolve, 20)); // a keychain after a restart
    return get(ref);
  };
  const manager = make();
  endpoint.delayMs = 30;
  const calls: Array<Promise<unknown>> = [];
  for (let i = 0; i < 60; i++) {
    calls.push(manager.accessToken(account));
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  await Promise.all(calls);
  t.is(endpoint.calls.length, 1);
});

test('a removed and re-added account of the same name never gets the old account\'s token', async (t) => {
  const { manager, store } = await setup(t);
  t.like(await manager.accessToken(account), { token: 'access-1-xxxxxxxx' });
  await store.delete({ account: 'work', slot: 'oauth-access' });
  await store.delete({ account: 'work', slot: 'oauth-refresh' });
  const other: Account = { ...account, url: 'https://git.other.example', kind: 'datacenter' };
  t.like(await manager.accessToken(other), { kind: 'needs-login' });
  t.is(await manager.currentToken(other), undefined);
});

test('a rotated refresh token the store refuses is kept in memory and stored on the next refresh', async (t) => {
  const { clock, endpoint, manager, store } = await setup(t);
  const set = store.set.bind(store);
  let refuse = true;
  store.set = async (ref, value) => {
    if (refuse && ref.slot === 'oauth-refresh') throw new Error('keychain locked');
    await set(ref, value);
  };
  t.like(await manager.accessToken(account), { token: 'access-1-xxxxxxxx' });
  t.is(await store.get({ account: 'work', slot: 'oauth-refresh' }), 'refresh-0-initial');
  refuse = false;
  clock.now += 3600_000;
  t.like(await manager.accessToken(account), { token: 'access-2-xxxxxxxx' });
  t.deepEqual(endpoint.calls, ['refresh-0-initial', 'refresh-1-xxxxxxxx'], 'the rotated token was used, not the spent one');
  t.is(await store.get({ account: 'work', slot: 'oauth-refresh' }), 'refresh-2-xxxxxxxx');
});

test('a login during a refresh waits for it and wins: the refresh result is not kept over it', async (t) => {
  const { clock, endpoint, manager, store } = await setup(t);
  let loggedIn: Promise<boolean> | undefined;
  endpoint.next.push((refreshToken) => {
    // `login` hands over a new grant while the token request is under way.
    loggedIn = manager.login(account, { token: 'access-from-login', expiresAt: clock.now + 3600_000 }, 'refresh-from-login');
    return { accessToken: 'access-old-grant-xxxx', refreshToken: `${refreshToken}-rotated`, expiresAt: clock.now + 3600_000 };
  });
  const result = await manager.accessToken(account);
  t.like(result, { kind: 'token', token: 'access-old-grant-xxxx' }, 'the get that started the refresh gets its token');
  t.true(await loggedIn!, 'the login replaced a grant');
  t.is(await store.get({ account: 'work', slot: 'oauth-refresh' }), 'refresh-from-login');
  t.like(await manager.accessToken(account), { kind: 'token', token: 'access-from-login' });
  t.is(await manager.currentToken(account), 'access-from-login');
  t.is(endpoint.calls.length, 1);
});

test('logout drops both tokens, waits for a refresh under way, and the next get needs login', async (t) => {
  const { endpoint, manager, store } = await setup(t);
  let loggedOut: Promise<boolean> | undefined;
  endpoint.next.push(() => {
    loggedOut = manager.logout('work');
    return endpoint.rotate();
  });
  t.like(await manager.accessToken(account), { kind: 'token', token: 'access-1-xxxxxxxx' });
  t.true(await loggedOut!);
  t.is(await store.get({ account: 'work', slot: 'oauth-refresh' }), undefined, 'the rotated refresh token stored by the refresh is gone too');
  t.is(await store.get({ account: 'work', slot: 'oauth-access' }), undefined);
  t.is(await manager.currentToken(account), undefined);
  t.like(await manager.accessToken(account), { kind: 'needs-login', reason: 'it has not logged in with OAuth yet' });
  t.false(await manager.logout('work'), 'nothing left to drop');
  t.is(endpoint.calls.length, 1);
});

test('logout also drops a rotated refresh token the store refused', async (t) => {
  const { clock, endpoint, manager, store } = await setup(t);
  const set = store.set.bind(store);
  store.set = async (ref, value) => {
    if (ref.slot === 'oauth-refresh') throw new Error('keychain locked');
    await set(ref, value);
  };
  await manager.accessToken(account);
  t.true(await manager.logout('work'));
  clock.now += 3600_000;
  t.like(await manager.accessToken(account), { kind: 'needs-login' }, 'the token kept in memory went with the logout');
  t.is(endpoint.calls.length, 1);
});

test('a restarted manager continues from the stored refresh token and never sends an old one', async (t) => {
  const { clock, endpoint, make } = await setup(t);
  await make().accessToken(account);
  clock.now += 3600_000;
  const restarted = make();
  t.like(await restarted.accessToken(account), { token: 'access-2-xxxxxxxx' });
  t.deepEqual(endpoint.calls, ['refresh-0-initial', 'refresh-1-xxxxxxxx']);
});

test('invalid_grant: needs login, no more attempts with that token, also after a restart; a new login clears it', async (t) => {
  const { endpoint, manager, store, states, make } = await setup(t);
  endpoint.next.push(() => new OAuthRejectedError('invalid_grant', 'invalid_grant: token revoked'));
  t.like(await manager.accessToken(account), { kind: 'needs-login' });
  t.like(await manager.accessToken(account), { kind: 'needs-login' });
  t.is(endpoint.calls.length, 1, 'a rejected refresh token is not sent again');
  t.truthy(states.get('work').needsLogin);
  t.is(await store.get({ account: 'work', slot: 'oauth-refresh' }), 'refresh-0-initial', 'nothing is deleted');
  t.like(await make().accessToken(account), { kind: 'needs-login' }, 'a restarted daemon remembers the refusal');
  t.is(endpoint.calls.length, 1);
  await manager.login(account, { token: 'access-from-login', expiresAt: 1 }, 'refresh-from-login');
  t.like(await manager.accessToken(account), { kind: 'token' }, 'the login ended "needs login" without a restart');
  t.deepEqual(endpoint.calls, ['refresh-0-initial', 'refresh-from-login']);
  t.is(states.get('work').needsLogin, undefined);
});

test('token endpoint down: keep everything, serve a still-valid token, back off, recover', async (t) => {
  const { clock, endpoint, manager, store } = await setup(t);
  await manager.accessToken(account);
  clock.now += 3600_000 - MARGIN_MS / 2; // inside the margin, still valid
  endpoint.next.push(() => new OAuthUnavailableError('the token endpoint answered HTTP 503'));
  t.like(await manager.accessToken(account), { kind: 'token', token: 'access-1-xxxxxxxx' });
  t.like(await manager.accessToken(account), { kind: 'token', token: 'access-1-xxxxxxxx' });
  t.is(endpoint.calls.length, 2, 'backing off: no second request right away');
  clock.now += MARGIN_MS; // expired, endpoint still down
  endpoint.next.push(() => new OAuthUnavailableError('the token endpoint answered HTTP 503'));
  t.like(await manager.accessToken(account), { kind: 'unavailable' });
  t.is(await store.get({ account: 'work', slot: 'oauth-refresh' }), 'refresh-1-xxxxxxxx');
  clock.now += 5000; // past the backoff, endpoint back
  t.like(await manager.accessToken(account), { kind: 'token', token: 'access-2-xxxxxxxx' });
});

test('erase of our access token drops only that token', async (t) => {
  const { endpoint, manager, store } = await setup(t);
  const first = await manager.accessToken(account);
  t.is(await manager.currentToken(account), (first as { token: string }).token);
  await manager.forget(account);
  t.is(await store.get({ account: 'work', slot: 'oauth-access' }), undefined);
  t.is(await store.get({ account: 'work', slot: 'oauth-refresh' }), 'refresh-1-xxxxxxxx');
  t.like(await manager.accessToken(account), { token: 'access-2-xxxxxxxx' });
  t.is(endpoint.calls.length, 2);
});

test('an account that never logged in needs login, without a token request', async (t) => {
  const { endpoint, manager, store } = await setup(t);
  await store.delete({ account: 'work', slot: 'oauth-refresh' });
  t.like(await manager.accessToken(account), { kind: 'needs-login', reason: 'it has not logged in with OAuth yet' });
  t.is(endpoint.calls.length, 0);
});

test('after a refused refresh token and a logout, a restarted daemon says "not logged in", not "rejected"', async (t) => {
  const { endpoint, manager, make } = await setup(t);
  endpoint.next.push(() => new OAuthRejectedError('invalid_grant', 'invalid_grant: token revoked'));
  t.like(await manager.accessToken(account), { kind: 'needs-login', reason: 'OAuth refresh was rejected (invalid_grant: token revoked)' });
  t.true(await manager.logout('work'));
  t.like(await make().accessToken(account), { kind: 'needs-login', reason: 'it has not logged in with OAuth yet' });
});
