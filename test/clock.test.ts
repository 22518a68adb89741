// The test clock seam (src/core/clock.ts) and the simulator's clock: tests move time with them
// instead of sleeping, so both must follow every move, and the seam must cost nothing unused.

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clockFrom, TEST_CLOCK_FILE_ENV } from '../src/core/clock.js';
import { startSimulator } from '../fixtures/simulator/server.js';
import { simUser } from './support/sim-fixtures.js';

const HOUR_MS = 3600_000;

test('without the variable the daemon clock is Date.now itself', (t) => {
  t.is(clockFrom({}), Date.now);
});

test('the daemon clock adds the offset in the clock file and follows each change of it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-clock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'clock');
  const now = clockFrom({ [TEST_CLOCK_FILE_ENV]: file });
  const near = (value: number, expected: number) => Math.abs(value - expected) < HOUR_MS / 2;
  t.true(near(now(), Date.now()), 'no file yet: the real time');
  writeFileSync(file, String(2 * HOUR_MS));
  t.true(near(now(), Date.now() + 2 * HOUR_MS));
  writeFileSync(file, String(5 * HOUR_MS));
  t.true(near(now(), Date.now() + 5 * HOUR_MS));
  writeFileSync(file, 'not a number');
  t.true(near(now(), Date.now()), 'an unreadable offset counts as none');
});

test('the simulator clock moves every expiry, through its method and its endpoint', async (t) => {
  const sim = await startSimulator({
    config: {
      users: [simUser('alice', 'ATATT3xFfGF0-clocktest-alice-7e5c3a1b', { acme: 'write' })],
      accessTokens: [],
      workspaces: { acme: ['widgets'] },
      oauthConsumers: [{ key: 'clock-client', secret: 'clock-client-secret-4b2d', name: 'clock', family: 'cloud', callbackUrl: 'http://127.0.0.1:47113/' }],
      oauth: { accessTokenLifetimeSeconds: 7200, autoApprove: true },
    },
  });
  t.teardown(() => sim.close());
  const authorize = await fetch(`${sim.url}/site/oauth2/authorize?client_id=clock-client&response_type=code`, { redirect: 'manual' });
  const code = new URL(authorize.headers.get('location')!).searchParams.get('code')!;
  const issued = await fetch(`${sim.url}/site/oauth2/access_token`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from('clock-client:clock-client-secret-4b2d').toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code }).toString(),
  });
  t.is(issued.status, 200);
  t.is(sim.oauthStats().activeAccessTokens, 1);

  t.is(sim.advanceClock(7199), 7199);
  t.is(sim.oauthStats().activeAccessTokens, 1, 'one second left');
  const moved = await fetch(`${sim.url}/_sim/clock`, { method: 'POST', body: JSON.stringify({ seconds: 1 }) });
  t.deepEqual(await moved.json(), { offsetSeconds: 7200 });
  t.is(sim.oauthStats().activeAccessTokens, 0, 'expired at its lifetime');
  t.deepEqual(await (await fetch(`${sim.url}/_sim/clock`)).json(), { offsetSeconds: 7200 });
  t.is((await fetch(`${sim.url}/_sim/clock`, { method: 'POST', body: JSON.stringify({ seconds: -1 }) })).status, 400, 'the clock never goes back');
  t.throws(() => sim.advanceClock(Number.NaN));
});
