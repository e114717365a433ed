import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayConfig, loadConfig } from '../app/config.ts';
import { configFormats, typesOf } from '../config/config-schema.ts';
import { serveCommand } from './serve-command.ts';
import { Command } from 'commander';
import { addServeFlags, givenServeFlags, type ServeFlag } from './serve-flags.ts';

/** A value each flag accepts, by the format (or type) of its option. */
const SAMPLES: Record<string, string> = {
  'host-port': '127.0.0.1:9999',
  'file-path': 'some/file.pem',
  'store-location': './other.db',
  'upstream-url': 'http://127.0.0.1:3001',
  cidr: '10.0.0.0/8',
  duration: '7m',
  'redis-url': 'redis://127.0.0.1:6390',
  integer: '3',
  'report-only-policy': 'input-validation',
};

function sampleFor(field: string): string {
  const option = gatewayConfig.options.find((candidate) => candidate.field === field);
  assert.ok(option, `no option ${field}`);
  // A list option takes one item per flag.
  const schema = option.schema.type === 'array' ? (option.schema.items as typeof option.schema) : option.schema;
  const key = schema.format ?? typesOf(schema).find((type) => type !== 'null');
  const sample = SAMPLES[key as string];
  assert.ok(sample !== undefined, `no sample value for ${field} (${String(key)})`);
  return sample;
}

function parsedFlags(argv: string[]): { flags: ServeFlag[]; values: Record<string, unknown> } {
  const command = new Command('serve').exitOverride();
  const flags = addServeFlags(command, gatewayConfig.options, configFormats(gatewayConfig.fragments));
  command.parse(argv, { from: 'user' });
  return { flags, values: command.opts() };
}

describe('serve flags', () => {
  const withFlags = gatewayConfig.options.filter((option) => option.schema['x-flag'] !== undefined);

  it('gives every option that names a flag a real option of `serve`', () => {
    const help = serveCommand().helpInformation();
    assert.ok(withFlags.length >= 15, 'the flags of the design are there');
    for (const option of withFlags) assert.match(help, new RegExp(`^\\s+${option.schema['x-flag'] as string} <`, 'm'), `serve --help lacks ${option.schema['x-flag'] as string}`);
  });

  it('sets exactly its own option from each flag', () => {
    for (const option of withFlags) {
      const flag = option.schema['x-flag'] as string;
      const sample = sampleFor(option.field);
      const { flags, values } = parsedFlags([flag, sample]);
      const given = givenServeFlags(flags, values).filter(({ value }) => value !== undefined);
      assert.deepEqual(given.map(({ field, flag: name }) => [field, name]), [[option.field, flag]], `${flag} sets ${option.field} only`);
      assert.deepEqual(given[0]?.value, option.schema.type === 'array' ? [sample] : sample);
    }
  });

  it('collects a repeatable flag into a list, and the loaded config keeps every entry', () => {
    const { flags, values } = parsedFlags(['--allow-ip', '10.0.0.0/8', '--allow-ip', '192.0.2.7', '--workers', '2']);
    const config = loadConfig({ env: {}, cwd: '/srv', flags: givenServeFlags(flags, values) });
    assert.deepEqual(config.network.allow, ['10.0.0.0/8', '192.0.2.7']);
    assert.equal(config.workers, 2, 'a number flag arrives as a number');
  });

  it('names the flag when its value is wrong', () => {
    const { flags, values } = parsedFlags(['--listen', 'nowhere']);
    assert.throws(() => loadConfig({ env: {}, cwd: '/srv', flags: givenServeFlags(flags, values) }), /listen \(from --listen\): expected HOST:PORT/);
  });
});
