// ava's side of other-user.ts: a test that needs a second Unix user runs where one can be made,
// is skipped with the reason elsewhere, and fails under CI=true.

import test, { type ExecutionContext } from 'ava';
import { cannotCreateUsers, createOtherUser, type OtherUser } from './other-user.js';

/** A test that needs a second Unix user: skipped with the reason where none can be created, failing under CI. */
export function otherUserTest(title: string, body: (t: ExecutionContext, user: OtherUser) => Promise<void>): void {
  if (!cannotCreateUsers) {
    test(title, async (t) => body(t, await createOtherUser(t)));
  } else if (process.env.CI === 'true') {
    test(title, (t) => t.fail(`under CI=true this test must run, not skip: ${cannotCreateUsers}`));
  } else {
    test.skip(`${title} (skipped: ${cannotCreateUsers})`, () => undefined);
  }
}
