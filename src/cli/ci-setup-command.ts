// `ci-setup`: sets up a CI runner from environment variables alone (accounts, routes, install), so
// a pipeline needs one line and its secured variables, and nothing secret ever reaches a file:
// every account takes its secret from an environment variable (secretEnv), read when git needs it.
// The variables it reads are listed in its --help (commands.ts). Everything is read and checked
// before anything changes; a second run in the same job (or on a self-hosted runner) replaces the
// accounts it set up, never an account with a stored secret.

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { daemonChoice, NO_DAEMON_ENV } from '../shared/daemonless.js';
import { ACCOUNT_KINDS, STATIC_SECRET_KINDS, inferKind, normaliseBaseUrl, normaliseRoutePattern, validateAccountName, validateEmail, validateUsername, type Account, type AccountKind } from '../core/accounts.js';
import { updateConfig } from '../core/config.js';
import { UserError } from '../core/errors.js';
import { describeSecretKind, hostFor } from '../core/hosts/host.js';
import { validateSecretEnvName } from '../core/secrets/env-secret.js';
import { installCommand } from '../installer/command.js';
import { usableSecretKind, verifyBeforeSaving } from './account-commands.js';
import { describeVerifications, type CredentialVerification } from './account-verification.js';
import { addRouteTo } from './route-edit.js';

const LIST = 'GCB_ACCOUNTS';
const PREFIX = 'GCB_ACCOUNT_';
const FIELDS = ['URL', 'USERNAME', 'TOKEN', 'SECRET_ENV', 'SECRET_KIND', 'EMAIL', 'KIND', 'ROUTES'] as const;
type Field = (typeof FIELDS)[number];


interface AccountSetup {
  account: Account;
  routes: string[];
}

export async function ciSetupCommand(args: string[], paths: ProductPaths): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'no-verify': { type: 'boolean', default: false },
      'no-install': { type: 'boolean', default: false },
      scope: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UserError(`ci-setup takes no arguments (got ${positionals.join(' ')}); it reads ${LIST} and ${PREFIX}<NAME>_* (see --help)`);
  const setups = readSetups(process.env);

  const verified: CredentialVerification[] = [];
  if (!values['no-verify']) {
    for (const { account } of setups) {
      const secret = process.env[account.secretEnv!]!;
      const prefix = variablePrefix(account.name);
      verified.push(
        await verifyBeforeSaving(account, secret, {
          hints: [],
          renewHint: `set ${account.secretEnv} to the right one`,
          emailHint: `set ${prefix}EMAIL, or run ci-setup with --no-verify`,
        }),
      );
    }
  }

  await updateConfig(paths.configFile, (config) => {
    for (const { account, routes } of setups) {
      const existing = config.accounts.find((candidate) => candidate.name === account.name);
      if (existing && !existing.secretEnv) {
        throw new UserError(`account ${account.name} exists with a stored secret; ci-setup replaces only accounts whose secret comes from the environment: remove it (\`git-credential-bitbucket account remove ${account.name}\`) or choose another name in ${LIST}. Nothing was changed.`);
      }
      config.accounts = config.accounts.filter((candidate) => candidate.name !== account.name);
      config.routes = config.routes.filter((route) => route.account !== account.name);
      config.accounts.push(account);
    }
    for (const { account, routes } of setups) for (const pattern of routes) addRouteTo(config, pattern, account.name);
  });

  for (const { account, routes } of setups) {
    const where = routes.length > 0 ? `routes ${routes.join(', ')}` : 'no routes';
    process.stdout.write(`Account ${account.name}: ${account.url}, user ${account.username}, ${describeSecretKind(account.secretKind!)} from environment variable ${account.secretEnv}, ${where}.\n`);
  }
  if (verified.length > 0) process.stdout.write(describeVerifications(verified));
  else if (values['no-verify']) process.stdout.write('Not verified (--no-verify): the first git operation will tell.\n');
  if (daemonChoice(process.env) === 'daemon') {
    process.stdout.write(`Note: git will start a background daemon here; in a one-shot job set ${NO_DAEMON_ENV}=1 (CI=true does it when no daemon runs).\n`);
  }
  if (values['no-install']) return 0;
  return installCommand(['--scope', values.scope ?? 'global', '--no-fast-path'], { paths });
}

/** Every account the environment describes, checked; throws (changing nothing) at the first problem. */
function readSetups(env: NodeJS.ProcessEnv): AccountSetup[] {
  const names = (env[LIST] ?? '').split(/[\s,]+/).filter(Boolean);
  if (names.length === 0) throw new UserError(`${LIST} is not set; set it to the account names ("work oss-bot") and ${PREFIX}<NAME>_URL, _USERNAME and _TOKEN for each (see ci-setup --help)`);
  const byPrefix = new Map<string, string>();
  for (const name of names) {
    validateAccountName(name);
    const prefix = variablePrefix(name);
    const clash = byPrefix.get(prefix);
    if (clash !== undefined) throw new UserError(`${LIST}: accounts ${clash} and ${name} would both read ${prefix}*; rename one`);
    byPrefix.set(prefix, name);
  }
  // A misspelt variable would otherwise be silently ignored, and the account half set up.
  for (const variable of Object.keys(env).filter((key) => key.startsWith(PREFIX)).sort()) {
    const known = [...byPrefix.keys()].some((prefix) => variable.startsWith(prefix) && (FIELDS as readonly string[]).includes(variable.slice(prefix.length)));
    if (!known) throw new UserError(`${variable} belongs to no account in ${LIST} (${names.join(' ')}) or is not one of _${FIELDS.join(', _')}; fix its name or ${LIST}`);
  }
  return names.map((name) => readSetup(name, env));
}

function readSetup(name: string, env: NodeJS.ProcessEnv): AccountSetup {
  const prefix = variablePrefix(name);
  const read = (field: Field): string | undefined => {
    const value = env[prefix + field]?.trim();
    return value === '' ? undefined : value;
  };
  const required = (field: Field, what: string): string => {
    const value = read(field);
    if (value === undefined) throw new UserError(`${prefix}${field} is not set; set it to ${what} of account ${name}`);
    return value;
  };
  const within = <T>(field: Field, check: () => T): T => {
    try {
      return check();
    } catch (error) {
      throw new UserError(`${prefix}${field}: ${(error as Error).message}`);
    }
  };
  const rawUrl = required('URL', 'the base URL (https://bitbucket.org)');
  const url = within('URL', () => normaliseBaseUrl(rawUrl));
  const kindValue = read('KIND');
  if (kindValue !== undefined && !(ACCOUNT_KINDS as readonly string[]).includes(kindValue)) throw new UserError(`${prefix}KIND must be one of ${ACCOUNT_KINDS.join(', ')}`);
  const kind = (kindValue as AccountKind | undefined) ?? inferKind(url);
  const rawUsername = required('USERNAME', 'the username');
  const username = within('USERNAME', () => validateUsername(rawUsername));

  const token = env[prefix + 'TOKEN'];
  const named = read('SECRET_ENV');
  if (token !== undefined && named !== undefined) throw new UserError(`set ${prefix}TOKEN or ${prefix}SECRET_ENV for account ${name}, not both`);
  if (token === undefined && named === undefined) throw new UserError(`account ${name} has no secret: set ${prefix}TOKEN to it (a secured variable), or ${prefix}SECRET_ENV to the name of the variable that holds it`);
  // The token's own variable is the source: its value is never copied, not even into config.json.
  const secretEnv = named === undefined ? prefix + 'TOKEN' : within('SECRET_ENV', () => validateSecretEnvName(named, `${prefix}SECRET_ENV`));
  if (!env[secretEnv]) throw new UserError(`environment variable ${secretEnv}, which holds account ${name}'s secret, is not set or empty in this job; pass it to the job (a secured variable)`);

  const requestedKind = read('SECRET_KIND');
  if (requestedKind !== undefined && !(STATIC_SECRET_KINDS as readonly string[]).includes(requestedKind)) {
    throw new UserError(`${prefix}SECRET_KIND must be one of ${STATIC_SECRET_KINDS.join(', ')}`);
  }
  const secretKind = within('SECRET_KIND', () => usableSecretKind(kind, requestedKind ?? hostFor(kind).secretKindOf(env[secretEnv]!)));
  const account: Account = { name, kind, url, username, secretKind, secretEnv };
  const email = read('EMAIL');
  if (email !== undefined) account.email = within('EMAIL', () => validateEmail(email));
  const routes = within('ROUTES', () => (read('ROUTES') ?? '').split(/\s+/).filter(Boolean).map(normaliseRoutePattern));
  return { account, routes };
}

/** GCB_ACCOUNT_OSS_BOT_ for account "oss-bot": variable names take letters, digits and '_' only. */
function variablePrefix(name: string): string {
  return `${PREFIX}${name.toUpperCase().replace(/[.-]/g, '_')}_`;
}
