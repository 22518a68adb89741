// Bitbucket Cloud's REST API 2.0, as far as checking a credential and listing workspaces go.
//
// The REST API and git disagree about API tokens: REST takes them with the Atlassian account
// e-mail, git with the Bitbucket username (or x-bitbucket-api-token-auth). So the identity check
// uses the e-mail and the git probe the username, and each failure names which one was wrong.
// A missing scope comes back as 403 "Your credentials lack one or more required privilege scopes"
// with `detail.required` (seen in gildas/bitbucket-cli#56), which we quote.

import { TOKEN_USERNAMES, type Account } from '../../accounts.js';
import { apiGet, cleanCloneUrl, sameOriginLink, withQuery, type ApiResponse, type Authorization } from '../rest/http.js';
import { probeGit, type ProbeTarget } from '../rest/git-probe.js';
import { MAX_PAGES, addSpaceName, arrayField, stringField } from '../rest/json.js';
import {
  VerifyFailure,
  recordedExpiryPassed,
  savedAccountHints,
  unexpectedAnswer,
  type Check,
  type ProbeCredential,
  type VerifyRequest,
} from '../rest/verification.js';

const API_TOKENS_PAGE = 'https://id.atlassian.com/manage-profile/security/api-tokens';
const READ_SCOPE = 'read:repository:bitbucket';
const WRITE_SCOPE = 'write:repository:bitbucket';
/** Scopes that only the REST checks need; a token without them still works for git. */
const USER_SCOPES = new Set(['read:user:bitbucket', 'account']);
/** Cloud app passwords carry this prefix; they stopped working on 2026-06-09. */
const APP_PASSWORD_PREFIX = 'ATBB';

/** https://bitbucket.org → https://api.bitbucket.org/2.0; a stand-in (the simulator) serves /2.0 itself. */
function cloudRestBase(account: Pick<Account, 'url'>): string {
  const url = new URL(account.url);
  return url.hostname === 'bitbucket.org' ? 'https://api.bitbucket.org/2.0' : `${account.url}/2.0`;
}

/** The e-mail the REST API needs with an API token: --email, or a username that is really an e-mail. */
function restEmail(account: Account): string | undefined {
  return account.email ?? (account.username.includes('@') ? account.username : undefined);
}

function restAuthorization(account: Account, credential: ProbeCredential, emailHint: string): Authorization {
  if (credential.kind === 'oauth' || credential.kind === 'access-token') return { scheme: 'bearer', secret: credential.secret };
  if (credential.kind === 'api-token') {
    const email = restEmail(account);
    if (!email) {
      throw new VerifyFailure(
        'needs-email',
        `checking a Cloud API token needs the Atlassian account e-mail (Bitbucket's REST API takes API tokens only with it; git uses the username): ${emailHint}`,
      );
    }
    return { scheme: 'basic', username: email, secret: credential.secret };
  }
  return { scheme: 'basic', username: account.username, secret: credential.secret };
}

export async function verifyCloud(request: VerifyRequest, checks: Check[]): Promise<string | undefined> {
  const { account, credential } = request;
  const rest = cloudRestBase(account);
  const auth = restAuthorization(account, credential, request.emailHint);
  const me = await apiGet(`${rest}/user`, auth);
  const meMissing = me.status === 403 ? missingScopes(me) : undefined;
  let user: string | undefined;
  if (me.status === 200) {
    user = stringField(me.json, 'username');
    if (!user) throw unexpectedAnswer(`${rest}/user`, me.status, me.headers, 'no username in the answer');
    checkIdentity(account, credential, user);
    checks.push({ name: 'credential', status: 'pass', detail: `Bitbucket Cloud accepts it: user ${user}` });
  } else if (me.status === 401) {
    throw refusal(request);
  } else if (meMissing) {
    if (!meMissing.every((scope) => USER_SCOPES.has(scope))) throw scopeFailure(credential, meMissing, 'Bitbucket needs to check it');
    // Valid (a bad token is a 401), but we cannot learn the username: the git probe checks it.
    if (account.username.includes('@') && credential.kind !== 'oauth') throw emailAsUsername(account, undefined);
    checks.push({ name: 'credential', status: 'pass', detail: `Bitbucket Cloud accepts it (the username is checked through git: the token lacks ${meMissing.join(', ')})` });
  } else if (me.status === 403 && credential.kind === 'access-token') {
    // Access tokens belong to a repository, project or workspace; /2.0/user has no user for them.
    checks.push({ name: 'credential', status: 'pass', detail: 'Bitbucket Cloud accepts the access token (it belongs to a repository, project or workspace, not a user)' });
  } else if (me.status === 404) {
    // No Cloud API here; the caller asks the other kinds whether the URL is theirs.
    throw new VerifyFailure('wrong-kind', `${account.url} does not answer Bitbucket Cloud's API (${rest}/user: 404): check the URL, or use --kind datacenter for a self-hosted Bitbucket`);
  } else {
    throw unexpectedAnswer(`${rest}/user`, me.status, me.headers, errorMessage(me));
  }

  const target = await findRepository(request, auth, checks);
  if (!target) {
    // Neither /2.0/user nor git saw the username: passing now would store a username nobody checked.
    if (!user && (credential.kind === 'api-token' || credential.kind === 'app-password') && !TOKEN_USERNAMES.has(account.username)) {
      throw new VerifyFailure(
        'unverified-username',
        `Bitbucket accepts the token, but the username ${account.username} could not be checked: the token lacks read:user:bitbucket and no repository was reachable to try git with. Give the token read:user:bitbucket (or read:workspace:bitbucket), or save it with --no-verify and run \`git-credential-bitbucket account verify ${account.name}\` after adding a route that names a workspace`,
      );
    }
    return user;
  }
  await probeGit(
    target,
    credential,
    { scheme: 'basic', username: credential.username, secret: credential.secret },
    {
      refused:
        credential.kind === 'api-token' || credential.kind === 'app-password'
          ? `git refused the username ${account.username} with this token although Bitbucket's API accepted the token${user ? `: the token belongs to ${user}; use --username ${user}` : '; use the Bitbucket username of the account that created it (Bitbucket → Personal settings → Account settings)'}`
          : `git refused the token on ${target.name} although Bitbucket's API accepted it; ${request.renewHint}`,
      ...(credential.kind === 'api-token' && { readScope: READ_SCOPE, writeScope: WRITE_SCOPE }),
    },
    checks,
  );
  return user;
}

/** The workspaces the credential can see (`route suggest`); a VerifyFailure says why it cannot list them. */
export async function listCloudWorkspaces(account: Account, credential: ProbeCredential, hints = savedAccountHints(account.name)): Promise<string[]> {
  const rest = cloudRestBase(account);
  const auth = restAuthorization(account, credential, hints.emailHint);
  const slugs: string[] = [];
  let next: string | undefined = withQuery(`${rest}/user/workspaces`, { pagelen: 100 });
  for (let page = 0; next && page < MAX_PAGES; page++) {
    const answer = await apiGet(next, auth);
    if (answer.status === 401) throw refusal({ account, credential, hints: [], ...hints });
    if (answer.status === 403) {
      const scopes = missingScopes(answer);
      throw new VerifyFailure(
        'missing-scope',
        scopes
          ? `cannot list the workspaces of account ${account.name}: ${describeScopeGap(credential, scopes)}`
          : `cannot list workspaces with account ${account.name}'s ${credential.kind === 'access-token' ? 'access token (it belongs to one repository, project or workspace; add its route by hand)' : 'credential'} (403)`,
      );
    }
    if (answer.status !== 200) throw unexpectedAnswer(`${rest}/user/workspaces`, answer.status, answer.headers, errorMessage(answer));
    for (const value of arrayField(answer.json, 'values')) addSpaceName(slugs, stringField((value as Record<string, unknown>)?.workspace, 'slug'));
    // Credentials go only where they came from, whatever a response says.
    next = sameOriginLink(stringField(answer.json, 'next'), rest);
  }
  if (next) throw new VerifyFailure('unexpected-answer', `account ${account.name} reaches more than ${MAX_PAGES} pages of workspaces; add routes by hand`);
  return slugs;
}

async function findRepository(request: VerifyRequest, auth: Authorization, checks: Check[]): Promise<ProbeTarget | undefined> {
  const { account, credential } = request;
  let workspaces = request.hints;
  if (workspaces.length === 0 && credential.kind !== 'access-token') {
    try {
      workspaces = await listCloudWorkspaces(account, credential, request);
    } catch (error) {
      if (!(error instanceof VerifyFailure) || error.code !== 'missing-scope') throw error;
      checks.push({ name: 'workspaces', status: 'warn', detail: `${error.message}; \`route suggest\` needs that scope` });
    }
  }
  const rest = cloudRestBase(account);
  for (const workspace of workspaces.slice(0, 5)) {
    const answer = await apiGet(withQuery(`${rest}/repositories/${encodeURIComponent(workspace)}`, { pagelen: 1 }), auth);
    const missing = answer.status === 403 ? missingScopes(answer) : undefined;
    if (missing) throw scopeFailure(credential, missing, 'git needs it to fetch');
    if (answer.status === 404) continue;
    if (answer.status !== 200) throw unexpectedAnswer(`${rest}/repositories/${workspace}`, answer.status, answer.headers, errorMessage(answer));
    const repository = arrayField(answer.json, 'values')[0] as Record<string, unknown> | undefined;
    const clone = arrayField((repository?.links as Record<string, unknown> | undefined)?.clone, undefined).find(
      (link) => stringField(link, 'name') === 'https',
    );
    const href = stringField(clone, 'href');
    if (!repository || !href) continue;
    const name = stringField(repository, 'full_name') ?? workspace;
    checks.push({ name: 'repository read', status: 'pass', detail: `can read ${name} through the API` });
    const cloneUrl = cleanCloneUrl(href, account.url);
    if (cloneUrl) return { name, cloneUrl };
    checks.push({ name: 'git fetch', status: 'warn', detail: `not checked: the clone link of ${name} is not under ${account.url}, and the credential goes nowhere else` });
    return undefined;
  }
  checks.push({
    name: 'git fetch',
    status: 'warn',
    detail:
      workspaces.length === 0
        ? `not checked: no workspace to look in (add a route such as ${account.url}/WORKSPACE/* and run \`account verify\`)`
        : `not checked: no repository found in ${workspaces.slice(0, 5).join(', ')}`,
  });
  return undefined;
}

function checkIdentity(account: Account, credential: ProbeCredential, user: string): void {
  if ((credential.kind !== 'api-token' && credential.kind !== 'app-password') || TOKEN_USERNAMES.has(account.username)) return;
  if (account.username.includes('@')) throw emailAsUsername(account, user);
  if (user.toLowerCase() !== account.username.toLowerCase()) {
    throw new VerifyFailure('wrong-username', `the token belongs to Bitbucket user ${user}, not ${account.username}: use --username ${user}`);
  }
}

function emailAsUsername(account: Account, user: string | undefined): VerifyFailure {
  return new VerifyFailure(
    'email-as-username',
    `${account.username} is an e-mail address, but git needs the Bitbucket username${user ? `, which for this token is ${user}: use --username ${user}` : ' (Bitbucket → Personal settings → Account settings): use --username USERNAME'} --email ${account.username}`,
  );
}

function refusal(request: VerifyRequest): VerifyFailure {
  const { account, credential, renewHint } = request;
  if (credential.secret.startsWith(APP_PASSWORD_PREFIX) || credential.kind === 'app-password') {
    return new VerifyFailure(
      'app-password',
      `Bitbucket Cloud refused the secret: it is an app password, and Cloud app passwords stopped working on 2026-06-09. Create an API token with ${READ_SCOPE} and ${WRITE_SCOPE} at ${API_TOKENS_PAGE}; then ${renewHint} (--secret-kind api-token)`,
    );
  }
  const expired = recordedExpiryPassed(account);
  if (expired) return new VerifyFailure('expired', `Bitbucket Cloud refused the token (401); it expired on ${expired}: create a new one and ${renewHint}`);
  switch (credential.kind) {
    case 'api-token': {
      const email = restEmail(account)!;
      return new VerifyFailure(
        'refused',
        `Bitbucket Cloud refused the API token with the e-mail ${email} (401): the token is wrong, revoked or past its expiry date, or ${email} is not the e-mail of the Atlassian account that created it. Check it at ${API_TOKENS_PAGE}; then ${renewHint}`,
      );
    }
    case 'access-token':
      return new VerifyFailure('refused', `Bitbucket Cloud refused the access token (401): it is wrong, revoked or expired (repository, project or workspace settings → Access tokens); then ${renewHint}`);
    case 'oauth':
      return new VerifyFailure('refused', `Bitbucket Cloud refused the OAuth access token (401): log in again with \`git-credential-bitbucket login ${account.name}\``);
    default:
      return new VerifyFailure('refused', `Bitbucket Cloud refused the secret (401); Cloud takes API tokens, access tokens and OAuth, see ${API_TOKENS_PAGE}`);
  }
}

function scopeFailure(credential: ProbeCredential, scopes: string[], why: string): VerifyFailure {
  return new VerifyFailure('missing-scope', `${describeScopeGap(credential, scopes)} (${why}; Bitbucket answered 403)`);
}

function describeScopeGap(credential: ProbeCredential, scopes: string[]): string {
  const list = scopes.join(', ');
  if (credential.kind === 'oauth') return `the OAuth consumer lacks the permission ${list}: tick it in the consumer's settings, then log in again`;
  return `the token lacks the scope ${list}: create a token with ${[...new Set([...scopes, READ_SCOPE, WRITE_SCOPE])].join(', ')} at ${API_TOKENS_PAGE}`;
}

/** Does the account's URL answer Cloud's /2.0 API? Its error object comes even without a credential. */
export async function answersCloudApi(account: Account): Promise<boolean> {
  const answer = await apiGet(`${cloudRestBase(account)}/user`, undefined).catch(() => undefined);
  return (answer?.json as { type?: unknown } | undefined)?.type === 'error';
}

function missingScopes(answer: ApiResponse): string[] | undefined {
  const detail = (answer.json as { error?: { detail?: { required?: unknown } } } | undefined)?.error?.detail;
  const required = detail?.required;
  return Array.isArray(required) && required.every((scope) => typeof scope === 'string') && required.length > 0 ? (required as string[]) : undefined;
}

function errorMessage(answer: ApiResponse): string | undefined {
  return stringField((answer.json as { error?: unknown } | undefined)?.error, 'message');
}
