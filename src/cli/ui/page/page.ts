/// <reference lib="dom" />
// The script of the `ui` page, run by the browser (served as /page.js, compiled from this file by
// the build; no framework, no bundler). It draws what /api/state says, prepends each request
// event the WebSocket brings, redraws the forwards it sends, and runs the actions through /api/*. Everything from the server
// goes into the page as text (textContent), never as HTML: a repository path is whatever a
// remote URL said.

import type { AccountView, ActionResult, DoctorResult, ForwardInfo, LiveMessage, LoginStarted, RequestEvent, StatePayload } from '../payload.js';

const MAX_ROWS = 500;
let accounts: AccountView[] = [];
const events: RequestEvent[] = [];

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text = '', className = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  return node;
}

function row(cells: Array<string | Node>): HTMLTableRowElement {
  const tr = element('tr');
  for (const cell of cells) {
    const td = element('td');
    td.append(cell);
    tr.append(td);
  }
  return tr;
}

function button(text: string, onClick: () => void): HTMLButtonElement {
  const node = element('button', text);
  node.type = 'button';
  node.addEventListener('click', onClick);
  return node;
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: Record<string, string>): Promise<T> {
  const response = await fetch(path, method === 'POST' ? { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) } : {});
  const answer = (await response.json()) as T | { error: string };
  if (!response.ok) throw new Error((answer as { error: string }).error ?? `HTTP ${response.status}`);
  return answer as T;
}

function showResult(target: string, result: ActionResult | { error: string }): void {
  const box = byId(target);
  box.hidden = false;
  if ('error' in result) {
    box.className = 'result failed';
    box.textContent = result.error;
    return;
  }
  box.className = `result ${result.ok ? 'ok' : 'failed'}`;
  box.textContent = [`$ ${result.command}`, ...result.lines].join('\n');
}

async function act(target: string, run: () => Promise<ActionResult>): Promise<void> {
  const box = byId(target);
  box.hidden = false;
  box.className = 'result';
  box.textContent = 'running…';
  try {
    showResult(target, await run());
  } catch (error) {
    showResult(target, { error: (error as Error).message });
  }
  void refreshState();
}

function drawAccounts(state: StatePayload): void {
  const body = byId('accounts').querySelector('tbody')!;
  body.replaceChildren(
    ...state.accounts.map((account) => {
      const actions = element('span');
      actions.append(button('Verify', () => void act('account-result', () => call('POST', '/api/verify', { account: account.name }))));
      if (account.oauth) actions.append(button('Log in', () => void login(account.name)));
      actions.append(button('Replace secret', () => openSecretForm(account.name)));
      const auth = element('span', account.auth, account.expiryWarning || account.oauth?.needsLogin ? 'warn' : '');
      const tr = row([account.name, account.kind, account.url, account.username, auth, element('span', account.state, account.rejectedAt ? 'fail' : ''), actions]);
      tr.dataset.account = account.name;
      return tr;
    }),
  );
  const kinds = byId<HTMLSelectElement>('secret-kind');
  if (kinds.options.length === 1) for (const kind of state.secretKinds) kinds.append(new Option(kind, kind));
}

function drawRoutes(state: StatePayload): void {
  byId('routes').querySelector('tbody')!.replaceChildren(
    ...state.routes.map((route) => {
      const conflicts = element('span', route.conflictsWith.length ? `ties with ${route.conflictsWith.join(', ')}: requests there get no answer` : '', 'fail');
      const tr = row([String(route.rank), route.pattern, route.account, conflicts, button('Remove', () => void act('route-result', () => call('POST', '/api/route-remove', { pattern: route.pattern })))]);
      tr.dataset.pattern = route.pattern;
      return tr;
    }),
  );
  byId('hosts').replaceChildren(
    ...state.hosts.map((host) =>
      element('li', host.needsRoutes ? `${host.origin}: accounts ${host.accounts.join(', ')}; routes (or a username in the remote URL) choose` : `${host.origin}: one account (${host.accounts[0]}), needs no route`),
    ),
  );
  const select = byId<HTMLSelectElement>('route-account');
  const chosen = select.value;
  select.replaceChildren(...state.accounts.map((account) => new Option(account.name, account.name)));
  if (chosen) select.value = chosen;
}

function drawForwards(forwards: ForwardInfo[]): void {
  byId('forwards').querySelector('tbody')!.replaceChildren(
    ...forwards.map((forward) => {
      const close = button('Close', () => void act('forward-result', () => call('POST', '/api/forward-close', { name: forward.name })));
      const tr = row([
        forward.name,
        forward.accounts.join(', '),
        // A daemon started by an older version does not say.
        forward.via ?? 'unknown',
        element('span', forward.otherUsers ? 'allowed' : 'no', forward.otherUsers ? 'warn' : ''),
        new Date(forward.openedAt).toLocaleString(),
        String(forward.requests),
        close,
      ]);
      tr.dataset.forward = forward.name;
      return tr;
    }),
  );
  byId('no-forwards').hidden = forwards.length > 0;
}

function drawFilter(): void {
  const select = byId<HTMLSelectElement>('filter');
  const chosen = select.value;
  const names = new Set([...accounts.map((account) => account.name), ...events.flatMap((event) => (event.account ? [event.account] : []))]);
  select.replaceChildren(new Option('all', ''), ...[...names].sort().map((name) => new Option(name, name)));
  select.value = chosen;
}

function eventRow(event: RequestEvent): HTMLTableRowElement {
  const outcome = element('span', event.outcome, /refused|unresolved|error|rejection/.test(event.outcome) ? 'fail' : event.outcome.startsWith('answered') ? 'pass' : '');
  const tr = row([
    new Date(event.time).toLocaleTimeString(),
    event.action,
    event.channel,
    event.host ?? '',
    event.path ?? '',
    event.account ?? '',
    outcome,
    event.why ?? '',
    `${event.latencyMs.toFixed(1)} ms`,
  ]);
  tr.dataset.account = event.account ?? '';
  tr.dataset.action = event.action;
  tr.dataset.path = event.path ?? '';
  return tr;
}

function drawEvents(): void {
  const filter = byId<HTMLSelectElement>('filter').value;
  const shown = events.filter((event) => !filter || event.account === filter);
  byId('events').querySelector('tbody')!.replaceChildren(...shown.map(eventRow));
}

function addEvent(event: RequestEvent): void {
  events.unshift(event);
  if (events.length > MAX_ROWS) events.pop();
  const filter = byId<HTMLSelectElement>('filter').value;
  if (!filter || event.account === filter) {
    const tr = eventRow(event);
    tr.className = 'fresh';
    byId('events').querySelector('tbody')!.prepend(tr);
  }
  if (event.account && ![...byId<HTMLSelectElement>('filter').options].some((option) => option.value === event.account)) drawFilter();
  // What the daemon learnt (a success, a rejection, a refreshed token) shows in the accounts.
  scheduleRefresh();
}

let refreshTimer: number | undefined;
function scheduleRefresh(): void {
  if (refreshTimer === undefined) refreshTimer = window.setTimeout(() => void refreshState(), 300);
}

async function refreshState(): Promise<void> {
  refreshTimer = undefined;
  try {
    const state = await call<StatePayload>('GET', '/api/state');
    accounts = state.accounts;
    byId('daemon').textContent = state.daemon;
    const problem = byId('problem');
    problem.hidden = state.problem === null;
    problem.textContent = state.problem ?? '';
    drawAccounts(state);
    drawRoutes(state);
    drawFilter();
  } catch (error) {
    const problem = byId('problem');
    problem.hidden = false;
    problem.textContent = (error as Error).message;
  }
}

function openSecretForm(account: string): void {
  byId('secret-account').textContent = account;
  byId('secret-form').hidden = false;
  byId<HTMLInputElement>('secret-value').focus();
}

async function login(account: string): Promise<void> {
  let url: string | null = null;
  await act('account-result', async () => {
    const started = await call<LoginStarted>('POST', '/api/login', { account });
    url = started.url;
    return started;
  });
  if (url) {
    const link = element('a', `Open Bitbucket's consent page for ${account}`);
    link.href = url;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.id = 'login-link';
    byId('account-result').append('\n', link);
  }
}

function connect(): void {
  const status = byId('live-status');
  const socket = new WebSocket(`ws://${location.host}/live`);
  socket.addEventListener('message', (message: MessageEvent<string>) => {
    const data = JSON.parse(message.data) as LiveMessage;
    if (data.type === 'hello') {
      events.splice(0, events.length, ...data.recent);
      drawFilter();
      drawEvents();
    } else if (data.type === 'event') addEvent(data.event);
    else if (data.type === 'forwards') {
      drawForwards(data.forwards);
      byId('forwards-not-live').hidden = data.live;
    }
    else if (data.type === 'daemon') status.textContent = data.watching ? 'live: watching the daemon' : `live: ${data.problem ?? 'not watching'}`;
    else if (data.type === 'login-finished') {
      showResult('account-result', data.result);
      void refreshState();
    }
  });
  socket.addEventListener('close', () => {
    status.textContent = 'live: disconnected (is `git-credential-bitbucket ui` still running?); retrying';
    window.setTimeout(connect, 2000);
  });
}

byId('route-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const pattern = byId<HTMLInputElement>('route-pattern').value.trim();
  const account = byId<HTMLSelectElement>('route-account').value;
  void act('route-result', () => call('POST', '/api/route-add', { pattern, account }));
});

byId('secret-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const input = byId<HTMLInputElement>('secret-value');
  const body = {
    account: byId('secret-account').textContent ?? '',
    secret: input.value,
    secretKind: byId<HTMLSelectElement>('secret-kind').value,
    expires: byId<HTMLInputElement>('secret-expires').value,
  };
  // Posted once, then gone from the page.
  input.value = '';
  byId('secret-form').hidden = true;
  void act('account-result', () => call('POST', '/api/set-secret', body));
});

byId('secret-cancel').addEventListener('click', () => {
  byId<HTMLInputElement>('secret-value').value = '';
  byId('secret-form').hidden = true;
});

byId('filter').addEventListener('change', drawEvents);

byId('doctor-run').addEventListener('click', () => {
  const box = byId('doctor-result');
  box.hidden = false;
  box.className = 'result';
  box.textContent = 'running doctor…';
  call<DoctorResult>('POST', '/api/doctor').then(
    (result) => {
      box.className = `result ${result.ok ? 'ok' : 'failed'}`;
      box.replaceChildren(
        element('div', `$ ${result.command}`),
        ...result.checks.map((check) => element('div', `${check.pass ? 'PASS' : 'FAIL'}  ${check.check}: ${check.detail}${check.fix ? `\n      fix: ${check.fix}` : ''}`, check.pass ? 'pass' : 'fail')),
        ...result.lines.map((line) => element('div', line)),
      );
    },
    (error: Error) => showResult('doctor-result', { error: error.message }),
  );
});

// A change made in a terminal (route add, account add) shows when the page is looked at again.
window.addEventListener('focus', () => void refreshState());

void refreshState();
connect();
