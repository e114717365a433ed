import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from './config-error.ts';
import type { ConfigFragment } from './config-fragment.ts';
import { ConfigLoader } from './load-config.ts';
import { NON_OPTION_VARIABLES } from './environment-variables.ts';
import { WORKER_PORT_VARIABLE, WORKER_SERVES_ADMIN_VARIABLE } from '../workers/worker-messages.ts';

/** A loader of two small fragments: the machinery, without the gateway's options. */
const fragment: ConfigFragment<{ raw: Record<string, unknown> }> = {
  options: {
    'network.allow': { type: 'array', items: { type: 'string' }, default: [], description: 'Allowed.' },
    'network.deny': { type: 'array', items: { type: 'string' }, default: [], description: 'Denied.' },
    'limits.keyRate': { type: ['string', 'null'], default: null, description: 'Rate.' },
    'routes.path': { type: ['string', 'null'], default: null, description: 'A path template.' },
    store: { type: 'string', default: './data/x.db', description: 'Store.' },
  },
  read: (document) => ({ raw: document as Record<string, unknown> }),
};
const loader = new ConfigLoader<{ raw: Record<string, unknown> }>([fragment as ConfigFragment<unknown>]);
const folder = mkdtempSync(join(tmpdir(), 'portcullis-config-messages-'));
after(() => rmSync(folder, { recursive: true, force: true }));

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.fail('expected a ConfigError');
}

function file(name: string, text: string): string {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
}

describe('config messages', () => {
  it('refuses an unknown PORTCULLIS_* variable, with the closest option; keeps the non-option ones', () => {
    const problems = problemsOf(() => loader.load({ env: { PORTCULLIS_NETWORK_ALOW: '10.0.0.0/8', PORTCULLIS_STORE: 'x.db', PORTCULLIS_WHATEVER: '1' }, cwd: folder }));
    assert.deepEqual(problems.map((problem) => problem.split(' (every')[0]), ['PORTCULLIS_NETWORK_ALOW (environment): no such option; did you mean PORTCULLIS_NETWORK_ALLOW?', 'PORTCULLIS_WHATEVER (environment): no such option']);
    const env = Object.fromEntries(Object.keys(NON_OPTION_VARIABLES).map((name) => [name, 'x']));
    delete env.PORTCULLIS_CONFIG;
    assert.doesNotThrow(() => loader.load({ env, cwd: folder }));
    for (const variable of [WORKER_PORT_VARIABLE, WORKER_SERVES_ADMIN_VARIABLE]) assert.ok(variable in NON_OPTION_VARIABLES, `${variable}, which the supervisor sets for its workers, is listed`);
  });

  it('suggests the option a misspelt or misplaced config key meant', () => {
    const problems = problemsOf(() => loader.load({ configFile: file('keys.yaml', 'network:\n  alow: [10.0.0.0/8]\nkeyRate: 5/s\nstroe: x\n'), env: {}, cwd: folder }));
    assert.ok(problems.some((problem) => problem.startsWith('network.alow (from ') && problem.includes('did you mean network.allow?')), problems.join('\n'));
    assert.ok(problems.some((problem) => problem.startsWith('keyRate') && problem.includes('did you mean limits.keyRate?')), problems.join('\n'));
    assert.ok(problems.some((problem) => problem.startsWith('stroe') && problem.includes('did you mean store?')), problems.join('\n'));
    assert.ok(problems.some((problem) => problem.includes('      2 |   alow: [10.0.0.0/8]\n        |   ^')), 'the line, with a caret under the key');
  });

  it('shows a YAML syntax error on its line with a caret, and says to quote braces in a flow mapping', () => {
    const path = file('flow.yaml', 'routes:\n  - { method: GET, path: /orders/{id} }\n');
    const [problem, ...others] = problemsOf(() => loader.load({ configFile: path, env: {}, cwd: folder }));
    assert.equal(others.length, 0, 'one problem per line, not one per token');
    assert.equal(problem, [
      `config file ${path}:2:34: unexpected "{" at node end`,
      '      2 |   - { method: GET, path: /orders/{id} }',
      '        |                                  ^',
      "      hint: in YAML, { … } is a mapping: quote a value that holds braces, such as path: '/orders/{id}'",
    ].join('\n'));
    const indentation = problemsOf(() => loader.load({ configFile: file('indent.yaml', 'network:\n  allow: []\n deny: []\n'), env: {}, cwd: folder }))[0];
    assert.match(indentation as string, /indent\.yaml:3:\d+: .*\n {6}3 \|  deny: \[\]\n {8}\| +\^$/);
  });

  it('says to quote {…} where YAML read a value as a mapping', () => {
    const problems = problemsOf(() => loader.load({ configFile: file('braces.yaml', 'routes:\n  path: {id}\n'), env: {}, cwd: folder }));
    assert.match(problems[0] as string, /^routes\.path \(from .*braces\.yaml\): expected string or null, found \{"id":null\}\n {6}at .*braces\.yaml:2:3\n {6}2 \| {3}path: \{id\}\n[^\n]*\n {6}hint: in YAML, \{ … \} is a mapping/);
  });
});
