// The OAuth rules as pure functions (src/daemon/oauth/state.ts) and the stored token format
// (src/core/oauth/stored-token.ts): no store, no socket, no clock; every call gets `now`.

import test from 'ava';
import { OAuthRejectedError, OAuthUnavailableError } from '../src/core/oauth/oauth-client.js';
import { formatStoredAccessToken, parseStoredAccessToken } from '../src/core/oauth/stored-token.js';
import {
  BACKOFF_MAX_MS,
  BACKOFF_START_MS,
  afterErase,
  afterLogin,
  afterRefresh,
  loadedState,
  plan,
  refreshFailure,
  refreshTokenSaved,
  type OAuthState,
} from '../src/daemon/oauth/state.js';

const NOW = 1_800_000_000_000;
const MARGIN = 300_000;
const ID = 'work\nhttps://bitbucket.org\nclient';
const access = (expiresAt: number) => ({ token: 'access-token-xxxx', expiresAt });

test('plan: a token valid beyond the margin is handed out; inside the margin or missing, refresh', (t) => {
  t.deepEqual(plan(loadedState(ID, access(NOW + MARGIN + 1), undefined), NOW, MARGIN), { kind: 'answer', result: { kind: 'token', token: 'access-token-xxxx', expiresAt: NOW + MARGIN + 1 } });
  t.deepEqual(plan(loadedState(ID, access(NOW + MARGIN), undefined), NOW, MARGIN), { kind: 'refresh' });
  t.deepEqual(plan(loadedState(ID, undefined, undefined), NOW, MARGIN), { kind: 'refresh' });
});

test('plan: after a refused refresh token, no refresh until a login', (t) => {
  const state = loadedState(ID, access(NOW + 1000), 'invalid_grant: revoked');
  t.deepEqual(plan(state, NOW, MARGIN), { kind: 'answer', result: { kind: 'needs-login', reason: 'OAuth refresh was rejected (invalid_grant: revoked)' } });
  t.deepEqual(plan(afterLogin(ID, access(NOW + 3600_000)), NOW, MARGIN).kind, 'answer');
  t.is(afterLogin(ID, access(NOW)).needsLogin, undefined);
});

test('plan: while backing off, the still-valid token or "unavailable" with the wait, no refresh', (t) => {
  const backingOff: OAuthState = { identity: ID, access: access(NOW + 1000), backoff: { until: NOW + 4000, delayMs: 4000, reason: 'the token endpoint answered HTTP 503' } };
  t.like(plan(backingOff, NOW, MARGIN), { kind: 'answer', result: { kind: 'token' } });
  t.deepEqual(plan(backingOff, NOW + 1500, MARGIN), { kind: 'answer', result: { kind: 'unavailable', reason: 'the token endpoint answered HTTP 503; next try in 3 s' } });
  t.deepEqual(plan(backingOff, NOW + 4000, MARGIN), { kind: 'refresh' }, 'the wait is over');
});

test('afterRefresh issued: the new token, backoff and refusal gone; a rotated refresh token is pending until saved', (t) => {
  const before: OAuthState = { identity: ID, needsLogin: 'old', backoff: { until: NOW, delayMs: 8000, reason: 'x' } };
  const issued = afterRefresh(before, 'refresh-1', { kind: 'issued', access: access(NOW + 3600_000), refreshToken: 'refresh-2' }, NOW);
  t.deepEqual(issued.result, { kind: 'token', token: 'access-token-xxxx', expiresAt: NOW + 3600_000 });
  t.is(issued.rotated, 'refresh-2');
  t.deepEqual(issued.state, { identity: ID, access: access(NOW + 3600_000), unsavedRefresh: 'refresh-2' });
  t.deepEqual(refreshTokenSaved(issued.state, 'refresh-2'), { identity: ID, access: access(NOW + 3600_000) });
  t.is(refreshTokenSaved(issued.state, 'refresh-older'), issued.state, 'saving an older token leaves the newer one pending');

  const notRotated = afterRefresh({ identity: ID }, 'refresh-1', { kind: 'issued', access: access(NOW + 1), refreshToken: 'refresh-1' }, NOW);
  t.is(notRotated.rotated, undefined);
  t.is(notRotated.state.unsavedRefresh, undefined);
  const stillPending = afterRefresh({ identity: ID, unsavedRefresh: 'refresh-5' }, 'refresh-5', { kind: 'issued', access: access(NOW + 1) }, NOW);
  t.is(stillPending.state.unsavedRefresh, 'refresh-5', 'a refused store is tried again next time');
});

test('afterRefresh rejected: needs login with the reason; failed: back off 1 s doubling to 60 s, serving a still-valid token', (t) => {
  const rejected = afterRefresh({ identity: ID, access: access(NOW + 1000) }, 'r', { kind: 'rejected', code: 'invalid_grant', reason: 'invalid_grant: gone' }, NOW);
  t.deepEqual(rejected.result, { kind: 'needs-login', reason: 'OAuth refresh was rejected (invalid_grant: gone)' });
  t.is(rejected.state.needsLogin, 'invalid_grant: gone');

  let state: OAuthState = { identity: ID, access: access(NOW + 1000) };
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    const failed = afterRefresh(state, 'r', { kind: 'failed', reason: 'HTTP 503' }, NOW);
    t.like(failed.result, { kind: 'token' });
    state = failed.state;
    delays.push(state.backoff!.delayMs);
  }
  t.deepEqual(delays, [BACKOFF_START_MS, 2000, 4000, 8000, 16000, 32000, BACKOFF_MAX_MS, BACKOFF_MAX_MS]);
  t.deepEqual(afterRefresh(state, 'r', { kind: 'failed', reason: 'HTTP 503' }, NOW + 1000).result, { kind: 'unavailable', reason: 'HTTP 503' }, 'expired: nothing to serve');
});

test('refreshFailure: only a refused grant or client needs a login; other OAuth errors are retried; anything else is a bug', (t) => {
  t.like(refreshFailure(new OAuthRejectedError('invalid_grant', 'invalid_grant: x')), { kind: 'rejected', code: 'invalid_grant' });
  t.like(refreshFailure(new OAuthRejectedError('invalid_client', 'y')), { kind: 'rejected' });
  t.like(refreshFailure(new OAuthRejectedError('invalid_request', 'z')), { kind: 'failed' });
  t.like(refreshFailure(new OAuthUnavailableError('down')), { kind: 'failed', reason: 'down' });
  t.is(refreshFailure(new TypeError('bug')), undefined);
});

test('afterErase drops only the access token', (t) => {
  const state: OAuthState = { identity: ID, access: access(NOW + 1000), unsavedRefresh: 'keep-me' };
  t.deepEqual(afterErase(state), { identity: ID, unsavedRefresh: 'keep-me' });
  t.deepEqual(plan(afterErase(state), NOW, MARGIN), { kind: 'refresh' });
});

test('the stored access token: one format, read back whole; anything else is no token', (t) => {
  const token = { token: 'x'.repeat(4000), expiresAt: NOW };
  const stored = formatStoredAccessToken(token);
  t.deepEqual(JSON.parse(stored), token, 'JSON {token, expiresAt}: what earlier versions stored');
  t.deepEqual(parseStoredAccessToken(stored), token);
  for (const bad of [undefined, '', 'not json', 'null', '{"token":"a"}', '{"token":"","expiresAt":1}', '{"token":"a","expiresAt":"1"}', '[1]']) {
    t.is(parseStoredAccessToken(bad), undefined, String(bad));
  }
});
