// POSIX shell words for text we hand to a shell: the helper value git runs (installer), the
// command ssh runs on a remote host and the lines `forward` prints (cli). Two rules on purpose:
// git reads a helper value that starts with "/" as a path and anything else as the suffix of
// `git credential-<name>`, so a path keeps its first character and its specials are escaped one
// by one with "\"; everywhere else a word is single-quoted, which needs no per-character rule
// and keeps line breaks. Node built-ins only (none needed): the installer and the CLI share it.

/** Characters that stand for themselves in an unquoted word (as an argument, not as a command name: `a=b` there is an assignment). */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;
/** The same, one character at a time, and any non-ASCII character (the shell reads bytes above 0x7f as ordinary). */
const PLAIN_CHARACTER = /[A-Za-z0-9_@%+=:,./\u0080-\uffff-]/u;

/** `text` as one shell word: as it is when nothing in it is special, else in single quotes. */
export function shellSingleQuote(text: string): string {
  return PLAIN.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * `text` as one shell word that starts with the same character whenever that one is plain (a "/"
 * does): each special character gets a "\" in front. A line break cannot be written this way
 * (`\` and a newline join two lines), so it is refused; callers say which path held one.
 */
export function shellBackslashEscape(text: string): string {
  if (text.includes('\n')) throw new Error('a line break cannot be escaped with a backslash for the shell');
  if (text === '') return "''";
  return [...text].map((char) => (PLAIN_CHARACTER.test(char) ? char : `\\${char}`)).join('');
}
