// What the `ui` page and its server say to each other: the JSON of /api/* and the WebSocket's
// messages. Shared by the server and the page script (which imports these types only, so the
// browser loads nothing for them). Nothing here ever holds a secret.

import type { ForwardInfo, RequestEvent } from '../../shared/wire.js';
import type { HostRow, RouteRow } from '../../core/route-table.js';
import type { AccountSummary } from '../account-summary.js';

export type { ForwardInfo, RequestEvent, HostRow, RouteRow };

/** An account as `status` shows it, with its two lines in `status`'s words. */
export interface AccountView extends AccountSummary {
  auth: string;
  state: string;
}

export interface StatePayload {
  daemon: string;
  configFile: string;
  /** config.json cannot be read: the one line that says why (accounts and routes are then empty). */
  problem: string | null;
  accounts: AccountView[];
  routes: RouteRow[];
  hosts: HostRow[];
  /** What `account set-secret --secret-kind` takes. */
  secretKinds: readonly string[];
}

/** What one action did, in the CLI's own words. */
export interface ActionResult {
  ok: boolean;
  /** The command line the action ran (a secret goes on stdin, never here). */
  command: string;
  lines: string[];
}

export interface DoctorCheck {
  check: string;
  pass: boolean;
  detail: string;
  fix?: string;
}

export interface DoctorResult extends ActionResult {
  checks: DoctorCheck[];
}

export interface LoginStarted extends ActionResult {
  /** Bitbucket's consent page for this login, once the login is waiting for it. */
  url: string | null;
}

export type LiveMessage =
  | { type: 'hello'; recent: RequestEvent[] }
  | { type: 'event'; event: RequestEvent }
  | { type: 'daemon'; watching: boolean; problem: string | null }
  /**
   * The open forwards: on connecting, then whenever the daemon reports a change (live.ts).
   * `live` false: the daemon predates forward events, so this is the list as of connecting.
   */
  | { type: 'forwards'; forwards: ForwardInfo[]; live: boolean }
  | { type: 'login-finished'; account: string; result: ActionResult };
