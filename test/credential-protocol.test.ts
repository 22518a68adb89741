import test from 'ava';
import { CredentialInputError, MAX_CREDENTIAL_INPUT_BYTES, formatCredential, parseCredential } from '../src/shared/credential-protocol.js';

const parse = (text: string) => parseCredential(Buffer.from(text));

test('reads the attributes git sends and stops at the blank line', (t) => {
  const credential = parse('protocol=https\nhost=bitbucket.org\npath=acme/widgets.git\nusername=alice\n\nhost=evil.example\n');
  t.deepEqual(credential, { protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git', username: 'alice' });
});

test('keeps newer attributes, ignores unknown keys and keeps "=" inside values', (t) => {
  const credential = parse('protocol=https\nhost=h\npassword=a=b=c\npassword_expiry_utc=1700000000\nfuture_key=1\nauthtype=Bearer\n');
  t.is(credential.password, 'a=b=c');
  t.is(credential.password_expiry_utc, '1700000000');
  t.is(credential.authtype, 'Bearer');
  t.false('future_key' in credential);
  t.deepEqual(parse('=orphan value\nhost=h\n'), { host: 'h' });
});

test('multi-valued keys accumulate and an empty value clears the list', (t) => {
  const credential = parse('wwwauth[]=Basic realm="x"\nwwwauth[]=Bearer\ncapability[]=authtype\ncapability[]=\ncapability[]=state\n');
  t.deepEqual(credential.lists, { wwwauth: ['Basic realm="x"', 'Bearer'], capability: ['state'] });
});

test('url= is split like git does and replaces what came before', (t) => {
  const credential = parse('host=other\npath=x\nurl=https://al%40ice:p%3Ass@Bitbucket.org:8443/acme/widgets.git//\n');
  t.deepEqual(credential, { protocol: 'https', username: 'al@ice', password: 'p:ss', host: 'Bitbucket.org:8443', path: 'acme/widgets.git' });
  t.deepEqual(parse('url=https://bitbucket.org\n'), { protocol: 'https', host: 'bitbucket.org' });
  t.deepEqual(parse('url=https://bob@bitbucket.org/bob/notes.git?x=1\n'), { protocol: 'https', username: 'bob', host: 'bitbucket.org', path: 'bob/notes.git?x=1' });
});

test('malformed input is refused without quoting it', (t) => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['no equals sign', Buffer.from('protocol=https\nhunter2-secret\n'), /line 2 is not of the form key=value/],
    ['NUL byte', Buffer.from('host=a\0b\n'), /NUL/],
    ['invalid UTF-8', Buffer.from([0x68, 0x6f, 0x73, 0x74, 0x3d, 0xff, 0xfe, 0x0a]), /UTF-8/],
    ['oversized', Buffer.alloc(MAX_CREDENTIAL_INPUT_BYTES + 1, 'a'), /larger than 64 KiB/],
    ['url without scheme', Buffer.from('url=bitbucket.org/acme\n'), /no scheme/],
  ];
  for (const [name, input, message] of cases) {
    const error = t.throws(() => parseCredential(input), { instanceOf: CredentialInputError }, name);
    t.regex(error!.message, message, name);
    t.notRegex(error!.message, /hunter2/, name);
  }
});

test('formatting refuses values that would inject attributes', (t) => {
  t.is(formatCredential([['username', 'alice'], ['password', 'p=w']]), 'username=alice\npassword=p=w\n');
  t.throws(() => formatCredential([['password', 'x\nquit=1']]), { instanceOf: CredentialInputError });
  t.throws(() => formatCredential([['pass=word', 'x']]), { instanceOf: CredentialInputError });
  t.throws(() => formatCredential([['password', 'x\ry']]), { instanceOf: CredentialInputError });
});
