// `npm run install-helper [-- install|uninstall] [flags]`: the installer from a clone of this
// repository, run by tsx. The same code as `git-credential-bitbucket install`
// (src/installer); git is pointed at the built entry point, dist/helper/git-credential-bitbucket.cjs.

import { join, resolve } from 'node:path';
import { isUserError } from '../src/cli/errors.js';
import { installCommand, uninstallCommand } from '../src/installer/command.js';
import { productPaths } from '../src/shared/paths.js';

const helperPath = join(resolve(import.meta.dirname, '..'), 'dist', 'helper', 'git-credential-bitbucket.cjs');

async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  const context = { paths: productPaths(), helperPath };
  try {
    if (first === 'uninstall') return await uninstallCommand(rest, context);
    return await installCommand(first === 'install' ? rest : args, context);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (isUserError(error) || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`install-helper: ${(error as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`install-helper: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
