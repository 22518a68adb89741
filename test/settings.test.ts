// The settings table (src/shared/settings.ts) is the one place each tunable number is defined;
// the README's table must say the same, and config.json and the environment must both be held
// to the documented range.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS, readSetting, type Setting } from '../src/shared/settings.js';
import { REPO_ROOT } from './support/sandbox.js';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const all: Array<[string, Setting]> = Object.entries(SETTINGS);

/** The README row a setting must have: variable, config key, default, range. */
function row(setting: Setting): string {
  const key = setting.config ? `\`${setting.config.join('.')}\`` : '—';
  return `| \`${setting.env}\` | ${key} | ${setting.default} | ${setting.min}–${setting.max} ${setting.unit} | ${setting.summary} |`;
}

for (const [name, setting] of all) {
  test(`README documents setting ${name} as the table defines it`, (t) => {
    t.true(readme.includes(row(setting)), `README.md lacks the row:\n${row(setting)}`);
  });
}

test('an environment value is used only inside its range; anything else is named and ignored', (t) => {
  const setting = SETTINGS.idleTimeout;
  t.deepEqual(readSetting(setting, { [setting.env]: '60' }), { value: 60, source: 'environment' });
  t.deepEqual(readSetting(setting, {}, 120), { value: 120, source: 'config' });
  t.deepEqual(readSetting(setting, {}), { value: 3600, source: 'default' });
  for (const bad of ['0.001', '0', '-5', '604801', 'soon', 'Infinity', 'NaN']) {
    const read = readSetting(setting, { [setting.env]: bad }, 120);
    t.is(read.value, 120, bad);
    t.is(read.source, 'config');
    t.true(read.problem?.startsWith(`${setting.env}=${bad} was ignored: it must be a number of seconds from 1 to 604800`), bad);
  }
  t.is(readSetting(setting, { [setting.env]: '' }).problem, undefined);
});
