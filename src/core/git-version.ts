// Which git is installed, from what `git --version` prints. The features we depend on each
// arrived in a feature release (2.30 `--fixed-value`, 2.36 `hasconfig:remote.*.url`, 2.41
// password_expiry_utc, 2.46 authtype), so only major.minor is compared. What follows the numbers
// varies by vendor and is ignored: "2.45.1.windows.1", "2.39.3 (Apple Git-145)", and a release
// candidate "2.47.0.rc1", which already has its release's features. One parse for the installer
// and doctor, so they never disagree about a version.

/** A feature release of git: [major, minor]. */
export type GitRelease = readonly [major: number, minor: number];

export interface GitVersion {
  major: number;
  minor: number;
  /** The version as git printed it, up to the patch level: "2.39.3" of "git version 2.39.3 (Apple Git-145)". */
  text: string;
}

/** The version in `git --version` output, or undefined when it names none. */
export function parseGitVersion(output: string): GitVersion | undefined {
  const match = /git version (\d+)\.(\d+)(?:\.(\d+))?/.exec(output);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), text: match[0].slice('git version '.length) };
}

/** Whether `version` is `release` or later. */
export function isAtLeast(version: Pick<GitVersion, 'major' | 'minor'>, [major, minor]: GitRelease): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}

/** "2.39": the feature release, as the installer's messages name it. */
export function releaseOf(version: Pick<GitVersion, 'major' | 'minor'>): string {
  return `${version.major}.${version.minor}`;
}
