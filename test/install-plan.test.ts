// The installer's plans as pure functions: which `git config` commands take out what install
// added, and what they report as removed, given what `git config --list` shows. The commands
// themselves run against real git in install.test.ts and identity.test.ts.

import test from 'ava';
import { planIncludeRemoval } from '../src/installer/identities.js';
import { planUninstall } from '../src/installer/plan.js';

const INCLUDE = 'includeIf.hasconfig:remote.*.url:https://bitbucket.org/[aA]/**.path';
const LISTED_INCLUDE = 'includeif.hasconfig:remote.*.url:https://bitbucket.org/[aA]/**.path';

test('include removal takes out only our values, names each, and keeps a section the user still has a value in', (t) => {
  const entries = [
    { name: LISTED_INCLUDE, value: '/c/identities/work.gitconfig' },
    { name: LISTED_INCLUDE, value: '/home/me/mine.gitconfig' },
    { name: LISTED_INCLUDE, value: '/c/identities/home.gitconfig' },
  ];
  const installed = [
    { key: INCLUDE, value: '/c/identities/work.gitconfig' },
    { key: INCLUDE, value: '/c/identities/home.gitconfig' },
    { key: INCLUDE, value: '/c/identities/gone.gitconfig' },
  ];
  const removal = planIncludeRemoval('global', entries, installed);
  t.deepEqual(removal.commands, [
    ['config', '--global', '--fixed-value', '--unset-all', INCLUDE, '/c/identities/work.gitconfig'],
    ['config', '--global', '--fixed-value', '--unset-all', INCLUDE, '/c/identities/home.gitconfig'],
  ]);
  t.deepEqual(removal.removed, [INCLUDE, INCLUDE], 'one line per value taken out; none for the one already gone');

  const alone = planIncludeRemoval('global', entries.filter((entry) => entry.value.startsWith('/c/')), installed);
  t.deepEqual(alone.commands.at(-1), ['config', '--global', '--remove-section', INCLUDE.slice(0, -'.path'.length)]);
  t.deepEqual(alone.removed, [INCLUDE, INCLUDE]);
  t.deepEqual(planIncludeRemoval('global', [], installed), { commands: [], removed: [] });
});

test('uninstall removes a section it created only once nothing of the user is left in it', (t) => {
  const url = 'https://bitbucket.org';
  const installed = { scope: 'global' as const, keys: [{ key: `credential.${url}.helper`, added: ['', '/x/helper'], replaced: [] }, { key: `credential.${url}.useHttpPath`, added: ['true'], replaced: [] }], sections: [url] };
  const ours = [
    { name: `credential.${url}.helper`, value: '' },
    { name: `credential.${url}.helper`, value: '/x/helper' },
    { name: `credential.${url}.usehttppath`, value: 'true' },
  ];
  const plan = planUninstall('global', ours, installed);
  t.deepEqual(plan.commands, [
    ['config', '--global', '--unset-all', `credential.${url}.helper`],
    ['config', '--global', '--unset-all', `credential.${url}.useHttpPath`],
    ['config', '--global', '--remove-section', `credential.${url}`],
  ]);
  t.deepEqual(plan.removed, [`credential.${url}.helper`, `credential.${url}.useHttpPath`]);

  const withUsers = planUninstall('global', [...ours, { name: `credential.${url}.username`, value: 'alice' }], installed);
  t.false(withUsers.commands.some((command) => command.includes('--remove-section')));
});
