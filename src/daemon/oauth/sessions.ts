// The CLI's `oauth-login` and `oauth-logout` requests: `login` hands the grant it received to the
// daemon, and `logout`, `account set-oauth` and `account remove` ask the daemon to drop the tokens,
// so the token manager, which holds them in memory, is the only writer of OAuth tokens. Each
// request is logged without its tokens, as the credential requests are.

import type { Logger } from 'pino';
import type { ConfigSource } from '../../core/config.js';
import type { OAuthSessionAnswer, OAuthTokens } from '../../shared/wire.js';
import type { TokenManager } from './token-manager.js';

export interface OAuthSessionsDeps {
  config: ConfigSource;
  tokens: TokenManager;
  log: Logger;
}

export class OAuthSessions {
  constructor(private readonly deps: OAuthSessionsDeps) {}

  async login(name: string, tokens: OAuthTokens): Promise<OAuthSessionAnswer> {
    const account = this.deps.config.current().accounts.find((candidate) => candidate.name === name);
    let answer: OAuthSessionAnswer;
    if (!account) answer = { ok: false, problem: `no account named ${name}` };
    else if (!account.oauth) answer = { ok: false, problem: `account ${name} has no OAuth client` };
    else {
      const hadTokens = await this.deps.tokens.login(account, { token: tokens.accessToken, expiresAt: tokens.expiresAt }, tokens.refreshToken);
      answer = { ok: true, hadTokens };
    }
    this.logged('oauth-login', name, answer.ok ? 'logged-in' : 'refused');
    return answer;
  }

  /** By name alone: `account remove` asks after the account left config.json. */
  async logout(name: string): Promise<OAuthSessionAnswer> {
    const hadTokens = await this.deps.tokens.logout(name);
    this.logged('oauth-logout', name, hadTokens ? 'tokens-dropped' : 'no-tokens');
    return { ok: true, hadTokens };
  }

  private logged(action: string, account: string, outcome: string): void {
    this.deps.log.info({ action, channel: 'cli', account, outcome }, 'request');
  }
}
