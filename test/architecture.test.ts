// The architecture is what the tree shows: each folder of src/ may import only the folders
// listed for it below, so no folder imports one above it and there is no cycle between folders.
// The thin helper is the entry point git runs: it reaches the CLI only through a lazy import().

import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { REPO_ROOT } from './support/sandbox.js';

const SRC = join(REPO_ROOT, 'src');

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
/** Lazy imports a folder may make on top of ALLOWED: the helper hands every non-git word to the CLI. */
const LAZY: Record<string, readonly string[]> = { helper: ['cli'] };

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

const folderOf = (file: string) => relative(SRC, file).split(sep)[0]!;

test('every folder of src/ imports only the folders below it', (t) => {
  const folders = new Set(readdirSync(SRC).filter((entry) => statSync(join(SRC, entry)).isDirectory()));
  t.deepEqual([...folders].sort(), Object.keys(ALLOWED).sort(), 'a new folder needs its place in ALLOWED');
  const wrong: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.[^']+)'/gm)) {
      const to = folderOf(normalize(join(dirname(file), match[1]!)));
      const lazy = match[0].includes('(');
      if (to === from || ALLOWED[from]!.includes(to) || (lazy && LAZY[from]?.includes(to))) continue;
      wrong.push(`${relative(REPO_ROOT, file)} imports ${match[1]} (${from} → ${to}${lazy ? ', lazily' : ''})`);
    }
  }
  t.deepEqual(wrong, []);
});
