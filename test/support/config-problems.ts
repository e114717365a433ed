import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/config-error.ts';

/** The problems of the ConfigError that `load` throws; fails the test when it loads, or throws anything else. */
export function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected the configuration to be refused');
}
