// The architecture is what the tree shows: each folder of src/ may import only the folders
// listed for it below, so no folder imports one above it and there is no cycle between folders.
// The thin helper is the entry point git runs: it reaches the CLI only through a lazy import().
// What differs between Bitbucket Cloud and Data Center lives in one folder per kind under
// src/core/hosts/, reached through the registry (hosts/host.ts): no other code names a kind, so
// none can branch on it, and adding a kind touches one folder.

import test from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { ACCOUNT_KINDS } from '../src/core/accounts.js';
import { REPO_ROOT } from './support/sandbox.js';

const SRC = join(REPO_ROOT, 'src');
const HOSTS = join(SRC, 'core', 'hosts');
const REGISTRY = join(HOSTS, 'host.ts');
const ACCOUNTS = join(SRC, 'core', 'accounts.ts');

/** Each folder, and the folders it may import (itself always). */
const ALLOWED: Record<string, readonly string[]> = {
  shared: [],
  core: ['shared'],
  client: ['shared'],
  installer: ['core', 'shared'],
  daemon: ['core', 'shared'],
  cli: ['client', 'core', 'installer', 'shared'],
  helper: ['client', 'shared'],
};
/** Lazy imports a folder may make on top of ALLOWED: the helper hands every non-git word to the CLI, and answers git with the daemon's code in its own process when there is to be no daemon (daemon/in-process.ts). */
const LAZY: Record<string, readonly string[]> = { helper: ['cli', 'daemon'] };

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

/** Every relative import of every source file, resolved to the file it names. */
function* imports(): Generator<{ file: string; specifier: string; target: string; lazy: boolean }> {
  for (const file of sourceFiles(SRC)) {
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.[^']+)'/gm)) {
      yield { file, specifier: match[1]!, target: normalize(join(dirname(file), match[1]!)), lazy: match[0].includes('(') };
    }
  }
}

const folderOf = (file: string) => relative(SRC, file).split(sep)[0]!;
const isInside = (file: string, dir: string) => file.startsWith(dir + sep);
const where = (file: string) => relative(REPO_ROOT, file);

test('every folder of src/ imports only the folders below it', (t) => {
  const folders = new Set(readdirSync(SRC).filter((entry) => statSync(join(SRC, entry)).isDirectory()));
  t.deepEqual([...folders].sort(), Object.keys(ALLOWED).sort(), 'a new folder needs its place in ALLOWED');
  const wrong: string[] = [];
  for (const { file, specifier, target, lazy } of imports()) {
    const from = folderOf(file);
    const to = folderOf(target);
    if (to === from || ALLOWED[from]!.includes(to) || (lazy && LAZY[from]?.includes(to))) continue;
    wrong.push(`${where(file)} imports ${specifier} (${from} → ${to}${lazy ? ', lazily' : ''})`);
  }
  t.deepEqual(wrong, []);
});

test('each kind of Bitbucket has its folder under src/core/hosts/, reached only through the registry', (t) => {
  const missing = ACCOUNT_KINDS.filter((kind) => !existsSync(join(HOSTS, kind)) || !statSync(join(HOSTS, kind)).isDirectory());
  t.deepEqual(missing, [], 'every account kind needs its folder src/core/hosts/KIND/');
  const wrong: string[] = [];
  for (const { file, specifier, target } of imports()) {
    for (const kind of ACCOUNT_KINDS) {
      const folder = join(HOSTS, kind);
      if (isInside(target, folder) && !isInside(file, folder) && file !== REGISTRY) wrong.push(`${where(file)} imports ${specifier} (only hosts/host.ts picks a kind)`);
    }
  }
  t.deepEqual(wrong, []);
});

/**
 * Where an account kind is named in code: as a string ('cloud', "datacenter", `cloud`) or as a
 * key of a table indexed by kind. Comments are skipped; in accounts.ts, the definition of the
 * kinds and the URL inference (`inferKind`) may name them.
 */
function kindNames(file: string): string[] {
  let source = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, ' '))
    .replace(/(^|\s)\/\/.*$/gm, '$1');
  if (file === ACCOUNTS) {
    source = source.replace(/^export (?:type AccountKind|const ACCOUNT_KINDS)\b.*$|^export function inferKind\b[\s\S]*?^}$/gm, (allowed) => allowed.replace(/[^\n]/g, ' '));
  }
  const found: string[] = [];
  const kinds = ACCOUNT_KINDS.join('|');
  for (const match of source.matchAll(new RegExp(`(['"\`])(?:${kinds})\\1|(?<![\\w.$'"\`-])(?:${kinds})\\s*:(?!:)`, 'g'))) {
    const line = source.slice(0, match.index).split('\n').length;
    found.push(`${where(file)}:${line}: ${match[0]}`);
  }
  return found;
}

test('outside src/core/hosts/ no code names an account kind, so none branches on it', (t) => {
  const named = [...sourceFiles(SRC)].filter((file) => !isInside(file, HOSTS)).flatMap(kindNames);
  t.deepEqual(named, [], 'ask hostFor(account.kind) instead: what differs by kind belongs in src/core/hosts/KIND/');
});
