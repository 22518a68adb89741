// The two token requests the product makes (authorization code, refresh), through oauth4webapi,
// with Bitbucket's endpoints and client authentication chosen by the account's kind. Failures
// come out in two kinds that the callers treat differently: rejected (the grant or client is
// bad; retrying cannot help) and unavailable (network, 5xx; retry later, keep everything).

import * as oauth from 'oauth4webapi';
import { isLoopbackHost, type Account } from '../accounts.js';
import { now as clockNow } from '../clock.js';
import { hostFor } from '../hosts/host.js';
import { NetworkSetupError, fetchLikeGit } from '../network/fetch-like-git.js';

export interface TokenSet {
  accessToken: string;
  /** Present when the server issued one (rotation: a new one on every refresh). */
  refreshToken?: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export class OAuthRejectedError extends Error {
  constructor(
    /** The OAuth error code, e.g. invalid_grant, invalid_client. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class OAuthUnavailableError extends Error {}

/** Bitbucket Cloud's documented access-token life, used when a response has no expires_in. */
const DEFAULT_LIFETIME_SECONDS = 7200;
/** Bitbucket answers a token request within a second; 10 s is a network in trouble (and the helper's answer timeout counts on it). */
const REQUEST_TIMEOUT_MS = 10_000;

export interface AuthorizationRequest {
  url: string;
  state: string;
  redirectUri: string;
  /** Present for PKCE (Data Center). */
  codeVerifier?: string;
}

export class OAuthClient {
  constructor(private readonly now: () => number = clockNow) {}

  async authorizationRequest(account: Account): Promise<AuthorizationRequest> {
    const settings = requireOAuth(account);
    const profile = hostFor(account.kind).oauth;
    const redirectUri = `http://127.0.0.1:${settings.redirectPort}/`;
    const state = oauth.generateRandomState();
    const url = new URL(profile.endpoints(account).authorize);
    url.searchParams.set('client_id', settings.clientId);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('state', state);
    url.searchParams.set('redirect_uri', redirectUri);
    if (settings.scopes?.length) url.searchParams.set('scope', settings.scopes.join(' '));
    const request: AuthorizationRequest = { url: url.href, state, redirectUri };
    if (profile.usesPkce) {
      request.codeVerifier = oauth.generateRandomCodeVerifier();
      url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(request.codeVerifier));
      url.searchParams.set('code_challenge_method', 'S256');
      request.url = url.href;
    }
    return request;
  }

  /**
   * Checks the redirect (state, error) and exchanges its code for tokens. `expectedState`
   * undefined means a bare code was pasted and there is no state to check.
   */
  async exchangeCode(account: Account, clientSecret: string | undefined, request: AuthorizationRequest, redirect: URLSearchParams, expectedState: string | undefined): Promise<TokenSet> {
    const { server, client, auth, options } = this.setup(account, clientSecret);
    let params: URLSearchParams;
    try {
      params = oauth.validateAuthResponse(server, client, redirect, expectedState ?? oauth.skipStateCheck);
    } catch (error) {
      throw rejected(error);
    }
    return this.tokenRequest(() =>
      oauth.authorizationCodeGrantRequest(server, client, auth, params, request.redirectUri, request.codeVerifier ?? oauth.nopkce, options),
      (response) => oauth.processAuthorizationCodeResponse(server, client, response),
    );
  }

  async refresh(account: Account, clientSecret: string | undefined, refreshToken: string): Promise<TokenSet> {
    const { server, client, auth, options } = this.setup(account, clientSecret);
    return this.tokenRequest(
      () => oauth.refreshTokenGrantRequest(server, client, auth, refreshToken, options),
      (response) => oauth.processRefreshTokenResponse(server, client, response),
    );
  }

  private setup(account: Account, clientSecret: string | undefined) {
    const settings = requireOAuth(account);
    const profile = hostFor(account.kind).oauth;
    const { authorize, token } = profile.endpoints(account);
    const server: oauth.AuthorizationServer = { issuer: account.url, authorization_endpoint: authorize, token_endpoint: token };
    const client: oauth.Client = { client_id: settings.clientId };
    const auth = clientSecret !== undefined ? oauth.ClientSecretBasic(clientSecret) : oauth.None();
    const options: oauth.TokenEndpointRequestOptions = {
      // Plain http only towards this machine (the simulator); account URLs are validated so.
      [oauth.allowInsecureRequests]: new URL(account.url).protocol === 'http:' && isLoopbackHost(new URL(account.url).hostname),
      signal: () => AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      // git's proxy and CA settings, as for every request to Bitbucket.
      [oauth.customFetch]: fetchLikeGit,
    };
    return { server, client, auth, options };
  }

  private async tokenRequest(send: () => Promise<Response>, process: (response: Response) => Promise<oauth.TokenEndpointResponse>): Promise<TokenSet> {
    let response: Response;
    try {
      response = await send();
    } catch (error) {
      throw new OAuthUnavailableError(`the token endpoint cannot be reached (${describeNetworkError(error)})`);
    }
    if (response.status >= 500 || response.status === 429) {
      throw new OAuthUnavailableError(`the token endpoint answered HTTP ${response.status}`);
    }
    let result: oauth.TokenEndpointResponse;
    try {
      result = await process(response);
    } catch (error) {
      // Only an OAuth error from the server rejects the grant. Anything else (a proxy's or a
      // captive portal's page, a malformed answer) says nothing about the tokens: retry later.
      if (error instanceof oauth.ResponseBodyError || error instanceof oauth.WWWAuthenticateChallengeError) throw rejected(error);
      throw new OAuthUnavailableError(`the token endpoint gave an unusable answer (HTTP ${response.status})`);
    }
    const lifetime = typeof result.expires_in === 'number' && result.expires_in > 0 ? result.expires_in : DEFAULT_LIFETIME_SECONDS;
    const set: TokenSet = { accessToken: result.access_token, expiresAt: this.now() + lifetime * 1000 };
    if (typeof result.refresh_token === 'string' && result.refresh_token !== '') set.refreshToken = result.refresh_token;
    return set;
  }
}

function requireOAuth(account: Account) {
  if (!account.oauth) throw new OAuthRejectedError('not_configured', `account ${account.name} has no OAuth client configured`);
  return account.oauth;
}

/** Maps oauth4webapi's errors to ours. Token values never appear: only codes and descriptions. */
function rejected(error: unknown): OAuthRejectedError {
  if (error instanceof oauth.ResponseBodyError || error instanceof oauth.AuthorizationResponseError) {
    const description = error.error_description ? `: ${error.error_description}` : '';
    return new OAuthRejectedError(error.error, `${error.error}${description}`);
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) return new OAuthRejectedError('invalid_client', 'the client credentials were refused');
  return new OAuthRejectedError('invalid_response', `unexpected answer from the token endpoint (${(error as Error).message})`);
}

function describeNetworkError(error: unknown): string {
  if (error instanceof NetworkSetupError) return error.message;
  const cause = (error as { cause?: { code?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((error as Error).name === 'TimeoutError') return 'timed out';
  return (error as Error).message;
}
