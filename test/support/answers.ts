// Assertions on text that holds secrets (the helper's answers to `get`, issued tokens). ava
// prints the values of a failed assertion, and one failure once printed a whole 3,000-character
// OAuth token (issue #12); through these a failure shows each secret as its length only.

import type { ExecutionContext } from 'ava';

/** Keys of git's credential protocol whose values are secrets. */
const SECRET_KEYS = /^(password|credential|oauth_refresh_token)=(.*)$/gm;

/** The answer as a failure message may show it: every secret value replaced by its length. */
export function masked(answer: string): string {
  return answer.replace(SECRET_KEYS, (_, key: string, value: string) => `${key}=‹${value.length} characters›`);
}

/** The answer is exactly `expected`; a failure shows both masked. */
export function assertAnswer(t: ExecutionContext, answer: string, expected: string, message = 'the answer'): void {
  const shown = masked(answer);
  const wanted = masked(expected);
  const why = shown === wanted ? 'a different secret of the same length' : `${JSON.stringify(shown)} instead of ${JSON.stringify(wanted)}`;
  t.true(answer === expected, `${message}: ${why}`);
}

/** The `password=` value of an answer ('' when there is none), for comparing tokens with the two below. */
export function passwordOf(answer: string): string {
  return /^password=(.*)$/m.exec(answer)?.[1] ?? '';
}

export function assertSameSecret(t: ExecutionContext, actual: string | undefined, expected: string | undefined, message: string): void {
  t.true(actual === expected, `${message}: ${describe(actual)} instead of ${describe(expected)}`);
}

export function assertDifferentSecret(t: ExecutionContext, actual: string, other: string, message: string): void {
  t.true(actual !== other, `${message}: the same ${actual.length}-character value`);
}

function describe(value: string | undefined): string {
  return value === undefined ? 'nothing' : `a ${value.length}-character value`;
}
