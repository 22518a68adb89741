// How every command reads its arguments: Node's parseArgs, but a mistake is reported in words a
// person can act on ("unknown option '--bogus'") instead of Node's own message, which suggests
// `--` and quoting to someone who mistyped an option. Shared by the CLI and the installer (whose
// dev script runs without the CLI), so it lives below both.

import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util';

/** The command line does not fit the command: the CLI prints this and the command's usage. */
export class ArgumentError extends Error {
  override readonly name = 'ArgumentError';
}

/** Node's parseArgs (strict, its default), with every refusal an ArgumentError that names the argument. */
export function parseArgs<T extends ParseArgsConfig & { args: string[] }>(config: T): ReturnType<typeof nodeParseArgs<T>> {
  const options = config.options ?? {};
  const { tokens = [] } = nodeParseArgs({ ...config, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional' && !config.allowPositionals) throw new ArgumentError(`unexpected argument '${token.value}'`);
    if (token.kind !== 'option') continue;
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (!option) throw new ArgumentError(`unknown option '${token.rawName}'`);
    if (option.type === 'string' && token.value === undefined) {
      throw new ArgumentError(`option '${token.rawName}' needs a value (write ${token.rawName}=VALUE for one that starts with '-')`);
    }
    if (option.type === 'boolean' && token.inlineValue) throw new ArgumentError(`option '${token.rawName}' takes no value`);
  }
  return nodeParseArgs(config);
}
