// `npm run install-helper [-- install|uninstall] [flags]`: the installer from a clone of this
// repository, run by tsx. The same code as `git-credential-bitbucket install`
// (src/installer); git is pointed at the built entry point, dist/helper/git-credential-bitbucket.cjs.

import { join, resolve } from 'node:path';
import { findCommand } from '../src/cli/commands.js';
import { isUserError } from '../src/cli/errors.js';
import { helpText } from '../src/cli/usage.js';
import { installCommand, uninstallCommand } from '../src/installer/command.js';
import { productPaths } from '../src/shared/paths.js';

const helperPath = join(resolve(import.meta.dirname, '..'), 'dist', 'helper', 'git-credential-bitbucket.cjs');

async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  const context = { paths: productPaths(), helperPath };
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(helpText(findCommand(first === 'uninstall' ? 'uninstall' : 'install')!) + '\n');
    return 0;
  }
  try {
    if (first === 'uninstall') return await uninstallCommand(rest, context);
    return await installCommand(first === 'install' ? rest : args, context);
  } catch (error) {
    if (isUserError(error)) {
      process.stderr.write(`install-helper: ${(error as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`install-helper: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
