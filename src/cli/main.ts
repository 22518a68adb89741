// The sub-commands people type. Loaded lazily by the helper, never on git's get/store/erase path.

import { productPaths } from '../shared/paths.js';
import { productVersion } from '../daemon/version.js';
import { ACCOUNT_USAGE, accountCommand } from './account-commands.js';
import { DAEMON_USAGE, daemonCommand } from './daemon-commands.js';
import { DOCTOR_USAGE, doctorCommand } from './doctor-command.js';
import { isUserError } from './errors.js';
import { LOGIN_USAGE, loginCommand } from './login-command.js';
import { ROUTE_USAGE, routeCommand } from './route-commands.js';
import { SECRETS_USAGE, secretsCommand } from './secrets-commands.js';
import { statusCommand } from './status-command.js';
import { INSTALL_USAGE, installCommand, uninstallCommand } from '../installer/command.js';

const USAGE = `git-credential-bitbucket: a git credential helper for several Bitbucket accounts.

git runs it as a credential helper (get, store, erase). People run:
  account add|set-secret|set-email|verify|list|remove
                                       the Bitbucket accounts, their secrets, checked with Bitbucket
  route add|list|remove|suggest        which account serves which repositories
  secrets migrate --to keychain|file   move the secrets to the OS keychain or the plaintext file
  login NAME [--no-browser]            log an account in with OAuth (browser or pasted code)
  status [--json]                      daemon, secret store, accounts, routes
  doctor [--json]                      check git, helpers, daemon, store, config; say what to fix
  daemon start|stop|status             the per-user background daemon
  install [--scope S] [--dry-run]      tell git to use this helper for every account URL
  uninstall [--scope S] [--dry-run]    undo exactly what install did
  --version

Files: config in $GIT_CREDENTIAL_BITBUCKET_HOME, else $XDG_CONFIG_HOME/git-credential-bitbucket.
Run a command with --help for details.`;

export async function runCli(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const paths = productPaths();
  try {
    switch (command) {
      case 'account':
        return await accountCommand(rest, paths);
      case 'route':
        return await routeCommand(rest, paths);
      case 'daemon':
        return await daemonCommand(rest, paths);
      case 'status':
        return await statusCommand(rest, paths);
      case 'secrets':
        return await secretsCommand(rest, paths);
      case 'login':
        return await loginCommand(rest, paths);
      case 'doctor':
        return await doctorCommand(rest, paths);
      case 'install':
        return await installCommand(rest, { paths });
      case 'uninstall':
        return await uninstallCommand(rest, { paths });
      case '--version':
      case 'version':
        process.stdout.write(productVersion() + '\n');
        return 0;
      default:
        process.stdout.write(USAGE + '\n');
        return command === undefined || command === 'help' || command === '--help' || command === '-h' ? 0 : 1;
    }
  } catch (error) {
    if (isUserError(error) || isParseArgsError(error)) {
      process.stderr.write(`git-credential-bitbucket: ${(error as Error).message}\n`);
      const usage = { account: ACCOUNT_USAGE, route: ROUTE_USAGE, daemon: DAEMON_USAGE, login: LOGIN_USAGE, doctor: DOCTOR_USAGE, secrets: SECRETS_USAGE, install: INSTALL_USAGE, uninstall: INSTALL_USAGE }[command as string];
      if (isParseArgsError(error) && usage) process.stderr.write(usage + '\n');
      return 1;
    }
    process.stderr.write(`git-credential-bitbucket: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return 2;
  }
}

function isParseArgsError(error: unknown): boolean {
  return typeof (error as { code?: unknown })?.code === 'string' && (error as { code: string }).code.startsWith('ERR_PARSE_ARGS');
}
