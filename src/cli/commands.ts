// The one table of the sub-commands people type: the top-level usage, the dispatch and each
// command's usage on a parse error all come from here. A command's module is imported only when
// that command runs, so `--version` or an unknown word loads none of them.

import type { ProductPaths } from '../shared/paths.js';

export interface LoadedCommand {
  run(args: string[], paths: ProductPaths): Promise<number>;
  /** Printed after a parse error; absent for a command without options. */
  usage?: string;
}

export interface Command {
  name: string;
  /** The synopsis shown in the top-level usage, after the name. */
  synopsis: string;
  summary: string;
  load(): Promise<LoadedCommand>;
}

export const COMMANDS: readonly Command[] = [
  {
    name: 'account',
    synopsis: 'add|set-secret|set-oauth|set-email|verify|list|remove',
    summary: 'the Bitbucket accounts, their secrets, checked with Bitbucket',
    load: async () => {
      const { accountCommand, ACCOUNT_USAGE } = await import('./account-commands.js');
      return { run: accountCommand, usage: ACCOUNT_USAGE };
    },
  },
  {
    name: 'route',
    synopsis: 'add|list|remove|suggest',
    summary: 'which account serves which repositories',
    load: async () => {
      const { routeCommand, ROUTE_USAGE } = await import('./route-commands.js');
      return { run: routeCommand, usage: ROUTE_USAGE };
    },
  },
  {
    name: 'secrets',
    synopsis: 'migrate --to keychain|file',
    summary: 'move the secrets to the OS keychain or the plaintext file',
    load: async () => {
      const { secretsCommand, SECRETS_USAGE } = await import('./secrets-commands.js');
      return { run: secretsCommand, usage: SECRETS_USAGE };
    },
  },
  {
    name: 'login',
    synopsis: 'NAME [--no-browser]',
    summary: 'log an account in with OAuth (browser or pasted code)',
    load: async () => {
      const { loginCommand, LOGIN_USAGE } = await import('./login-command.js');
      return { run: loginCommand, usage: LOGIN_USAGE };
    },
  },
  {
    name: 'logout',
    synopsis: 'NAME',
    summary: "drop an account's OAuth tokens; keep the account",
    load: async () => {
      const { logoutCommand, LOGOUT_USAGE } = await import('./logout-command.js');
      return { run: logoutCommand, usage: LOGOUT_USAGE };
    },
  },
  {
    name: 'status',
    synopsis: '[--json]',
    summary: 'daemon, secret store, accounts, routes',
    load: async () => ({ run: (await import('./status-command.js')).statusCommand }),
  },
  {
    name: 'doctor',
    synopsis: '[--json]',
    summary: 'check git, helpers, daemon, store, config; say what to fix',
    load: async () => {
      const { doctorCommand, DOCTOR_USAGE } = await import('./doctor-command.js');
      return { run: doctorCommand, usage: DOCTOR_USAGE };
    },
  },
  {
    name: 'daemon',
    synopsis: 'start|stop|status',
    summary: 'the per-user background daemon',
    load: async () => {
      const { daemonCommand, DAEMON_USAGE } = await import('./daemon-commands.js');
      return { run: daemonCommand, usage: DAEMON_USAGE };
    },
  },
  {
    name: 'ci-setup',
    synopsis: '[--no-verify] [--no-install]',
    summary: 'set up a CI runner from GCB_* environment variables',
    load: async () => {
      const { ciSetupCommand, CI_SETUP_USAGE } = await import('./ci-setup-command.js');
      return { run: ciSetupCommand, usage: CI_SETUP_USAGE };
    },
  },
  {
    name: 'install',
    synopsis: '[--scope S] [--dry-run]',
    summary: 'tell git to use this helper for every account URL',
    load: async () => {
      const { installCommand, INSTALL_USAGE } = await import('../installer/command.js');
      return { run: (args, paths) => installCommand(args, { paths }), usage: INSTALL_USAGE };
    },
  },
  {
    name: 'uninstall',
    synopsis: '[--scope S] [--dry-run]',
    summary: 'undo exactly what install did',
    load: async () => {
      const { uninstallCommand, INSTALL_USAGE } = await import('../installer/command.js');
      return { run: (args, paths) => uninstallCommand(args, { paths }), usage: INSTALL_USAGE };
    },
  },
];

export function findCommand(name: string | undefined): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}
