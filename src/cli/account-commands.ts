// `account add|list|remove|set-secret`.

import { parseArgs } from 'node:util';
import type { ProductPaths } from '../shared/paths.js';
import {
  ACCOUNT_KINDS,
  STATIC_SECRET_KINDS,
  inferKind,
  normaliseBaseUrl,
  validateAccountName,
  validateUsername,
  type Account,
  type AccountKind,
  type StaticSecretKind,
} from '../daemon/accounts.js';
import { readAccountStates } from '../daemon/account-state.js';
import { readConfig, updateConfig } from '../daemon/config.js';
import { describeSecretKind, hostFor } from '../daemon/hosts/host.js';
import { openSecretStore } from '../daemon/secrets/open-store.js';
import type { SecretSlot } from '../daemon/secrets/secret-store.js';
import { UserError } from './errors.js';
import { printJson, printTable, readSecretFromStdin, runSubcommand } from './io.js';

export const ACCOUNT_USAGE = `Usage:
  git-credential-bitbucket account add NAME --url BASE_URL --username USER [--kind cloud|datacenter]
                                       [--secret-stdin [--secret-kind ${STATIC_SECRET_KINDS.join('|')}]]
  git-credential-bitbucket account set-secret NAME --secret-stdin [--secret-kind KIND]
  git-credential-bitbucket account list [--json]
  git-credential-bitbucket account remove NAME

The secret is read from stdin (one line) and kept in the secret store, never in config.json.
--kind is inferred from the URL (bitbucket.org is cloud, any other host datacenter).
Default secret kind: api-token on cloud, access-token on datacenter.`;

export function accountCommand(args: string[], paths: ProductPaths): Promise<number> {
  return runSubcommand(args, paths, ACCOUNT_USAGE, { add: addAccount, 'set-secret': setSecret, list: listAccounts, remove: removeAccount });
}

async function addAccount(args: string[], paths: ProductPaths): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      username: { type: 'string' },
      kind: { type: 'string' },
      'secret-stdin': { type: 'boolean', default: false },
      'secret-kind': { type: 'string' },
    },
  });
  const name = validateAccountName(onePositional(positionals, 'NAME'));
  if (!values.url) throw new UserError('--url is required (https://bitbucket.org for Bitbucket Cloud)');
  if (!values.username) throw new UserError('--username is required (your Bitbucket username, not your e-mail address)');
  const url = normaliseBaseUrl(values.url);
  const kind = values.kind ? parseKind(values.kind) : inferKind(url);
  const account: Account = { name, kind, url, username: validateUsername(values.username) };

  const store = openSecretStore(paths);
  if (values['secret-stdin']) {
    account.secretKind = usableSecretKind(kind, values['secret-kind']);
  } else if (values['secret-kind']) {
    throw new UserError('--secret-kind goes with --secret-stdin');
  }
  const secret = values['secret-stdin'] ? readSecretFromStdin() : undefined;
  // Under the config lock from the existence check to the write, so two concurrent adds of one
  // name cannot interleave (the loser would otherwise roll back the winner's secret). The secret
  // goes first: a config entry pointing at a missing secret would fail later, at git time.
  let storedSecret = false;
  await updateConfig(paths.configFile, async (config) => {
    if (config.accounts.some((existing) => existing.name === name)) {
      throw new UserError(`account ${name} exists; change its secret with \`account set-secret ${name}\` or remove it first`);
    }
    if (secret !== undefined) {
      await store.set({ account: name, slot: 'static' }, secret);
      storedSecret = true;
    }
    config.accounts.push(account);
  }).catch(async (error: unknown) => {
    // Undo only what this run wrote; never touch a secret that was there before.
    if (storedSecret) await store.delete({ account: name, slot: 'static' });
    throw error;
  });
  const secretNote = account.secretKind
    ? `${describeSecretKind(account.secretKind)} in the ${store.name} store${store.plaintext ? ` (plaintext: ${store.location})` : ''}`
    : 'no secret yet';
  process.stdout.write(`Added account ${name}: ${kind}, ${url}, user ${account.username}, ${secretNote}.\n`);
  return 0;
}

async function setSecret(args: string[], paths: ProductPaths): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'secret-stdin': { type: 'boolean', default: false }, 'secret-kind': { type: 'string' } },
  });
  const name = onePositional(positionals, 'NAME');
  if (!values['secret-stdin']) throw new UserError('pipe the secret and pass --secret-stdin');
  const account = findAccount(readConfig(paths.configFile).accounts, name);
  const secretKind = usableSecretKind(account.kind, values['secret-kind'] ?? account.secretKind);
  const secret = readSecretFromStdin();
  const store = openSecretStore(paths);
  await store.set({ account: name, slot: 'static' }, secret);
  await updateConfig(paths.configFile, (config) => {
    findAccount(config.accounts, name).secretKind = secretKind;
  });
  process.stdout.write(`Stored a new ${describeSecretKind(secretKind)} for account ${name} in the ${store.name} store.\n`);
  return 0;
}

async function listAccounts(args: string[], paths: ProductPaths): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const accounts = readConfig(paths.configFile).accounts;
  const states = readAccountStates(paths.stateFile);
  const rows = accounts.map((account) => ({
    ...account,
    secretKind: account.secretKind ?? null,
    rejectedAt: states.get(account.name)?.rejectedAt ?? null,
    lastSuccessAt: states.get(account.name)?.lastSuccessAt ?? null,
  }));
  if (values.json) {
    printJson(rows);
  } else if (rows.length === 0) {
    process.stdout.write('No accounts. Add one with `git-credential-bitbucket account add`.\n');
  } else {
    printTable(
      ['NAME', 'KIND', 'URL', 'USERNAME', 'SECRET', 'STATE'],
      rows.map((row) => [
        row.name,
        row.kind,
        row.url,
        row.username,
        row.secretKind ? describeSecretKind(row.secretKind) : '-',
        row.rejectedAt ? `rejected at ${row.rejectedAt}` : row.lastSuccessAt ? `ok at ${row.lastSuccessAt}` : '-',
      ]),
    );
  }
  return 0;
}

async function removeAccount(args: string[], paths: ProductPaths): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const name = onePositional(positionals, 'NAME');
  const removedRoutes = await updateConfig(paths.configFile, (config) => {
    findAccount(config.accounts, name);
    config.accounts = config.accounts.filter((account) => account.name !== name);
    const dropped = config.routes.filter((route) => route.account === name);
    config.routes = config.routes.filter((route) => route.account !== name);
    return dropped;
  });
  const store = openSecretStore(paths);
  const slots: SecretSlot[] = (await store.list()).filter((ref) => ref.account === name).map((ref) => ref.slot);
  for (const slot of slots) await store.delete({ account: name, slot });
  process.stdout.write(
    `Removed account ${name}, ${slots.length} secret(s) from the ${store.name} store` +
      (removedRoutes.length ? ` and its routes ${removedRoutes.map((route) => route.pattern).join(', ')}` : '') +
      '.\n',
  );
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

function parseKind(kind: string): AccountKind {
  if (!(ACCOUNT_KINDS as readonly string[]).includes(kind)) throw new UserError(`--kind must be one of ${ACCOUNT_KINDS.join(', ')}`);
  return kind as AccountKind;
}

function usableSecretKind(kind: AccountKind, requested: string | undefined): StaticSecretKind {
  const host = hostFor(kind);
  const secretKind = requested ?? host.defaultSecretKind;
  if (!(STATIC_SECRET_KINDS as readonly string[]).includes(secretKind)) {
    throw new UserError(`--secret-kind must be one of ${STATIC_SECRET_KINDS.join(', ')}`);
  }
  const unusable = host.unusableSecretReason(secretKind as StaticSecretKind);
  if (unusable) throw new UserError(unusable);
  return secretKind as StaticSecretKind;
}

export function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UserError(`expected exactly one ${what}`);
  return positionals[0]!;
}
