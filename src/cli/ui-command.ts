// `ui [--port N] [--no-open]`: serves the local management page from this process until
// interrupted (the page server, its safety rules and its live feed are in ui/). The daemon is
// not asked to serve anything: it only streams its request events to this process while a page
// is open, so git's path and the daemon's memory pay nothing for the page.

import { parseArgs } from '../shared/args.js';
import type { ProductPaths } from '../shared/paths.js';
import { UserError } from '../core/errors.js';
import { untilInterrupted } from './interrupt.js';
import { openBrowser } from './open-browser.js';
import { startPageServer } from './ui/page-server.js';

export async function uiCommand(args: string[], paths: ProductPaths): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, 'no-open': { type: 'boolean', default: false } } });
  // Without --port, the system picks a free one.
  const port = values.port === undefined ? 0 : Number(values.port);
  if (values.port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    throw new UserError(`--port takes a port number from 1 to 65535, not ${values.port}`);
  }
  const page = await startPageServer(paths, port);
  const address = page.gate.openUrl;
  process.stdout.write(`Serving the page on ${page.gate.origin}/ until Ctrl-C. This address works once:\n`);
  if (!values['no-open']) {
    openBrowser(address);
    process.stdout.write('(opening it in your browser; if nothing opens, run again with --no-open and open the address yourself)\n');
  }
  process.stdout.write(`${address}\n`);
  await untilInterrupted();
  page.close();
  return 0;
}
