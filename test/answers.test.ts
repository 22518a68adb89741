// The secret-safe assertions of support/answers.ts: a failure message (which ava prints to the
// console and CI logs) shows a secret's length, never the secret. A plain t.is on the same text
// would print it, as it once printed a whole OAuth token (issue #12).

import test, { type ExecutionContext } from 'ava';
import { inspect } from 'node:util';
import { assertAnswer, assertDifferentSecret, assertSameSecret, masked, passwordOf } from './support/answers.js';

const SECRET = 'ATATT3xFfGF0-answerstest-4d6f8a0c2e';
const OTHER = 'ATATT3xFfGF0-answerstest-1b3d5f7a9c';

/** Runs a failing assertion in isolation and returns everything ava recorded about the failure. */
async function failureOf(t: ExecutionContext, assertion: (tt: ExecutionContext) => void): Promise<string> {
  const attempt = await t.try(assertion);
  attempt.discard();
  t.false(attempt.passed, 'the assertion was meant to fail');
  return inspect(attempt.errors, { depth: 10 });
}

test('a failed answer or token comparison reports lengths, never the secret', async (t) => {
  const expected = `username=alice\npassword=${SECRET}\n`;
  const wrong = `username=alice\npassword=${OTHER}\n`;
  const failures = [
    await failureOf(t, (tt) => assertAnswer(tt, wrong, expected)),
    await failureOf(t, (tt) => assertAnswer(tt, `username=bob\npassword=${OTHER}\n`, expected)),
    await failureOf(t, (tt) => assertSameSecret(tt, OTHER, SECRET, 'the stored token')),
    await failureOf(t, (tt) => assertDifferentSecret(tt, SECRET, SECRET, 'a new token')),
    await failureOf(t, (tt) => tt.regex(masked(wrong), /^username=bob\n/)),
  ];
  for (const failure of failures) {
    t.false(failure.includes(SECRET) || failure.includes(OTHER), 'no secret in the failure');
    t.false(failure.includes('answerstest'), 'nor a part of one');
  }
  t.regex(failures[0]!, /a different secret of the same length/);
  t.true(failures[1]!.includes('username=bob') && failures[1]!.includes(`password=‹${OTHER.length} characters›`), failures[1]);
  t.true(failures[2]!.includes(`a ${OTHER.length}-character value instead of a ${SECRET.length}-character value`), failures[2]);
  // What the suite did before: ava's own diff prints the secret.
  t.true((await failureOf(t, (tt) => tt.is(wrong, expected))).includes(SECRET));
});

test('masked hides every secret-bearing attribute and keeps the rest', (t) => {
  const length = `‹${SECRET.length} characters›`;
  // t.true, not t.is: if masking failed, a diff would print the secret.
  t.true(masked(`capability[]=authtype\nauthtype=Bearer\ncredential=${SECRET}\n`) === `capability[]=authtype\nauthtype=Bearer\ncredential=${length}\n`);
  t.true(masked(`username=x\npassword=${SECRET}\npassword_expiry_utc=1700000000\noauth_refresh_token=${OTHER}\n`) === `username=x\npassword=${length}\npassword_expiry_utc=1700000000\noauth_refresh_token=${length}\n`);
  t.true(passwordOf(`username=x\npassword=${SECRET}\n`) === SECRET);
  t.is(passwordOf('username=x\n'), '');
});
