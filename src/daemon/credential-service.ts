// Answers git's get/store/erase: route the request to an account, hand out its secret, and
// learn from store (it worked) and erase (it was refused). A refusal never deletes a secret:
// one 401 can be a permissions problem on one repository. A refused OAuth access token is only
// dropped, so the next get refreshes: the refresh, not the 401, decides whether the grant is gone.

import { timingSafeEqual, createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Credential } from '../shared/credential-protocol.js';
import type { CredentialAction, OAuthTokenAnswer, RequestDecision } from '../shared/wire.js';
import { hostnameOf, isBearerOnly, isLoopbackHost, type Account } from '../core/accounts.js';
import type { AccountStateBook } from '../core/account-state.js';
import type { ConfigSource } from '../core/config.js';
import { HELPER_NOTE_DAYS, expiryNotice } from '../core/expiry.js';
import { describeSecretKind, hostFor } from '../core/hosts/host.js';
import { routeRequest } from '../core/router.js';
import { RefusedTokens, isRetry, offersRetry, retryAttributes, retryRefuses } from './oauth/refusals.js';
import type { TokenManager } from './oauth/token-manager.js';
import type { RequestEvents } from './ui/request-events.js';
import type { SecretStore } from '../core/secrets/secret-store.js';

export interface CredentialAnswer {
  attributes: Array<[string, string]>;
  messages: string[];
}

export interface CredentialServiceDeps {
  config: ConfigSource;
  store: SecretStore;
  states: AccountStateBook;
  tokens: TokenManager;
  log: Logger;
  /** Bitbucket refused the account's static secret: a copy kept in memory must be read afresh (it may have been replaced outside the product). */
  onSecretRefused?(account: string): void;
  /** Each answered request, for an open `ui` page. */
  events?: RequestEvents;
}

type Outcome = { outcome: string; account?: string; reason?: string; answer: CredentialAnswer };

/** A `forward`'s socket (forwards.ts): only these accounts, and only `get` changes anything. */
export interface ForwardScope {
  name: string;
  accounts: ReadonlySet<string>;
}

/** Where a request came from: the Node helper's socket, git's cache client (fast path), a forward's socket, or the helper's own process (in-process.ts). */
export type Channel = 'helper' | 'fast-path' | 'in-process' | ForwardScope;

const NOTHING: CredentialAnswer = { attributes: [], messages: [] };

export class CredentialService {
  private readonly refused = new RefusedTokens();

  constructor(private readonly deps: CredentialServiceDeps) {}

  async handle(action: CredentialAction, credential: Credential, channel: Channel = 'helper'): Promise<CredentialAnswer & { decision: RequestDecision }> {
    const started = process.hrtime.bigint();
    const forward = typeof channel === 'string' ? undefined : channel;
    const channelName = typeof channel === 'string' ? channel : 'forward';
    let result: Outcome;
    try {
      result = await this.decide(action, credential, forward);
    } catch (error) {
      result = { outcome: 'error', answer: { attributes: [], messages: [(error as Error).message] } };
    }
    const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
    this.deps.log.info(
      {
        action,
        channel: channelName,
        forward: forward?.name,
        protocol: credential.protocol,
        host: credential.host,
        path: credential.path,
        account: result.account,
        reason: result.reason,
        outcome: result.outcome,
        latencyMs,
      },
      'request',
    );
    const decision: RequestDecision = { account: result.account, outcome: result.outcome, why: result.reason ?? result.answer.messages[0], latencyMs };
    this.deps.events?.publish({ action, channel: channelName, host: credential.host, path: credential.path, ...decision });
    return { ...result.answer, decision };
  }

  /** An account's OAuth access token for `account verify`: the same token (and refresh) git would get. */
  async oauthToken(name: string): Promise<OAuthTokenAnswer> {
    const account = this.deps.config.current().accounts.find((candidate) => candidate.name === name);
    let answer: OAuthTokenAnswer;
    if (!account) answer = { ok: false, problem: `no account named ${name}` };
    else if (!account.oauth) answer = { ok: false, problem: `account ${name} has no OAuth client` };
    else {
      const result = await this.deps.tokens.accessToken(account);
      answer =
        result.kind === 'token'
          ? { ok: true, username: hostFor(account.kind).oauth.gitUsername(account), token: result.token, expiresAt: result.expiresAt }
          : { ok: false, problem: result.kind === 'needs-login' ? `${result.reason}; run \`git-credential-bitbucket login ${name}\`` : result.reason };
    }
    this.deps.log.info({ action: 'oauth-token', channel: 'cli', account: name, outcome: answer.ok ? 'answered-oauth' : 'refused' }, 'request');
    return answer;
  }

  private async decide(action: CredentialAction, credential: Credential, forward: ForwardScope | undefined): Promise<Outcome> {
    const { protocol, host } = credential;
    if (!host || (protocol !== 'https' && protocol !== 'http')) return { outcome: 'not-ours', answer: NOTHING };

    // The request's one look at config.json; everything after works from this snapshot.
    const config = this.deps.config.current();
    const decision = routeRequest(
      { protocol, host, ...(credential.path !== undefined && { path: credential.path }), ...(credential.username !== undefined && { username: credential.username }) },
      config,
    );
    if (decision.kind === 'not-ours') return { outcome: 'not-ours', answer: NOTHING };
    if (decision.kind === 'unresolved') {
      return { outcome: 'unresolved', answer: action === 'get' ? { attributes: [], messages: [decision.message] } : NOTHING };
    }
    const account = decision.account;
    if (forward && !forward.accounts.has(account.name)) return { outcome: 'outside-forward', account: account.name, reason: decision.reason, answer: NOTHING };
    // The far side of a forward is less trusted: its store and erase change nothing here (no
    // success or rejection recorded, no token dropped); they are only logged.
    if (forward && action !== 'get') return { outcome: 'ignored-from-forward', account: account.name, reason: decision.reason, answer: NOTHING };
    // Config validation already refuses such accounts; this guard keeps the rule true whatever
    // the router or a future config source hands us.
    if (protocol === 'http' && !isLoopbackHost(hostnameOf(host))) {
      return refuse(action, account, `refusing to send account ${account.name}'s secret to ${host} over plain http; use https://`);
    }
    const outcome = await this.act(action, account, credential);
    return { ...outcome, reason: decision.reason };
  }

  private act(action: CredentialAction, account: Account, credential: Credential): Promise<Outcome> {
    switch (action) {
      case 'get':
        return this.get(account, credential);
      case 'store':
        return this.store(account, credential);
      case 'erase':
        return this.erase(account, credential);
    }
  }

  private async get(account: Account, credential: Credential): Promise<Outcome> {
    // In its last days a static secret's answer carries a note, so the expiry is no surprise.
    const expiring = expiryNotice(account, HELPER_NOTE_DAYS)?.message;
    if (!account.oauth) {
      const fixed = await this.staticSecret(account, credential);
      return 'problem' in fixed ? refuse('get', account, fixed.problem) : answered(account, 'answered', fixed.attributes, expiring ? [expiring] : []);
    }
    // git 2.46+ asking again after a 401 on our first answer (see oauth/refusals.ts).
    const retry = isRetry(credential);
    const dropped = retry && (await this.dropRefusedToken(account, credential));
    const result = await this.deps.tokens.accessToken(account);
    if (result.kind === 'token') {
      const attributes: Array<[string, string]> = [
        ['username', hostFor(account.kind).oauth.gitUsername(account)],
        ['password', result.token],
        // git >= 2.41 drops the credential in time; older git ignores the attribute.
        ['password_expiry_utc', String(Math.floor(result.expiresAt / 1000))],
      ];
      // Only a first answer with a fallback to retry with: without one, git's erase explains
      // better than a retry that ends in a password prompt.
      if (!retry && offersRetry(credential) && staticSecretProblem(account, credential) === undefined) {
        const { before, after } = retryAttributes(result.token);
        return answered(account, 'answered-oauth', [...before, ...attributes, ...after], []);
      }
      return answered(account, dropped ? 'answered-oauth-after-refusal' : 'answered-oauth', attributes, []);
    }
    const problem = `account ${account.name}: ${result.reason}`;
    const advice = result.kind === 'needs-login' ? `Run \`git-credential-bitbucket login ${account.name}\`` : 'It will be retried shortly';
    const fallback = account.secretKind ? await this.staticSecret(account, credential) : undefined;
    if (fallback && 'attributes' in fallback) {
      const messages = [`${problem}; using its ${describeSecretKind(account.secretKind!)}. ${advice}`];
      return answered(account, `static-fallback-${result.kind}`, fallback.attributes, expiring ? [...messages, expiring] : messages);
    }
    return refuse('get', account, `${problem}. ${advice}`);
  }

  /** The account's static secret as git attributes, or why there is none to give. */
  private async staticSecret(account: Account, request: Credential): Promise<{ attributes: Array<[string, string]> } | { problem: string }> {
    const problem = staticSecretProblem(account, request);
    if (problem !== undefined) return { problem };
    const secretKind = account.secretKind!;
    const secret = await this.deps.store.get({ account: account.name, slot: 'static' });
    if (secret === undefined) {
      return { problem: `no secret for account ${account.name} (${account.url}) in the ${this.deps.store.name} store; add it with \`git-credential-bitbucket account set-secret ${account.name} --secret-stdin\`` };
    }
    if (isBearerOnly(secretKind)) return { attributes: [['capability[]', 'authtype'], ['authtype', 'Bearer'], ['credential', secret]] };
    return { attributes: [['username', hostFor(account.kind).gitUsername(account, secretKind)], ['password', secret]] };
  }

  private async store(account: Account, credential: Credential): Promise<Outcome> {
    // git reports every credential that worked, whoever supplied it; only ours tells us anything.
    // An oauth_refresh_token from git is ignored: the daemon's own refresh token is the one that counts.
    if (!(await this.isOurSecret(account, credential)) && !(await this.isOurAccessToken(account, credential))) {
      return { outcome: 'ignored', account: account.name, answer: NOTHING };
    }
    this.deps.states.markSucceeded(account.name);
    return { outcome: 'success-recorded', account: account.name, answer: NOTHING };
  }

  private async erase(account: Account, credential: Credential): Promise<Outcome> {
    // decide() answers requests without a host before they get here.
    const where = credential.path ? `${credential.host}/${credential.path}` : credential.host!;
    const presented = credential.password;
    if (account.oauth && presented !== undefined) {
      const current = await this.isOurAccessToken(account, credential);
      // The next get refreshes; the refresh token and any static secret stay.
      if (current) await this.dropToken(account, presented);
      if (current || this.refused.includes(account.name, presented)) {
        const answer = { attributes: [], messages: [refusedTokenLine(account, where, credential)] };
        return { outcome: current ? 'access-token-dropped' : 'access-token-already-dropped', account: account.name, answer };
      }
    }
    if (!(await this.isOurSecret(account, credential))) return { outcome: 'ignored', account: account.name, answer: NOTHING };
    this.deps.states.markRejected(account.name, credential.path);
    this.deps.onSecretRefused?.(account.name);
    const what = account.secretKind ? describeSecretKind(account.secretKind) : 'secret';
    return {
      outcome: 'rejection-recorded',
      account: account.name,
      answer: {
        attributes: [],
        messages: [
          `${where} refused the ${what} of account ${account.name} (user ${account.username}); the secret was kept. If the account lacks access, ask for it; if the ${what} was revoked or has expired, store a new one: \`git-credential-bitbucket account set-secret ${account.name} --secret-stdin\``,
        ],
      },
    };
  }

  /** On git's retry after a 401, drops the access token of our first answer if we still hold it; true if it did. */
  private async dropRefusedToken(account: Account, retry: Credential): Promise<boolean> {
    const current = await this.deps.tokens.currentToken(account);
    if (current === undefined || !retryRefuses(retry, current)) return false;
    await this.dropToken(account, current);
    return true;
  }

  private async dropToken(account: Account, token: string): Promise<void> {
    await this.deps.tokens.forget(account);
    this.refused.note(account.name, token);
  }

  private async isOurAccessToken(account: Account, credential: Credential): Promise<boolean> {
    if (!account.oauth || credential.password === undefined) return false;
    const token = await this.deps.tokens.currentToken(account);
    return token !== undefined && sameSecret(token, credential.password);
  }

  private async isOurSecret(account: Account, credential: Credential): Promise<boolean> {
    // With authtype (git 2.46+) the secret comes back as `credential`, not `password`.
    const presented = isBearerOnly(account.secretKind) ? credential.credential : credential.password;
    if (presented === undefined || !account.secretKind) return false;
    const secret = await this.deps.store.get({ account: account.name, slot: 'static' });
    return secret !== undefined && sameSecret(secret, presented);
  }
}

/** Why the account's static secret cannot go to git for `request`, before looking in the store. */
function staticSecretProblem(account: Account, request: Credential): string | undefined {
  if (!account.secretKind) {
    return `account ${account.name} (${account.url}) has no secret; add one with \`git-credential-bitbucket account set-secret ${account.name} --secret-stdin\``;
  }
  const unusable = hostFor(account.kind).unusableSecretReason(account.secretKind);
  if (unusable) {
    return `account ${account.name} (${account.url}) has a ${describeSecretKind(account.secretKind)}: ${unusable}; then run \`git-credential-bitbucket account set-secret ${account.name} --secret-kind api-token --secret-stdin\``;
  }
  // git offers `capability[]=authtype` from 2.46 on; older git can only send Basic, which Bitbucket refuses for these tokens.
  if (isBearerOnly(account.secretKind) && !request.lists?.capability?.includes('authtype')) {
    return `account ${account.name} (${account.url}) has a project/repository access token, which Bitbucket takes only as a Bearer token; git sends those from version 2.46 on: upgrade git, or use a personal access token (--secret-kind access-token)`;
  }
  return undefined;
}

/** git's erase of our access token: it may be a revoked grant or a permission problem; the next refresh tells. */
function refusedTokenLine(account: Account, where: string, request: Credential): string {
  const login = `\`git-credential-bitbucket login ${account.name}\``;
  const refused = `${where} refused the OAuth access token of account ${account.name}`;
  return account.secretKind && staticSecretProblem(account, request) === undefined
    ? `${refused}; the next git operation gets a fresh one, or uses its ${describeSecretKind(account.secretKind)} if Bitbucket revoked the access; if this repeats, run ${login}`
    : `${refused}; the next git operation gets a fresh one unless Bitbucket revoked the access: then run ${login}`;
}

function answered(account: Account, outcome: string, attributes: Array<[string, string]>, messages: string[]): Outcome {
  return { outcome, account: account.name, answer: { attributes, messages } };
}

function refuse(action: CredentialAction, account: Account, message: string): Outcome {
  return { outcome: 'refused', account: account.name, answer: action === 'get' ? { attributes: [], messages: [message] } : NOTHING };
}

/** Constant-time comparison; hashing first gives equal lengths without leaking the length. */
function sameSecret(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}
