// The page itself: one HTML document, one style sheet and one script (page/page.ts, compiled
// by the build next to this module). No inline script or style anywhere, so the
// Content-Security-Policy can allow only this server's own files.

import { readFile } from 'node:fs/promises';

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>git-credential-bitbucket</title>
<link rel="stylesheet" href="/page.css">
<script type="module" src="/page.js"></script>
</head>
<body>
<header>
  <h1>git-credential-bitbucket</h1>
  <p id="daemon" class="muted">…</p>
  <p id="live-status" class="muted">connecting…</p>
</header>
<main>
  <p id="problem" class="fail" hidden></p>
  <section>
    <h2>Accounts</h2>
    <table id="accounts">
      <thead><tr><th>Account</th><th>Kind</th><th>Base URL</th><th>Username</th><th>Auth in use</th><th>State</th><th>Actions</th></tr></thead>
      <tbody></tbody>
    </table>
    <form id="secret-form" hidden>
      <h3>Replace the static secret of <span id="secret-account"></span></h3>
      <label>Secret <input id="secret-value" type="password" autocomplete="off" required></label>
      <label>Kind <select id="secret-kind"><option value="">(unchanged)</option></select></label>
      <label>Expires <input id="secret-expires" type="date"></label>
      <button type="submit">Verify and store</button>
      <button type="button" id="secret-cancel">Cancel</button>
    </form>
    <div id="account-result" class="result" hidden></div>
  </section>
  <section>
    <h2>Routes</h2>
    <p class="muted">In the order the router tries them on each host: the most specific route wins.</p>
    <table id="routes">
      <thead><tr><th>#</th><th>Pattern</th><th>Account</th><th>Conflicts</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
    <ul id="hosts" class="muted"></ul>
    <form id="route-form">
      <label>Pattern <input id="route-pattern" placeholder="https://bitbucket.org/acme/*" size="40" required></label>
      <label>Account <select id="route-account"></select></label>
      <button type="submit">Add route</button>
    </form>
    <div id="route-result" class="result" hidden></div>
  </section>
  <section>
    <h2>Forwards</h2>
    <p class="muted">Accounts lent to git on a remote host (<code>forward -- ssh</code>) or to a container or another user (<code>forward --socket-only</code>), for as long as each forward runs.</p>
    <table id="forwards">
      <thead><tr><th>Name</th><th>Accounts</th><th>Socket kind</th><th>Other users</th><th>Opened at</th><th>Requests</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="no-forwards" class="muted" hidden>No forwards open.</p>
    <p id="forwards-not-live" class="warn" hidden>The running daemon is from an older version and does not report forwards as they open and close: this list is as of loading the page (reload it to see changes; to get live changes, run <code>git-credential-bitbucket daemon stop</code>, which also closes its forwards: the next git operation starts the current daemon).</p>
    <div id="forward-result" class="result" hidden></div>
  </section>
  <section>
    <h2>Live requests</h2>
    <label>Account <select id="filter"><option value="">all</option></select></label>
    <table id="events">
      <thead><tr><th>Time</th><th>Action</th><th>Channel</th><th>Host</th><th>Path</th><th>Account</th><th>Outcome</th><th>Why</th><th>Latency</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2>Health</h2>
    <button type="button" id="doctor-run">Run doctor</button>
    <div id="doctor-result" class="result" hidden></div>
  </section>
</main>
</body>
</html>
`;

export const PAGE_CSS = `[hidden] { display: none !important; }
body { font-family: system-ui, sans-serif; margin: 0; color: #172b4d; background: #f7f8f9; }
header { background: #0c66e4; color: white; padding: 0.6em 1.5em; display: flex; gap: 0.2em 2em; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 1.2em; margin: 0; }
header .muted { color: #dfe1e6; margin: 0.2em 0; }
main { padding: 0 1.5em 2em; }
section { background: white; border: 1px solid #dfe1e6; border-radius: 6px; padding: 0.5em 1em 1em; margin-top: 1em; }
h2 { font-size: 1.05em; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { text-align: left; padding: 0.3em 0.5em; border-bottom: 1px solid #ebecf0; vertical-align: top; }
th { background: #f4f5f7; }
.muted { color: #626f86; font-size: 0.9em; }
.pass { color: #216e4e; }
.fail { color: #ae2e24; font-weight: 600; }
.warn { color: #a54800; }
.result { margin-top: 0.6em; padding: 0.5em; background: #f4f5f7; border-left: 4px solid #8590a2; white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 0.85em; }
.result.ok { border-color: #22a06b; }
.result.failed { border-color: #c9372c; }
form { margin-top: 0.8em; display: flex; gap: 0.8em; align-items: center; flex-wrap: wrap; }
button { cursor: pointer; }
td button { margin-right: 0.3em; }
tr.fresh { animation: fresh 2s ease-out; }
@keyframes fresh { from { background: #e9f2ff; } to { background: transparent; } }
`;

let script: Promise<string> | undefined;

/** The compiled page script, read once. */
export function pageScript(): Promise<string> {
  script ??= readFile(new URL('./page/page.js', import.meta.url), 'utf8');
  return script;
}
