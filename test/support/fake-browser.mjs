#!/usr/bin/env node
// Stands in for a person at a browser during `login` (GIT_CREDENTIAL_BITBUCKET_BROWSER): opens
// the authorize URL, presses "Grant access" (or "Cancel") on the consent page and follows the
// redirect to the loopback listener. FAKE_BROWSER_DECISION=deny cancels; FAKE_BROWSER_STATE
// replaces the state in the final redirect (a forged answer).

const decode = (text) => text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

async function followToLoopback(location) {
  const target = new URL(location);
  if (process.env.FAKE_BROWSER_STATE) target.searchParams.set('state', process.env.FAKE_BROWSER_STATE);
  await fetch(target, { redirect: 'manual' });
}

const authorize = new URL(process.argv[2]);
const first = await fetch(authorize, { redirect: 'manual' });
if (first.status >= 300 && first.status < 400) {
  await followToLoopback(new URL(first.headers.get('location'), authorize).href); // auto-approve
} else {
  const html = await first.text();
  const form = /<form([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  const action = form && /method="post"/i.test(form[1]) ? /action="([^"]+)"/i.exec(form[1]) : null;
  if (!form || !action) throw new Error(`no consent form on ${authorize.origin}${authorize.pathname} (HTTP ${first.status})`);
  const fields = new URLSearchParams();
  for (const input of form[2].matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
    const name = /name="([^"]*)"/.exec(input[0]);
    const value = /value="([^"]*)"/.exec(input[0]);
    if (name) fields.append(decode(name[1]), decode(value ? value[1] : ''));
  }
  fields.set('decision', process.env.FAKE_BROWSER_DECISION ?? 'grant');
  const answer = await fetch(new URL(decode(action[1]), authorize), { method: 'POST', body: fields, redirect: 'manual' });
  const location = answer.headers.get('location');
  if (!location) throw new Error(`the consent form answered HTTP ${answer.status} without a redirect`);
  await followToLoopback(new URL(location, authorize).href);
}
