// `account add|set-secret|set-email|verify|list|remove` (`set-oauth` in set-oauth-command.ts);
// their usage is in the command table (commands.ts).

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import {
  ACCOUNT_KINDS,
  STATIC_SECRET_KINDS,
  basePathOf,
  describeIdentity,
  inferKind,
  normaliseBaseUrl,
  originOf,
  validateAccountName,
  validateEmail,
  validateUsername,
  type Account,
  type AccountKind,
  type StaticSecretKind,
} from '../core/accounts.js';
import { readConfig, updateConfig } from '../core/config.js';
import { describeSecretKind, hostFor } from '../core/hosts/host.js';
import { validateSecretEnvName } from '../core/secrets/env-secret.js';
import { chooseSecretStore, deleteAccountSecrets, openSecretStore } from '../core/secrets/open-store.js';
import { SECRET_STORE_KINDS, type SecretSlot, type SecretStore, type SecretStoreKind } from '../core/secrets/secret-store.js';
import { UNKNOWN_MARK, describeAuth, describeState, secretStoreProblemOf, summariseAccounts } from './account-summary.js';
import { describeResult, describeVerifications, routeSpaces, verifySavedAccount, type CredentialVerification } from './account-verification.js';
import { verifyCredential } from '../core/hosts/verify-credential.js';
import type { VerifyRequest } from '../core/hosts/rest/verification.js';
import { isNetworkProblem } from '../core/hosts/rest/http.js';
import { dropLoginIfDaemonRuns } from './oauth-session.js';
import { oauthSettingsFromFlags } from './set-oauth-command.js';
import { tellDaemonSecretsChanged } from './secrets-changed.js';
import { keepIdentitiesInStep } from './identity-refresh.js';
import { UserError } from '../core/errors.js';
import { parseExpiry } from '../core/expiry.js';
import { scopesInstalledFor } from '../installer/plan.js';
import { installRecordFile, readInstallRecord } from '../installer/record.js';
import { printJson, printTable, readSecretsFromStdin } from './io.js';

export async function addAccount(args: string[], paths: ProductPaths): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      username: { type: 'string' },
      email: { type: 'string' },
      'no-verify': { type: 'boolean', default: false },
      kind: { type: 'string' },
      'secret-stdin': { type: 'boolean', default: false },
      'secret-env': { type: 'string' },
      'secret-kind': { type: 'string' },
      'secret-store': { type: 'string' },
      expires: { type: 'string' },
      'oauth-client-id': { type: 'string' },
      'oauth-client-secret-stdin': { type: 'boolean', default: false },
      'redirect-port': { type: 'string' },
      scopes: { type: 'string' },
    },
  });
  const name = validateAccountName(onePositional(positionals, 'NAME'));
  if (!values.url) throw new UserError('--url is required (https://bitbucket.org for Bitbucket Cloud)');
  if (!values.username) throw new UserError('--username is required (your Bitbucket username, not your e-mail address)');
  const url = normaliseBaseUrl(values.url);
  const kind = values.kind ? parseKind(values.kind) : inferKind(url);
  // Only where the URL itself says this kind: a --kind against the URL (a Data Center given as
  // Cloud, a Cloud stand-in on another host) is left to the check with Bitbucket, which tells
  // the two products apart.
  const base = inferKind(url) === kind ? baseOfRepositoryUrl(url, kind) : undefined;
  if (base) throw new UserError(`--url ${url} is the address of a repository or workspace, not of Bitbucket: use the base URL, --url ${base}`);
  const account: Account = { name, kind, url, username: validateUsername(values.username) };
  if (values.email !== undefined) account.email = validateEmail(values.email);

  const selectedStore = openSecretStore(paths);
  let store: SecretStore = selectedStore;
  const chosenStore = values['secret-store'] === undefined ? undefined : parseSecretStoreKind(values['secret-store']);
  if (values['secret-stdin'] && values['secret-env'] !== undefined) throw new UserError('--secret-stdin and --secret-env exclude each other: the secret is either stored or read from the environment');
  if (values['secret-env'] !== undefined) account.secretEnv = validateSecretEnvName(values['secret-env']);
  if (values['secret-stdin'] || account.secretEnv) {
    // Refused before stdin is read; without --secret-kind the secret's prefix decides (below).
    if (values['secret-kind'] !== undefined) usableSecretKind(kind, values['secret-kind']);
    if (values.expires !== undefined) account.secretExpiresAt = parseExpiry(values.expires);
  } else if (values['secret-kind'] || values.expires) {
    throw new UserError('--secret-kind and --expires go with --secret-stdin or --secret-env');
  }
  const clientId = values['oauth-client-id'];
  if (clientId !== undefined) {
    account.oauth = oauthSettingsFromFlags(clientId, values);
    if (hostFor(kind).oauth.requiresClientSecret && !values['oauth-client-secret-stdin']) {
      throw new UserError('a Bitbucket Cloud OAuth consumer has a secret: pipe it and pass --oauth-client-secret-stdin');
    }
  } else if (values['oauth-client-secret-stdin'] || values['redirect-port'] || values.scopes) {
    throw new UserError('--oauth-client-secret-stdin, --redirect-port and --scopes go with --oauth-client-id');
  }
  // Checked again under the lock below; this early look spares a network check for a name in use.
  if (readConfig(paths.configFile).accounts.some((existing) => existing.name === name)) {
    throw new UserError(`account ${name} exists; change its secret with \`account set-secret ${name}\` or remove it first`);
  }
  if (!values['secret-stdin'] && !account.secretEnv && clientId === undefined) {
    throw new UserError(
      `account ${name} needs a secret or an OAuth client, and was not added: pipe the secret and add --secret-stdin (\`printf %s "$TOKEN" | git-credential-bitbucket account add ${name} ... --secret-stdin\`), or add --oauth-client-id ID and then run \`git-credential-bitbucket login ${name}\``,
    );
  }
  const wanted = [values['secret-stdin'], values['oauth-client-secret-stdin']].filter(Boolean).length;
  const piped = wanted > 0 ? await readSecretsFromStdin(wanted) : [];
  const secret = values['secret-stdin'] ? piped.shift() : undefined;
  const clientSecret = values['oauth-client-secret-stdin'] ? piped.shift() : undefined;
  // The variable's value is read only to check it and to tell its kind by its prefix; it is never saved.
  const fromEnv = account.secretEnv ? process.env[account.secretEnv] || undefined : undefined;
  if (account.secretEnv && fromEnv === undefined && !values['no-verify']) {
    throw new UserError(`environment variable ${account.secretEnv} is not set here, so the secret cannot be checked; set it, or add --no-verify. Nothing was saved.`);
  }
  const checked = secret ?? fromEnv;
  if (secret !== undefined || account.secretEnv) account.secretKind = usableSecretKind(kind, values['secret-kind'] ?? (checked === undefined ? undefined : hostFor(kind).secretKindOf(checked)));
  const verified =
    checked !== undefined && !values['no-verify']
      ? await verifyBeforeSaving(account, checked, {
          hints: [],
          renewHint: 'run `account add` again with the right one',
          emailHint: 'add --email ADDRESS, or --no-verify to save it unchecked',
        })
      : undefined;
  // Under the config lock from the existence check to the write, so two concurrent adds of one
  // name cannot interleave (the loser would otherwise roll back the winner's secret). The secret
  // goes first: a config entry pointing at a missing secret would fail later, at git time.
  const written: SecretSlot[] = [];
  await updateConfig(paths.configFile, async (config) => {
    if (config.accounts.some((existing) => existing.name === name)) {
      throw new UserError(`account ${name} exists; change its secret with \`account set-secret ${name}\` or remove it first`);
    }
    if (chosenStore) store = await chooseSecretStore(selectedStore, config, chosenStore);
    for (const [slot, value] of [['static', secret], ['oauth-client-secret', clientSecret]] as const) {
      if (value === undefined) continue;
      await store.set({ account: name, slot }, value);
      written.push(slot);
    }
    config.accounts.push(account);
  }).catch(async (error: unknown) => {
    // Undo only what this run wrote; never touch a secret that was there before.
    for (const slot of written) await store.delete({ account: name, slot });
    throw error;
  });
  const secretNote = account.secretEnv
    ? `${describeSecretKind(account.secretKind!)} from environment variable ${account.secretEnv} (read when git needs it, never stored)`
    : account.secretKind
      ? `${describeSecretKind(account.secretKind)} in the ${store.name} store${store.plaintext ? ` (plaintext: ${store.location})` : ''}`
      : 'no static secret';
  await tellDaemonSecretsChanged(paths, name);
  const oauthNote = account.oauth ? `; OAuth client ${account.oauth.clientId}: run \`git-credential-bitbucket login ${name}\` to log in` : '';
  process.stdout.write(`Added account ${name}: ${kind}, ${url}, user ${account.username}, ${secretNote}${oauthNote}.\n`);
  if (verified) process.stdout.write(describeVerifications([verified]));
  else if (checked !== undefined || account.secretEnv) process.stdout.write(`Not verified (--no-verify): check it with \`git-credential-bitbucket account verify ${name}\`.\n`);
  keepIdentitiesInStep(paths, `Account ${name} was added`);
  return 0;
}

export async function setSecret(args: string[], paths: ProductPaths): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'secret-stdin': { type: 'boolean', default: false },
      'secret-kind': { type: 'string' },
      expires: { type: 'string' },
      'no-verify': { type: 'boolean', default: false },
    },
  });
  const name = onePositional(positionals, 'NAME');
  if (!values['secret-stdin']) throw new UserError('pipe the secret and pass --secret-stdin');
  const config = readConfig(paths.configFile);
  const account = findAccount(config.accounts, name);
  if (account.secretEnv) {
    throw new UserError(`account ${name} takes its secret from the environment variable ${account.secretEnv}, so a stored one would never be used; change the variable, or remove the account and add it again with --secret-stdin`);
  }
  if (values['secret-kind'] !== undefined) usableSecretKind(account.kind, values['secret-kind']);
  const [secret] = (await readSecretsFromStdin(1)) as [string];
  // A new secret may be of another kind than the old one: its prefix says so, if it has one.
  const secretKind = usableSecretKind(account.kind, values['secret-kind'] ?? hostFor(account.kind).secretKindOf(secret) ?? account.secretKind);
  const expiresAt = values.expires === undefined ? undefined : parseExpiry(values.expires);
  const candidate: Account = { ...account, secretKind };
  if (expiresAt) candidate.secretExpiresAt = expiresAt;
  else delete candidate.secretExpiresAt;
  const verified = values['no-verify']
    ? undefined
    : await verifyBeforeSaving(candidate, secret, {
        hints: routeSpaces(account, config),
        renewHint: 'run `account set-secret` again with the right one',
        emailHint: `run \`git-credential-bitbucket account set-email ${name} ADDRESS\` first, or add --no-verify`,
      });
  const store = openSecretStore(paths);
  await store.set({ account: name, slot: 'static' }, secret);
  await updateConfig(paths.configFile, (config) => {
    const target = findAccount(config.accounts, name);
    target.secretKind = secretKind;
    // A new secret has its own expiry: the old one's date no longer applies.
    if (expiresAt) target.secretExpiresAt = expiresAt;
    else delete target.secretExpiresAt;
  });
  await tellDaemonSecretsChanged(paths, name);
  process.stdout.write(`Stored a new ${describeSecretKind(secretKind)} for account ${name} in the ${store.name} store.\n`);
  if (verified) process.stdout.write(describeVerifications([verified]));
  return 0;
}

export async function setEmail(args: string[], paths: ProductPaths): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 2) throw new UserError('expected NAME ADDRESS');
  const [name, rawEmail] = positionals as [string, string];
  const email = validateEmail(rawEmail);
  await updateConfig(paths.configFile, (config) => {
    findAccount(config.accounts, name).email = email;
  });
  process.stdout.write(`Account ${name}: e-mail ${email} (used only to check its API token with Bitbucket's REST API).\n`);
  return 0;
}

export async function verifyAccounts(args: string[], paths: ProductPaths): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  if (positionals.length > 1) throw new UserError('expected at most one NAME');
  const config = readConfig(paths.configFile);
  const accounts = positionals.length === 1 ? [findAccount(config.accounts, positionals[0]!)] : config.accounts;
  if (accounts.length === 0) throw new UserError('no accounts to verify; add one with `git-credential-bitbucket account add`');
  const store = openSecretStore(paths);
  const results: CredentialVerification[] = [];
  for (const account of accounts) results.push(...(await verifySavedAccount(account, config, store, paths, true)));
  if (values.json) printJson(results);
  else process.stdout.write(describeVerifications(results));
  return results.every((result) => result.status === 'pass') ? 0 : 1;
}

/** Checks a secret before anything is saved; a failure is the user's to fix, so it is a UserError. */
export async function verifyBeforeSaving(account: Account, secret: string, request: Pick<VerifyRequest, 'hints' | 'renewHint' | 'emailHint'>): Promise<CredentialVerification> {
  const secretKind = account.secretKind!;
  const result = await verifyCredential({ account, credential: { kind: secretKind, username: hostFor(account.kind).gitUsername(account, secretKind), secret }, ...request });
  if (!result.ok) {
    // Only when Bitbucket could not be asked may saving unchecked help; a refused secret stays wrong.
    const unasked = isNetworkProblem(result.code);
    throw new UserError(
      `account ${account.name} (${account.url}): ${result.message}. Nothing was saved.${unasked ? ' To save it without checking, add --no-verify.' : ''}`,
    );
  }
  return describeResult(account.name, describeSecretKind(secretKind), result);
}

export async function listAccounts(args: string[], paths: ProductPaths): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const rows = await summariseAccounts(readConfig(paths.configFile), openSecretStore(paths), paths);
  if (values.json) {
    printJson(rows);
  } else if (rows.length === 0) {
    process.stdout.write('No accounts. Add one with `git-credential-bitbucket account add`.\n');
  } else {
    // The identity column only once some account has one: the table stays narrow until then.
    const identities = rows.some((row) => row.identity);
    printTable(
      ['NAME', 'KIND', 'URL', 'USERNAME', 'AUTH', 'STATE', ...(identities ? ['COMMITS AS'] : [])],
      rows.map((row) => [row.name, row.kind, row.url, row.username, describeAuth(row, 'brief'), describeState(row), ...(identities ? [row.identity ? describeIdentity(row.identity) : '-'] : [])]),
    );
    if (rows.some((row) => row.oauth?.needsLogin || row.expiryWarning || (row.secretKind && row.secretStored === false))) {
      process.stdout.write('Some accounts need attention: `git-credential-bitbucket status` says what to do.\n');
    }
  }
  // The accounts are listed all the same; only what needs the store is marked.
  const problem = secretStoreProblemOf(rows);
  if (problem === null) return 0;
  process.stderr.write(`git-credential-bitbucket: ${UNKNOWN_MARK} marks what is unknown because the secret store cannot be read: ${problem}\n`);
  return 1;
}

export async function removeAccount(args: string[], paths: ProductPaths): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const name = onePositional(positionals, 'NAME');
  const store = openSecretStore(paths);
  // A store that cannot be used fails here, before the config changes.
  const held = (await store.list()).filter((ref) => ref.account === name).length;
  const { removedRoutes, url, urlStillUsed } = await updateConfig(paths.configFile, (config) => {
    const { url } = findAccount(config.accounts, name);
    config.accounts = config.accounts.filter((account) => account.name !== name);
    const removedRoutes = config.routes.filter((route) => route.account === name);
    config.routes = config.routes.filter((route) => route.account !== name);
    return { removedRoutes, url, urlStillUsed: config.accounts.some((account) => account.url === url) };
  });
  // The daemon lets go of the OAuth tokens first (none running: nobody else writes them).
  await dropLoginIfDaemonRuns(paths, name);
  await deleteAccountSecrets(store, name);
  await tellDaemonSecretsChanged(paths, name);
  process.stdout.write(
    `Removed account ${name}, ${held} secret(s) from the ${store.name} store` +
      (removedRoutes.length ? ` and its routes ${removedRoutes.map((route) => route.pattern).join(', ')}` : '') +
      '.\n',
  );
  keepIdentitiesInStep(paths, `Account ${name} was removed`);
  // Our empty `helper =` line for the URL would keep the user's own helpers from answering there.
  const scopes = urlStillUsed ? [] : scopesInstalledFor(readInstallRecord(installRecordFile(paths)), url);
  if (scopes.length > 0) {
    const commands = scopes.map((scope) => `\`git-credential-bitbucket install${scope === 'global' ? '' : ` --scope ${scope}`}\`${scope === 'local' ? ' (in that repository)' : ''}`);
    process.stdout.write(`No account is left on ${url}, but git still asks this helper for it: run ${commands.join(' and ')} to remove that from git's config.\n`);
  }
  return 0;
}

export function findAccount(accounts: Account[], name: string): Account {
  const account = accounts.find((candidate) => candidate.name === name);
  if (!account) {
    const known = accounts.map((candidate) => candidate.name).join(', ') || 'none';
    throw new UserError(`no account named ${name} (accounts: ${known}); see \`git-credential-bitbucket account list\``);
  }
  return account;
}

function parseSecretStoreKind(kind: string): SecretStoreKind {
  if (!(SECRET_STORE_KINDS as readonly string[]).includes(kind)) throw new UserError(`--secret-store must be one of ${SECRET_STORE_KINDS.join(', ')}`);
  return kind as SecretStoreKind;
}

function parseKind(kind: string): AccountKind {
  if (!(ACCOUNT_KINDS as readonly string[]).includes(kind)) throw new UserError(`--kind must be one of ${ACCOUNT_KINDS.join(', ')}`);
  return kind as AccountKind;
}

export function usableSecretKind(kind: AccountKind, requested: string | undefined): StaticSecretKind {
  const host = hostFor(kind);
  const secretKind = requested ?? host.defaultSecretKind;
  if (!(STATIC_SECRET_KINDS as readonly string[]).includes(secretKind)) {
    throw new UserError(`--secret-kind must be one of ${STATIC_SECRET_KINDS.join(', ')}`);
  }
  const unusable = host.unusableSecretReason(secretKind as StaticSecretKind);
  if (unusable) throw new UserError(unusable);
  return secretKind as StaticSecretKind;
}

/**
 * The base URL when `url` is what people copy from a clone dialog or a browser (it names a
 * workspace or project, as the host reads repository paths), else undefined.
 */
function baseOfRepositoryUrl(url: string, kind: AccountKind): string | undefined {
  const { protocol, host } = originOf(url);
  const segments = basePathOf(url).split('/').filter(Boolean);
  for (let i = 0; i < segments.length; i++) {
    if (hostFor(kind).spaceOfPath(segments.slice(i)) !== undefined) return [`${protocol}://${host}`, ...segments.slice(0, i)].join('/');
  }
  return undefined;
}

export function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UserError(`expected exactly one ${what}`);
  return positionals[0]!;
}
