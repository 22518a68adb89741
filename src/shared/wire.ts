// The helper ↔ daemon channel: one JSON object per line over a per-user socket.
// Every message carries the wire version; a daemon that sees another version answers
// `version-mismatch` and exits so the (newer) helper can start its own.

import type { Credential } from './credential-protocol.js';

export const WIRE_VERSION = 2;
/** A credential request is at most 64 KiB of text; JSON escaping can roughly double it. */
export const MAX_FRAME_BYTES = 256 * 1024;

export type CredentialAction = 'get' | 'store' | 'erase';

export type DaemonRequest =
  | { v: number; type: 'credential'; action: CredentialAction; credential: Credential }
  | { v: number; type: 'ping' }
  /** The account's current OAuth access token, refreshed if due, for `account verify` (never the refresh token). */
  | { v: number; type: 'oauth-token'; account: string }
  /** `login`: the daemon stores the new grant (it is the only writer of OAuth tokens). Never logged. */
  | { v: number; type: 'oauth-login'; account: string; tokens: OAuthTokens }
  /** `logout`, `account set-oauth`, `account remove`: the daemon drops the account's OAuth tokens. */
  | { v: number; type: 'oauth-logout'; account: string }
  /**
   * The CLI changed secrets in the store itself (`account add|set-secret|remove`; without an
   * account, `secrets migrate`): the daemon drops what it holds of them and, for a migration,
   * chooses the store again.
   */
  | { v: number; type: 'secrets-changed'; account?: string }
  | { v: number; type: 'stop' }
  /**
   * Keeps the connection open and streams a RequestEvent per answered request (the `ui` page,
   * `trace`). With `forwards`, also a ForwardEvent per forward opened, used or closed, after the
   * open ones in `watching`; a daemon from before forward events ignores the flag and sends neither.
   */
  | { v: number; type: 'watch'; forwards?: boolean }
  /**
   * Opens a scoped socket for `git-credential-bitbucket forward`: it answers git's cache client,
   * `get` only, for these accounts only. It stays open while this connection does (forwards.ts).
   */
  | { v: number; type: 'forward-open'; name: string; accounts: string[]; otherUsers: boolean; via?: ForwardVia }
  | { v: number; type: 'forward-close'; name: string };

export interface DaemonInfo {
  pid: number;
  version: string;
  startedAt: string;
  requests: number;
  configDir: string;
  socketPath: string;
  logFile: string;
  forwards: ForwardInfo[];
}

/** An open forward, as `status` and `forward --list` show it. */
export interface ForwardInfo {
  name: string;
  accounts: string[];
  socketPath: string;
  /** Whether other local users may connect (`--allow-other-users`), never the default. */
  otherUsers: boolean;
  /** How the forward reaches git; absent from a daemon started by a version that did not say. */
  via?: ForwardVia;
  openedAt: string;
  requests: number;
}

/** `forward -- ssh …` or `forward --socket-only`. */
export type ForwardVia = 'ssh' | 'socket-only';

export type DaemonResponse =
  /** `decision` (absent from daemons before it existed) is for GIT_CREDENTIAL_BITBUCKET_TRACE; the helper prints it only then. */
  | { v: number; type: 'credential'; attributes: Array<[string, string]>; messages: string[]; decision?: RequestDecision }
  | ({ v: number; type: 'pong' } & DaemonInfo)
  | { v: number; type: 'ok' }
  | ({ v: number; type: 'forward-opened' } & ForwardInfo)
  | ({ v: number; type: 'oauth-token' } & OAuthTokenAnswer)
  | ({ v: number; type: 'oauth-session' } & OAuthSessionAnswer)
  | { v: number; type: 'error'; code: DaemonErrorCode; message: string }
  /** `forwards`: the open forwards, for a watch that asked for forward events (absent from an older daemon). */
  | { v: number; type: 'watching'; forwards?: ForwardInfo[] }
  | { v: number; type: 'event'; event: RequestEvent }
  | ({ v: number; type: 'forward' } & ForwardEvent);

/** A forward opened, answered a request (its count changed) or closed: only to watches that asked. */
export interface ForwardEvent {
  change: 'opened' | 'used' | 'closed';
  forward: ForwardInfo;
}

/** One get/store/erase the daemon answered, as the `ui` page shows it: never a secret. */
export interface RequestEvent {
  time: string;
  action: CredentialAction;
  /** in-process: answered in the helper's own process (no daemon; it publishes no events today). */
  channel: 'helper' | 'fast-path' | 'forward' | 'in-process';
  host?: string;
  path?: string;
  account?: string;
  outcome: string;
  /** The route decision, or the one line git's user was told. */
  why?: string;
  latencyMs: number;
}

/** The daemon's part of a RequestEvent, returned with its answer for the helper's trace: never a secret. */
export type RequestDecision = Pick<RequestEvent, 'account' | 'outcome' | 'why' | 'latencyMs'>;

export type OAuthTokenAnswer = { ok: true; username: string; token: string; expiresAt: number } | { ok: false; problem: string };

/** A grant as `login` received it from Bitbucket. */
export interface OAuthTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** `hadTokens`: the account held OAuth tokens before (replaced by a login, dropped by a logout). */
export type OAuthSessionAnswer = { ok: true; hadTokens: boolean } | { ok: false; problem: string };

export type DaemonErrorCode = 'version-mismatch' | 'bad-request' | 'too-large' | 'internal' | 'refused';

export function encodeMessage(message: DaemonRequest | DaemonResponse): string {
  return JSON.stringify(message) + '\n';
}
