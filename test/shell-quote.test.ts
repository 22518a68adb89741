// The two ways we write a shell word (src/shared/shell-quote.ts), read back by a real POSIX
// shell: each word must reach the command as exactly one argument holding exactly the text.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { shellBackslashEscape, shellSingleQuote } from '../src/shared/shell-quote.js';

/** Texts with what a shell would otherwise split, expand or unquote. */
const TEXTS = [
  'plain/path-1.2_x@y%z+a=b:c,d',
  'with two  spaces',
  "it's",
  'say "hi"',
  '$HOME ${HOME} $(id) `id`',
  'back\\slash\\',
  'naïve 日本 € 😀',
  '',
  '*?[ab] ~root',
  'tab\there',
  'a;b&c|d<e>f(g)h{i}j!k#l',
  '-n',
];

/** The arguments `sh` passes to printf for a command line ending in `word`, one per bracket. */
function argumentsOf(word: string): string {
  const result = spawnSync('sh', ['-c', `printf '[%s]' ${word}`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`sh failed: ${result.stderr}`);
  return result.stdout;
}

for (const [name, quote] of [['single-quoted', shellSingleQuote], ['backslash-escaped', shellBackslashEscape]] as const) {
  test(`${name}: sh reads back each text as one argument, unchanged`, (t) => {
    for (const text of TEXTS) t.is(argumentsOf(quote(text)), `[${text}]`, JSON.stringify(text));
  });
}

test('single-quoted: plain text stays bare, anything else is quoted whole (line breaks too)', (t) => {
  t.is(shellSingleQuote('/run/user/1000/gcb.sock'), '/run/user/1000/gcb.sock');
  t.is(shellSingleQuote("it's"), `'it'\\''s'`);
  t.is(shellSingleQuote(''), "''");
  t.is(shellSingleQuote('naïve'), `'naïve'`);
  t.is(argumentsOf(shellSingleQuote('two\nlines')), '[two\nlines]');
});

test('backslash-escaped: a path keeps its leading "/" (what git reads as a path), a line break is refused', (t) => {
  t.is(shellBackslashEscape('/opt/my tools/x (1).cjs'), '/opt/my\\ tools/x\\ \\(1\\).cjs');
  t.is(shellBackslashEscape("/Users/Jo O'Neil/$x"), "/Users/Jo\\ O\\'Neil/\\$x");
  t.is(shellBackslashEscape('/opt/naïve/h.cjs'), '/opt/naïve/h.cjs');
  t.is(shellBackslashEscape(''), "''");
  t.throws(() => shellBackslashEscape('/opt/two\nlines'), { message: /line break/ });
});
