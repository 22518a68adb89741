// Bitbucket Data Center's REST API 1.0, as far as checking a credential and listing projects go.
// Git and REST take the same credential there (the user's slug with a password, personal access
// token or OAuth token), so one refusal means the same for both. A personal access token also
// works alone as a Bearer token, and Data Center names the authenticated user in X-AUSERNAME:
// that is how a wrong username (an e-mail, say) is told apart from a wrong token.

import { isBearerOnly, type Account } from '../../accounts.js';
import { apiGet, cleanCloneUrl, withQuery, type ApiResponse, type Authorization } from '../rest/http.js';
import { probeGit } from '../rest/git-probe.js';
import { MAX_PAGES, addSpaceName, arrayField, stringField } from '../rest/json.js';
import { VerifyFailure, recordedExpiryPassed, savedAccountHints, unexpectedAnswer, type Check, type ProbeCredential, type VerifyRequest } from '../rest/verification.js';

function authorization(account: Account, credential: ProbeCredential): Authorization {
  return isBearerOnly(credential.kind === 'oauth' ? undefined : credential.kind)
    ? { scheme: 'bearer', secret: credential.secret }
    : { scheme: 'basic', username: account.username, secret: credential.secret };
}

export async function verifyDataCenter(request: VerifyRequest, checks: Check[]): Promise<string | undefined> {
  const { account, credential } = request;
  const reposUrl = withQuery(`${account.url}/rest/api/1.0/repos`, { limit: 1 });
  const answer = await apiGet(reposUrl, authorization(account, credential));
  if (answer.status === 401) throw await refusal(request, reposUrl);
  if (answer.status === 404 || (answer.status === 200 && !Array.isArray((answer.json as { values?: unknown } | undefined)?.values))) {
    // No Data Center API here; the caller asks the other kinds whether the URL is theirs.
    throw new VerifyFailure(
      'wrong-kind',
      `${account.url} does not answer Bitbucket Data Center's REST API (${account.url}/rest/api/1.0): check the URL; it must include the context path, e.g. https://git.example.com/bitbucket`,
    );
  }
  if (answer.status === 403) {
    const what = credential.kind === 'password' ? 'the user' : 'the token';
    throw new VerifyFailure('no-repository-access', `Bitbucket Data Center at ${account.url} accepts ${account.username} but may not list repositories (403: ${dcMessage(answer) ?? 'forbidden'}): give ${what} at least Repository read permission`);
  }
  if (answer.status !== 200) throw unexpectedAnswer(reposUrl, answer.status, answer.headers, dcMessage(answer));
  if (credential.kind === 'project-token') {
    // The token belongs to a project or repository, not a user: there is no profile to read.
    checks.push({ name: 'credential', status: 'pass', detail: 'Bitbucket Data Center accepts the project/repository access token (as Bearer)' });
    await probeFirstRepository(request, answer, checks);
    return undefined;
  }
  const user = answer.headers.get('x-ausername') ?? account.username;
  checks.push({ name: 'credential', status: 'pass', detail: `Bitbucket Data Center accepts it: user ${user}` });

  const profile = await apiGet(`${account.url}/rest/api/1.0/users/${encodeURIComponent(account.username)}`, authorization(account, credential));
  if (profile.status === 200) {
    checks.push({ name: 'user', status: 'pass', detail: `${stringField(profile.json, 'displayName') ?? user} (${stringField(profile.json, 'slug') ?? user})` });
  } else {
    checks.push({ name: 'user', status: 'warn', detail: `cannot read the profile of ${account.username} (${profile.status})` });
  }

  await probeFirstRepository(request, answer, checks);
  return user;
}

/** The git probe on the first repository the REST listing returned. */
async function probeFirstRepository(request: VerifyRequest, listing: ApiResponse, checks: Check[]): Promise<void> {
  const { account, credential } = request;
  const repository = arrayField(listing.json, 'values')[0] as Record<string, unknown> | undefined;
  if (!repository) {
    throw new VerifyFailure(
      'no-repository-access',
      `the credential works on ${account.url} but reaches no repository: give the token Repository read (or the user project access)`,
    );
  }
  const project = stringField(repository.project, 'key') ?? '?';
  const name = `${project}/${stringField(repository, 'slug') ?? '?'}`;
  const clone = arrayField((repository.links as Record<string, unknown> | undefined)?.clone, undefined).find((link) => stringField(link, 'name') === 'http');
  const cloneUrl = cleanCloneUrl(stringField(clone, 'href') ?? '', account.url);
  if (!cloneUrl) {
    // A base URL set wrong on the server can advertise another host: the credential goes nowhere else.
    checks.push({ name: 'git fetch', status: 'warn', detail: `not checked: ${name} has no HTTP clone link under ${account.url}` });
    return;
  }
  await probeGit({ name, cloneUrl }, credential, authorization(account, credential), { refused: `git refused the credential on ${name} although the REST API accepted it; ${request.renewHint}` }, checks);
}

/** Project keys the credential can read (`route suggest`). */
export async function listDataCenterProjects(account: Account, credential: ProbeCredential): Promise<string[]> {
  const keys: string[] = [];
  let start: number | undefined = 0;
  for (let page = 0; start !== undefined && page < MAX_PAGES; page++) {
    const url = withQuery(`${account.url}/rest/api/1.0/projects`, { start, limit: 100 });
    const answer = await apiGet(url, authorization(account, credential));
    if (answer.status === 401) throw await refusal({ account, credential, hints: [], ...savedAccountHints(account.name) }, url);
    if (answer.status !== 200) throw unexpectedAnswer(url, answer.status, answer.headers, dcMessage(answer));
    for (const value of arrayField(answer.json, 'values')) addSpaceName(keys, stringField(value, 'key'));
    const json = answer.json as { isLastPage?: unknown; nextPageStart?: unknown } | undefined;
    start = json?.isLastPage === false && typeof json.nextPageStart === 'number' && json.nextPageStart > start! ? json.nextPageStart : undefined;
  }
  if (start !== undefined) throw new VerifyFailure('unexpected-answer', `account ${account.name} reaches more than ${MAX_PAGES} pages of projects; add routes by hand`);
  return keys;
}

async function refusal(request: VerifyRequest, url: string): Promise<VerifyFailure> {
  const { account, credential, renewHint } = request;
  if (credential.kind === 'oauth') {
    return new VerifyFailure('refused', `Bitbucket Data Center refused the OAuth access token (401): log in again with \`git-credential-bitbucket login ${account.name}\``);
  }
  const expired = recordedExpiryPassed(account);
  if (credential.kind === 'project-token') {
    return new VerifyFailure(
      expired ? 'expired' : 'refused',
      `Bitbucket Data Center at ${account.url} refused the project/repository access token (401)${expired ? `; it expired on ${expired}` : ': it is wrong, revoked or past its expiry date (project or repository settings → HTTP access tokens)'}. ${capitalise(renewHint)}`,
    );
  }
  // A personal access token alone tells whose it is; a password or a wrong token does not.
  const owner = credential.kind === 'password' ? undefined : (await apiGet(url, { scheme: 'bearer', secret: credential.secret }).catch(() => undefined));
  const user = owner?.status === 200 ? owner.headers.get('x-ausername') ?? undefined : undefined;
  if (account.username.includes('@')) {
    return new VerifyFailure(
      'email-as-username',
      `${account.username} is an e-mail address, but Bitbucket Data Center needs the username (the slug in your profile URL)${user ? `, which for this token is ${user}: use --username ${user}` : ': use --username USERNAME'}`,
    );
  }
  if (user && user.toLowerCase() !== account.username.toLowerCase()) {
    return new VerifyFailure('wrong-username', `the token belongs to ${user}, not ${account.username}: use --username ${user}`);
  }
  if (expired) return new VerifyFailure('expired', `Bitbucket Data Center refused the token (401); it expired on ${expired}: create a new one (Manage account → HTTP access tokens) and ${renewHint}`);
  const what = credential.kind === 'password' ? 'password' : 'token';
  return new VerifyFailure(
    'refused',
    `Bitbucket Data Center at ${account.url} refused ${account.username} with this ${what} (401): the ${what} is wrong${what === 'token' ? ', revoked or past its expiry date (see Manage account → HTTP access tokens)' : ''}. ${capitalise(renewHint)}`,
  );
}

/** Does the account's URL answer Data Center's REST API (a listing, or its error list)? */
export async function answersDataCenterApi(account: Account, credential: ProbeCredential): Promise<boolean> {
  const answer = await apiGet(withQuery(`${account.url}/rest/api/1.0/repos`, { limit: 1 }), { scheme: 'basic', username: account.username, secret: credential.secret }).catch(() => undefined);
  const json = answer?.json as Record<string, unknown> | undefined;
  return Boolean(json && (Array.isArray(json.errors) || Array.isArray(json.values)));
}

function dcMessage(answer: ApiResponse): string | undefined {
  return stringField(arrayField(answer.json, 'errors')[0], 'message');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
