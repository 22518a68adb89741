// NODE_EXTRA_CA_CERTS, kept from Node at the daemon's start and handed to the daemon's own requests.
// Node reads that file at every start-up, before any of our code runs: with a distribution's
// whole CA bundle there (a common corporate set-up) it was 45 ms of a 68 ms `node -e 0` on the
// bench machine, and the first git operation after the daemon has gone idle waits for two Node
// start-ups. The daemon needs those certificates only when it talks to Bitbucket (an OAuth
// refresh), so its starter moves the variable to a name Node does not read, and the network code
// adds the certificates to Node's own list for those requests (core/network/fetch-like-git.ts).

/** Where the daemon finds the file Node would have read. */
export const HANDED_OVER_EXTRA_CA = 'GIT_CREDENTIAL_BITBUCKET_NODE_EXTRA_CA_CERTS';

/**
 * `env` for the daemon: NODE_EXTRA_CA_CERTS moved to HANDED_OVER_EXTRA_CA, where Node's default
 * list is its bundled one (what the daemon can add the file to). Where it is the system's store
 * (--use-openssl-ca, --use-system-ca, a Node built that way) the file stays Node's to read.
 */
export function withExtraCaHandedOver(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: file, ...rest } = env;
  if (!file || !usesBundledCaList(env)) return env;
  return { ...rest, [HANDED_OVER_EXTRA_CA]: file };
}

function usesBundledCaList(env: NodeJS.ProcessEnv): boolean {
  if (/--use-(openssl|system)-ca\b/.test(env.NODE_OPTIONS ?? '')) return false;
  return !(process.config.variables as Record<string, unknown>).node_use_openssl_ca;
}
