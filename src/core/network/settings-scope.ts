// Which URL git's http settings must be looked up for, so that one lookup can serve many
// requests: `account verify` and whatever else asks one REST URL per workspace would otherwise
// start a `git config` per workspace, thousands of processes for an account that reaches
// thousands of workspaces. git picks a `http.<url>.*` value by scheme, host (a `*` label matches
// any one label), port, then path, then user name (git help config, "http.<url>.*"): the path of
// a request can only change the answer when some key that may match its origin has a path, since
// a key's path matches only URLs under it. Without such a key every URL of the origin gets the
// same settings as the origin itself.

/**
 * The URL whose settings are those of `target`: its origin when no key in `keyUrls` (the `<url>`
 * parts of git's `http.<url>.*` keys; undefined: git could not list them) with a path could match
 * that origin, else the target's own origin and path. Doubtful keys count as matching: a wasted
 * lookup is cheap, a wrong setting not.
 */
export function settingsScope(target: URL, keyUrls: readonly string[] | undefined): string {
  const perPath = !keyUrls || keyUrls.some((keyUrl) => {
    const key = parsedKey(keyUrl);
    return !key || (key.pathname !== '/' && mayMatchOrigin(key, target));
  });
  return perPath ? `${target.origin}${target.pathname}` : `${target.origin}/`;
}

/** The key's URL as git normalizes it (case, default port, dot segments); undefined when it cannot be read that way. */
function parsedKey(keyUrl: string): URL | undefined {
  try {
    const url = new URL(keyUrl);
    // Only http(s) keys are normalized alike by git and the URL parser; anything else is doubtful.
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Scheme, host and port as git compares them; the user name is left out (it could only narrow the match). */
function mayMatchOrigin(key: URL, target: URL): boolean {
  if (key.protocol !== target.protocol || key.port !== target.port) return false;
  const keyLabels = key.hostname.split('.');
  const targetLabels = target.hostname.split('.');
  return keyLabels.length === targetLabels.length && keyLabels.every((label, index) => labelMatches(label, targetLabels[index]!));
}

/** A label with `*` matches as a glob within the label: a superset of git's whole-label `*`. */
function labelMatches(pattern: string, label: string): boolean {
  if (!pattern.includes('*')) return pattern === label;
  const glob = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*')}$`);
  return glob.test(label);
}
