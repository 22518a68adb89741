// The one parse of `git --version` that the installer and doctor share: what each platform's git
// prints, and the comparison by feature release that every minimum version goes through.

import test from 'ava';
import { isAtLeast, parseGitVersion, releaseOf } from '../src/core/git-version.js';

test('reads the version from what each platform prints, up to the patch level', (t) => {
  t.deepEqual(parseGitVersion('git version 2.39.5\n'), { major: 2, minor: 39, text: '2.39.5' });
  t.deepEqual(parseGitVersion('git version 2.45.1.windows.1\n'), { major: 2, minor: 45, text: '2.45.1' });
  t.deepEqual(parseGitVersion('git version 2.39.3 (Apple Git-145)\n'), { major: 2, minor: 39, text: '2.39.3' });
  t.deepEqual(parseGitVersion('git version 2.47.0.rc1\n'), { major: 2, minor: 47, text: '2.47.0' });
  t.deepEqual(parseGitVersion('git version 2.30\n'), { major: 2, minor: 30, text: '2.30' });
  t.deepEqual(parseGitVersion('git version 3.0.0\n'), { major: 3, minor: 0, text: '3.0.0' });
});

test('output that names no version gives none', (t) => {
  t.is(parseGitVersion(''), undefined);
  t.is(parseGitVersion('git: command not found\n'), undefined);
  t.is(parseGitVersion('git version unknown\n'), undefined);
});

test('compares by feature release: a patch, vendor suffix or release candidate has its release features', (t) => {
  const version = (output: string) => parseGitVersion(output)!;
  t.true(isAtLeast(version('git version 2.36.0'), [2, 36]));
  t.true(isAtLeast(version('git version 2.47.0.rc1'), [2, 47]), 'a release candidate already has the release features');
  t.true(isAtLeast(version('git version 2.45.1.windows.1'), [2, 41]));
  t.true(isAtLeast(version('git version 2.39.3 (Apple Git-145)'), [2, 30]));
  t.false(isAtLeast(version('git version 2.39.3 (Apple Git-145)'), [2, 41]));
  t.false(isAtLeast(version('git version 2.35.9'), [2, 36]), 'a later patch of an older release is still older');
  t.false(isAtLeast(version('git version 1.99.0'), [2, 30]), 'the major number counts first');
  t.true(isAtLeast(version('git version 3.0.0'), [2, 46]), 'a new major counts as newer than any minor before it');
  t.true(isAtLeast(version('git version 2.100.0'), [2, 46]), 'minor numbers compare as numbers, not text');
  t.is(releaseOf(version('git version 2.17.1')), '2.17');
});
