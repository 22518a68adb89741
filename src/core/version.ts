// The product version, from package.json (two directories above the compiled file).

import { readFileSync } from 'node:fs';

export function productVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
