// The one table of the commands people type. It drives the dispatch (cli/main.ts), the top-level
// usage, every --help text and the usage shown after a mistake (cli/usage.ts), and the helper's
// choice between a typo and a word git may send. The texts live here, not in the command
// modules, so that `--help` loads no command: a command's module is imported only when it runs.
// Values that also live in code (secret kinds, the default OAuth port, the stores) are checked
// against it by test/cli-help.test.ts.

import type { ProductPaths } from '../shared/paths.js';

export type CommandRun = (args: string[], paths: ProductPaths) => Promise<number>;

interface Described {
  name: string;
  /** One line for the list of commands. */
  summary: string;
  /** What --help prints below the usage line and the summary. */
  details?: string;
}

/** A command that runs: `status`, `account add`. */
export interface LeafCommand extends Described {
  /** The arguments after the name; each further line continues the usage line. */
  synopsis: string;
  load(): Promise<CommandRun>;
}

/** A command that names a group of sub-commands: `account`, `route`. */
export interface GroupCommand extends Described {
  subcommands: readonly LeafCommand[];
}

export type Command = LeafCommand | GroupCommand;

export function isGroup(command: Command): command is GroupCommand {
  return 'subcommands' in command;
}

const account = () => import('./account-commands.js');
const route = () => import('./route-commands.js');
const daemon = () => import('./daemon-commands.js');
const installer = () => import('../installer/command.js');

export const COMMANDS: readonly Command[] = [
  {
    name: 'account',
    summary: 'the Bitbucket accounts, their secrets, checked with Bitbucket',
    details: `A secret is checked against Bitbucket before it is saved (--no-verify skips that): nothing is
saved when the check fails, and the message says what to fix. Secrets are read from stdin and
kept in the secret store, never in config.json.`,
    subcommands: [
      {
        name: 'add',
        synopsis: `NAME --url BASE_URL --username USER
[--kind cloud|datacenter] [--email ADDRESS] [--no-verify] [--secret-store keychain|file]
[--secret-stdin | --secret-env VARIABLE] [--secret-kind KIND] [--expires YYYY-MM-DD]
[--oauth-client-id ID [--oauth-client-secret-stdin] [--redirect-port N] [--scopes "SCOPE ..."]]`,
        summary: 'add an account with a secret (--secret-stdin or --secret-env), an OAuth client (--oauth-client-id), or both',
        details: `An account needs a secret piped on stdin (--secret-stdin), an OAuth client (--oauth-client-id,
then \`git-credential-bitbucket login NAME\`), or both (the secret is then the fallback).
Example:
  printf %s "$TOKEN" | git-credential-bitbucket account add work --url https://bitbucket.org \\
      --username alice --email alice@example.com --secret-stdin

--secret-env VARIABLE stores no secret: it is read from that environment variable each time git
needs it (CI runners, see \`git-credential-bitbucket ci-setup --help\`); config.json records only
the variable's name.

BASE_URL is the address of Bitbucket itself (https://bitbucket.org, https://git.corp/bitbucket),
not a repository's. --kind is inferred from it: bitbucket.org is cloud, any other host datacenter.
KIND is api-token, access-token, project-token, app-password or password. Without --secret-kind it
is read from the token's prefix (ATATT: API token, ATCTT: Cloud access token), else api-token on
cloud and access-token on datacenter. Bitbucket Cloud's REST API takes an API token only with the
Atlassian account e-mail, so checking a Cloud API token needs --email (git uses the username).

With both --secret-stdin and --oauth-client-secret-stdin, stdin holds the static secret first,
then the OAuth client secret, one per line. The OAuth client's callback URL must be
http://127.0.0.1:PORT/ (default port 47823, --redirect-port N).
--secret-store records where secrets are kept: keychain (the OS keychain, the default) or file
(plaintext); see \`git-credential-bitbucket secrets --help\`.`,
        load: async () => (await account()).addAccount,
      },
      {
        name: 'set-secret',
        synopsis: 'NAME --secret-stdin [--secret-kind KIND] [--expires YYYY-MM-DD] [--no-verify]',
        summary: "replace an account's secret (after a revocation or expiry), checked with Bitbucket first",
        details: `The secret is read from stdin:
  printf %s "$TOKEN" | git-credential-bitbucket account set-secret NAME --secret-stdin
KIND is read from the token's prefix when it has one, else the account's current kind stays.
A new secret drops the old expiry date; give the new one with --expires.`,
        load: async () => (await account()).setSecret,
      },
      {
        name: 'set-oauth',
        synopsis: `NAME --oauth-client-id ID [--oauth-client-secret-stdin] [--redirect-port N] [--scopes "SCOPE ..."]
NAME --remove`,
        summary: "set, change or remove an account's OAuth client, keeping its routes and static secret",
        details: `A new client drops the old client's tokens (they were granted to it): run \`login NAME\` next. With
the same client ID, unset options keep their values and so do the tokens. --remove drops the
client, its secret and its tokens; the static secret then serves git (an account without one is
refused).`,
        load: async () => (await import('./set-oauth-command.js')).setOAuth,
      },
      {
        name: 'set-email',
        synopsis: 'NAME ADDRESS',
        summary: 'the Atlassian e-mail that checking a Cloud API token needs',
        load: async () => (await account()).setEmail,
      },
      {
        name: 'set-identity',
        synopsis: 'NAME [--name "Full Name"] [--email ADDRESS]\nNAME --clear',
        summary: 'the commit author for repositories whose remote routes to the account',
        details: `\`install\` hands the identity (user.name, user.email) to git through conditional includes
(includeIf hasconfig:remote.*.url, git 2.36+) and keeps them in step with the routes. A flag left
out keeps its value; --clear removes the identity.`,
        load: async () => (await import('./identity-command.js')).setIdentity,
      },
      {
        name: 'verify',
        synopsis: '[NAME] [--json]',
        summary: "check saved accounts with Bitbucket (static secret and OAuth token); exit 0 only when all pass",
        load: async () => (await account()).verifyAccounts,
      },
      {
        name: 'list',
        synopsis: '[--json]',
        summary: 'the accounts, the authentication each uses, and their state',
        load: async () => (await account()).listAccounts,
      },
      {
        name: 'remove',
        synopsis: 'NAME',
        summary: 'remove an account with its routes and its secrets',
        details: 'When it was the last account on its URL, run `git-credential-bitbucket install` next: it removes\nwhat it added to git\'s config for that URL.',
        load: async () => (await account()).removeAccount,
      },
    ],
  },
  {
    name: 'route',
    summary: 'which account serves which repositories',
    details: `PATTERN is scheme://host/path; '*' matches within one path segment and a path covers
everything below it. The most specific matching route wins. Examples:
  route add 'https://bitbucket.org/acme/*' work
  route add 'https://git.corp/bitbucket/scm/PROJ/*' corp
Routing by path needs: git config --global credential.https://bitbucket.org.useHttpPath true
(\`git-credential-bitbucket install\` sets it where a host has several accounts or any route).`,
    subcommands: [
      {
        name: 'add',
        synopsis: 'PATTERN ACCOUNT',
        summary: 'send the repositories PATTERN matches to ACCOUNT',
        load: async () => (await route()).addRoute,
      },
      { name: 'list', synopsis: '[--json]', summary: 'the routes', load: async () => (await route()).listRoutes },
      {
        name: 'suggest',
        synopsis: '[ACCOUNT] [--apply] [--json]',
        summary: 'propose a route for each workspace (Cloud) or project (Data Center) an account reaches',
        details: `Asks Bitbucket which workspaces or projects each account reaches; --apply adds the routes only one
account reaches. Where two accounts reach the same one, it shows the conflict and the commands to
choose from, and applies nothing for it.`,
        load: async () => (await import('./route-suggest.js')).routeSuggest,
      },
      { name: 'remove', synopsis: 'PATTERN', summary: 'remove a route', load: async () => (await route()).removeRoute },
    ],
  },
  {
    name: 'secrets',
    summary: 'move the secrets to the OS keychain or the plaintext file',
    details: `Secret stores:
  keychain  the OS keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on
            Windows). The default.
  file      secrets.json next to config.json, mode 0600. PLAINTEXT: anyone who can read your files
            can read it. Used only when chosen explicitly.

Choosing the store without moving secrets: "secretStore": "keychain" or "file" in config.json, or
\`account add ... --secret-store keychain|file\` for the first account;
GIT_CREDENTIAL_BITBUCKET_SECRET_STORE overrides both for one process (CI runners).`,
    subcommands: [
      {
        name: 'migrate',
        synopsis: '--to keychain|file',
        summary: 'move every secret to the other store and record the choice',
        details: `migrate copies every secret to the other store, reads it back and compares, deletes it from the
old store and records the choice ("secretStore" in config.json). If it is interrupted, run it
again: it completes the move and loses nothing.`,
        load: async () => (await import('./secrets-commands.js')).migrate,
      },
    ],
  },
  {
    name: 'login',
    synopsis: 'NAME [--no-browser] [--timeout SECONDS]',
    summary: 'log an account in with OAuth (browser or pasted code)',
    details: `Opens Bitbucket's consent page; after "Grant access" the browser returns to a listener on
http://127.0.0.1:PORT/ and the daemon stores the tokens in the secret store (it is started
first; a daemon that cannot start fails the login, and nothing is stored). Meanwhile it reads
stdin too: a browser on another machine ends on http://127.0.0.1:PORT/?code=… (the page may fail
to load there); paste that address, or just the code, and press Enter. Without a display it opens
no browser and says so. --no-browser: no listener, only the paste (the first line decides).
--timeout: how long to wait for the browser or the paste (default 300 s).`,
    load: async () => (await import('./login-command.js')).loginCommand,
  },
  {
    name: 'logout',
    synopsis: 'NAME',
    summary: "drop an account's OAuth tokens; keep the account",
    details: `Deletes the account's OAuth tokens (refresh and access token) from the secret store. The account,
its routes, its OAuth client and its static secret stay: git gets the static secret next, or no
credential from this account until \`git-credential-bitbucket login NAME\`. The grant itself stays
listed in your Bitbucket account settings until you revoke it there.`,
    load: async () => (await import('./logout-command.js')).logoutCommand,
  },
  {
    name: 'status',
    synopsis: '[--json]',
    summary: 'daemon, secret store, accounts, routes',
    load: async () => (await import('./status-command.js')).statusCommand,
  },
  {
    name: 'doctor',
    synopsis: '[--json]',
    summary: 'check git, helpers, daemon, store, config; say what to fix',
    details: `Checks git, the configuration, the secret store, the daemon, for every account URL the
credential helpers git runs (another helper before ours, missing useHttpPath, the fast path),
every account's credentials with Bitbucket (as \`account verify\`), expiry dates, and, in a
repository, which account its remotes route to and whether git commits as that account's identity.
Exit code 0 only when every check passes.`,
    load: async () => (await import('./doctor-command.js')).doctorCommand,
  },
  {
    name: 'daemon',
    summary: 'the per-user background daemon (git starts it on demand)',
    subcommands: [
      { name: 'start', synopsis: '', summary: 'start the daemon if it is not running', load: async () => (await daemon()).startDaemon },
      { name: 'stop', synopsis: '', summary: 'stop it (the next git operation starts it again)', load: async () => (await daemon()).stopDaemon },
      { name: 'status', synopsis: '[--json]', summary: 'whether it runs; exit 3 when it does not', load: async () => (await daemon()).daemonStatus },
    ],
  },
  {
    name: 'trace',
    synopsis: '[--json]',
    summary: "follow the daemon's decisions as git asks: account, why, time (the fast path too)",
    details: `Prints one line per get/store/erase the daemon answers, through the Node helper or git's own
cache client (the fast path), until Ctrl-C: the time (UTC), the action, the channel, host and path,
the account, the outcome and why (the route, or the line git's user was told), and the daemon's
time. --json prints each as one JSON object. Never a secret. Starts the daemon if none runs.
For the helper's own part, set GIT_CREDENTIAL_BITBUCKET_TRACE=1 (stderr) or to an absolute file
path: the helper then writes what git asked, the daemon's decision and its own time.`,
    load: async () => (await import('./trace-command.js')).traceCommand,
  },
  {
    name: 'ui',
    synopsis: '[--port N] [--no-open]',
    summary: 'a local page: accounts, routes, live requests, forwards, doctor',
    details: `Serves a page on 127.0.0.1 with the accounts, the routes in the order the router applies them,
every get/store/erase as the daemon answers it, the open forwards, and doctor's checks; it adds and
removes routes, verifies accounts, starts OAuth logins, replaces static secrets and closes forwards. It opens the page in your
browser (--no-open prints its address as the last line instead) and serves it until Ctrl-C.
The address works once: its first load sets a cookie for this browser, and the address stops
working. --port picks the port (default: a free one).`,
    load: async () => (await import('./ui-command.js')).uiCommand,
  },
  {
    name: 'forward',
    synopsis: '[--account NAME]... [--name NAME] -- ssh [SSH OPTIONS] HOST [COMMAND]',
    summary: 'lend accounts to git on a remote host or in a container, for one session',
    details: `Also: forward --socket-only [--account NAME]... [--name NAME] [--allow-other-users],
forward --list [--json], forward --close NAME.

Over ssh, git on HOST gets credentials for the named accounts from this machine's daemon for as
long as the session lasts; nothing is installed or stored on HOST (it needs git 2.31 or later and
a POSIX shell). Without --account you confirm each account on the terminal. The exit status is
ssh's. --socket-only prints a socket and the git settings for a container or another user, and
keeps it open until Ctrl-C; --allow-other-users lets other uids connect to it (never the default).
Through a forward git can only ask (get); what it reports back changes nothing here.`,
    load: async () => (await import('./forward-command.js')).forwardCommand,
  },
  {
    name: 'ci-setup',
    synopsis: '[--no-verify] [--no-install] [--scope global|system|local]',
    summary: 'set up a CI runner from GCB_* environment variables alone',
    details: `Sets up a CI runner from environment variables alone: the accounts, their routes, and \`install\`
(default scope global: the job's HOME; without the fast path). No secret is written anywhere:
config.json names the variable each secret is read from when git needs it.

  GCB_ACCOUNTS                     the account names, separated by spaces or commas: "work oss-bot"
For each account, its name upper-cased with '-' and '.' as '_' (oss-bot: GCB_ACCOUNT_OSS_BOT_URL):
  GCB_ACCOUNT_<NAME>_URL           base URL: https://bitbucket.org, https://git.example.com/bitbucket
  GCB_ACCOUNT_<NAME>_USERNAME      the username git sends
  GCB_ACCOUNT_<NAME>_TOKEN         the secret itself (a secured variable), or else
  GCB_ACCOUNT_<NAME>_SECRET_ENV    the name of the variable that holds it: BITBUCKET_TOKEN
  GCB_ACCOUNT_<NAME>_SECRET_KIND   api-token, access-token, project-token, app-password or password
                                   (default: from the token's prefix, else api-token on cloud and
                                   access-token on datacenter)
  GCB_ACCOUNT_<NAME>_EMAIL         Cloud API tokens: the Atlassian e-mail, needed to check the token
  GCB_ACCOUNT_<NAME>_KIND          cloud or datacenter (default: inferred from the URL)
  GCB_ACCOUNT_<NAME>_ROUTES        the repositories it serves, separated by spaces:
                                   "https://bitbucket.org/acme/*"

Each secret is checked with Bitbucket first (--no-verify skips that); a failed check, a missing or
misspelt variable changes nothing. With CI=true and no daemon running, the helper answers git in
its own process and leaves nothing running; elsewhere (Jenkins) set GIT_CREDENTIAL_BITBUCKET_NO_DAEMON=1.
  --no-install  set up accounts and routes only
  --scope S     where install writes: global (default), system, local (this repository)`,
    load: async () => (await import('./ci-setup-command.js')).ciSetupCommand,
  },
  {
    name: 'install',
    synopsis: '[--scope global|system|local] [--dry-run]\n[--keep-other-helpers] [--force] [--no-fast-path]',
    summary: 'tell git to use this helper for every account URL',
    details: `install tells git to ask this helper, by absolute path, for every account's base URL:
  credential.<url>.helper       an empty value (so helpers configured earlier do not answer first),
                                then the path of git-credential-bitbucket: on Linux and macOS in a
                                one-line shell function that asks the fast path first
  credential.<url>.useHttpPath  true, when the host has several accounts or any route
  includeIf.hasconfig:remote.*.url:<glob>.path
                                for each account with a commit identity (account set-identity):
                                remotes that route to it get its user.name/user.email (git 2.36+)
Run it again after \`account add\` for a new host: it adds just what is missing, and after
\`account remove\` of a host's last account: it removes what it had added for that host.

  --scope S             which git config file: global (default, ~/.gitconfig), system, local (this repository)
  --dry-run             print the exact git config commands and change nothing
  --keep-other-helpers  do not add the empty helper value: helpers configured earlier answer first
  --force               replace a credential helper you configured for the same URL (uninstall restores it)
  --no-fast-path        leave out the fast path: \`git credential-cache --socket <daemon's cache socket>\`
                        run first, through which git's own C client gets answers from the daemon
                        without starting Node (store goes to it alone; the helper gets a get only
                        when that brings no answer, and erase). It goes in by default on Linux and
                        macOS, except where the daemon's sockets are in the shared temporary
                        directory (install says so)
  --fast-path           insist on the fast path: refused where it cannot be set up safely`,
    load: async () => {
      const { installCommand } = await installer();
      return (args, paths) => installCommand(args, { paths });
    },
  },
  {
    name: 'uninstall',
    synopsis: '[--scope global|system|local] [--dry-run]',
    summary: 'undo exactly what install did',
    details: 'uninstall removes exactly the keys install added and restores what install --force replaced.',
    load: async () => {
      const { uninstallCommand } = await installer();
      return (args, paths) => uninstallCommand(args, { paths });
    },
  },
];

export function findCommand(name: string | undefined): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}

export function findSubcommand(group: GroupCommand, name: string | undefined): LeafCommand | undefined {
  return group.subcommands.find((command) => command.name === name);
}
