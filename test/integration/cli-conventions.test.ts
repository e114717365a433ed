/**
 * CLI conventions: --version, shell completion made from the program, one error prefix,
 * `config check` (everything serve loads, without listening), and --json on every command,
 * each output valid against its versioned JSON Schema in docs/cli-json/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { PROJECT_ROOT, runCli, temporaryDirectory } from '../support/processes.ts';
import { checkTestPostgres, createTestSchema } from '../support/postgres.ts';
import { describeNeeding, findExecutable } from '../support/required-service.ts';

const SCHEMAS = join(PROJECT_ROOT, 'docs', 'cli-json');
const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };

function schemaValidator(): (name: string, output: unknown) => void {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  (addFormatsPlugin as unknown as (instance: Ajv2020) => void)(ajv);
  for (const file of readdirSync(SCHEMAS).filter((name) => name.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as object);
  return (name, output) => {
    const validate = ajv.getSchema(`https://portcullis.invalid/cli-json/v1/${name}.schema.json`);
    assert.ok(validate, `docs/cli-json/${name}.schema.json exists`);
    assert.ok(validate(output), `${name}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(output, null, 2).slice(0, 2000)}`);
  };
}

describe('CLI conventions', () => {
  it('--version prints the package version', async () => {
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag]);
      assert.equal(result.code, 0);
      assert.equal(result.stdout, `${version}\n`);
    }
  });

  it('every error starts with "portcullis: error:", usage errors exit 2 and suggest what was meant', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['keys', 'lsit'], 2, /^portcullis: error: unknown command 'lsit'\n\(Did you mean list\?\)/],
      [['keys', 'list', '--tga', 'x'], 2, /^portcullis: error: unknown option '--tga'\n\(Did you mean --tag\?\)/],
      [['srve'], 2, /^portcullis: error: unknown command 'srve'\n\(Did you mean serve\?\)/],
      [['keys', 'create', '--name', 'x', '--rate', 'fast', '--store', '/nonexistent/k.db'], 2, /^portcullis: error: --rate: expected a rate/],
      [['completion', 'tcsh'], 2, /^portcullis: error: completion: expected bash, zsh or fish, found "tcsh"/],
      [['certs', 'client', 'x', '--dir', '/nonexistent'], 2, /^portcullis: error: No CA in \/nonexistent/],
    ];
    for (const [args, code, message] of cases) {
      const result = await runCli(args);
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
    }
  });
});

describe('shell completion, made from the program', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  const scripts: Record<string, string> = {};
  before(async () => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const result = await runCli(['completion', shell]);
      assert.equal(result.code, 0, result.stderr);
      scripts[shell] = result.stdout;
    }
  });

  it('names every command and every flag of every command, in all three shells', async () => {
    const help = async (args: string[]) => (await runCli([...args, '--help'])).stdout;
    for (const [args, words] of [
      [['keys'], ['create', 'list', 'show', 'revoke', 'rotate', 'export', 'import']],
      [['keys', 'import'], ['--digests', '--tag', '--expires-in']],
      [['scan'], ['--git', '--store', '--revoke', '--reason', '--json']],
      [['report'], ['--since', '--store', '--json']],
      [['apply'], ['--file', '--dry-run', '--prune']],
      [['serve'], ['--listen', '--tls-cert', '--allow-ip', '--workers']],
      [['config', 'check'], ['--config', '--json', '--openapi']],
      [['store'], ['init', 'migrate', 'backup', 'restore']],
    ] as const) {
      const text = await help([...args]);
      for (const word of words) {
        assert.ok(text.includes(word), `${args.join(' ')} --help lists ${word}`);
        for (const shell of ['bash', 'zsh', 'fish']) assert.ok((scripts[shell] as string).includes(word.replace(/^--/, shell === 'fish' ? '-l ' : '--')), `${shell} completes ${args.join(' ')} ${word}`);
      }
    }
  });

  it('bash completes subcommands and flags where they are typed', () => {
    const file = join(directory.path, 'portcullis.bash');
    writeFileSync(file, scripts.bash as string);
    const complete = (words: string[]) => {
      const line = `source ${file}; COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _portcullis; echo "\${COMPREPLY[*]}"`;
      return spawnSync('bash', ['-c', line], { encoding: 'utf8' }).stdout.trim();
    };
    assert.equal(complete(['portcullis', 'ke']), 'keys');
    assert.equal(complete(['portcullis', 'keys', 'ex']), 'export');
    assert.equal(complete(['portcullis', 'keys', 'create', '--na']), '--name');
    assert.equal(complete(['portcullis', 'admin', 'token', 'cr']), 'create');
    assert.equal(complete(['portcullis', 'apply', '--dry-run', '--pr']), '--prune');
    assert.equal(spawnSync('bash', ['-n', file]).status, 0);
  });

  it('zsh and fish complete the same way, where they are installed', (context) => {
    const shells = ['zsh', 'fish'].filter((shell) => findExecutable(shell) !== null);
    if (shells.length < 2) context.diagnostic(`not installed here: ${['zsh', 'fish'].filter((shell) => !shells.includes(shell)).join(', ')}; only its text was checked`);
    for (const shell of shells) {
      const file = join(directory.path, `portcullis.${shell}`);
      writeFileSync(file, scripts[shell] as string);
      assert.equal(spawnSync(shell, ['-n', file]).status, 0, shell);
    }
    if (shells.includes('zsh')) {
      // zsh's completion system needs a terminal: its two functions are stubbed, and print what they were given.
      const zsh = (typed: string, current: number) =>
        spawnSync('zsh', ['-c', `compdef() { :; }; _files() { print FILES; }; _describe() { local n=$4; print -l -- \${(P)n%%:*}; }; source ${join(directory.path, 'portcullis.zsh')}; words=(${typed}); CURRENT=${current}; _portcullis`], { encoding: 'utf8' }).stdout.trim().split('\n');
      assert.deepEqual(zsh('portcullis keys ex', 3), ['create', 'list', 'show', 'revoke', 'rotate', 'export', 'import', '--help']);
      assert.deepEqual(zsh('portcullis keys import --store x', 5), ['FILES']);
      assert.ok(zsh("portcullis apply ''", 3).includes('--prune'));
    }
    if (shells.includes('fish')) {
      const fish = (typed: string) => spawnSync('fish', ['-c', `source ${join(directory.path, 'portcullis.fish')}; complete -C '${typed}'`], { encoding: 'utf8' }).stdout.trim().split('\n').map((line) => line.split('\t')[0]);
      assert.deepEqual(fish('portcullis keys ex'), ['export']);
      assert.deepEqual(fish('portcullis admin token c'), ['create']);
      assert.deepEqual(fish('portcullis apply --dr'), ['--dry-run']);
    }
    assert.match(scripts.zsh as string, /^#compdef portcullis\n/);
    assert.match(scripts.fish as string, /complete -c portcullis -n "__portcullis_at 'keys'" -f -a 'export'/);
  });
});

describe('config check', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  const file = (name: string, text: string) => {
    const path = join(directory.path, name);
    writeFileSync(path, text);
    return path;
  };

  it('exits 0 for a configuration serve would start with, without listening or creating the store', async () => {
    const store = join(directory.path, 'data', 'k.db');
    const config = file('ok.yaml', `store: ${store}\nupstream:\n  url: http://127.0.0.1:9\nroutes:\n  - { method: GET, path: '/orders/{id}', scopes: [orders:read] }\n`);
    const result = await runCli(['config', 'check', '--config', config]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /ok {6}routes {2}1 operation\n/);
    assert.match(result.stdout, /ok {6}store {3}.*k\.db: no store yet \(the file does not exist\); serve creates it at first start/);
    assert.match(result.stdout, /Configuration OK: serve would start with it\.\n$/);
    assert.doesNotMatch(result.stdout + result.stderr, /listening/);
    assert.deepEqual(readdirSync(directory.path).sort(), ['ok.yaml']);
  });

  it('exits 2, naming each problem, for a bad config, OpenAPI document, TLS file or store', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--config', file('typo.yaml', 'upstream:\n  ur: http://x\n')], /upstream\.ur \(from .*\): no such option; did you mean upstream\.url\?/],
      [['--config', file('flow.yaml', 'routes:\n  - { method: GET, path: /orders/{id} }\n')], /flow\.yaml:2:34: unexpected "\{" at node end\n {6}2 \| .*\n {8}\| {34}\^\n {6}hint: in YAML, \{ … \} is a mapping/],
      [['--openapi', file('api.yaml', 'openapi: 3.1.0\npaths:\n  /orders:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema:\n              $ref: "#/components/schemas/Order"\n')], /FAILED {2}routes .*\n {6}- openapi\.file: /],
      [['--tls-cert', join(directory.path, 'missing.crt'), '--tls-key', join(directory.path, 'missing.key')], /FAILED {2}tls .*\n {6}- tls\.cert: cannot read .*missing\.crt \(ENOENT\)/],
      [['--store', 'postgres://nobody@127.0.0.1:1/none'], /FAILED {2}store .*\n {6}- store: Cannot reach the PostgreSQL key store at postgres:\/\/nobody@127\.0\.0\.1:1\/none/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['config', 'check', '--store', join(directory.path, 'k.db'), ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}`);
      assert.match(result.stdout, message, args.join(' '));
      assert.match(result.stdout, /Configuration NOT OK: serve would refuse to start \(exit 2\)\.\n$/);
    }
  });
});

describe('--json on every command: one documented, versioned shape each (docs/cli-json/)', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  const validate = schemaValidator();
  const store = join(directory.path, 'k.db');
  async function json(name: string, args: string[]): Promise<Record<string, unknown>> {
    const result = await runCli([...args, '--json']);
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    const output = JSON.parse(result.stdout) as Record<string, unknown>;
    validate(name, output);
    if (!Array.isArray(output)) assert.equal(Object.keys(output)[0], 'schemaVersion', `${name}: schemaVersion comes first`);
    return output;
  }

  it('every output validates against its schema, and every schema is used', async () => {
    const used = new Set<string>();
    const run = async (name: string, args: string[]) => {
      used.add(name);
      return json(name, args);
    };
    const s = ['--store', store];
    await run('store-init', ['store', 'init', ...s]);
    const created = await run('keys-create', ['keys', 'create', '--name', 'web-1', '--tag', 'web', '--scope', 'orders:read', '--rate', '10/s', '--quota', '100/day', '--allow-ip', '10.0.0.0/8', '--expires-in', '30d', ...s]);
    const id = created.id as string;
    await run('keys-show', ['keys', 'show', id, ...s]);
    await run('keys-list', ['keys', 'list', ...s]);
    const exported = await run('keys-file', ['keys', 'export', ...s]);
    const keysFile = join(directory.path, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ ...exported, keys: [...(exported.keys as object[]), { name: 'web-2', tags: ['web'] }] }));
    await run('apply', ['apply', '-f', keysFile, '--dry-run', ...s]);
    await run('apply', ['apply', '-f', keysFile, '--prune', ...s]);
    const digests = join(directory.path, 'digests.txt');
    writeFileSync(digests, `sha256:${'b'.repeat(64)}\n{"sha256": "${'c'.repeat(64)}", "name": "partner", "tags": ["imported"]}\n`);
    await run('keys-import', ['keys', 'import', digests, ...s]);
    const held = await run('keys-quarantine', ['keys', 'quarantine', id, '--reason', 'found in a public gist', ...s]);
    assert.deepEqual([held.changed, (held.key as { status: string }).status], [true, 'quarantined']);
    const released = await run('keys-release', ['keys', 'release', id, ...s]);
    assert.deepEqual([released.changed, (released.key as { status: string }).status], [true, 'active']);
    const own = await run('keys-leak-action', ['keys', 'leak-action', id, 'revoke', ...s]);
    assert.deepEqual([own.changed, (own.key as { leakAction: string }).leakAction], [true, 'revoke']);
    await run('keys-rotate', ['keys', 'rotate', id, '--grace', '1m', ...s]);
    await run('keys-revoke', ['keys', 'revoke', '--tag', 'imported', ...s]);
    const token = await run('admin-token-create', ['admin', 'token', 'create', '--role', 'read', ...s]);
    await run('admin-token-list', ['admin', 'token', 'list', ...s]);
    await run('admin-token-revoke', ['admin', 'token', 'revoke', token.id as string, ...s]);
    await run('audit-list', ['audit', 'list', ...s]);
    await run('audit-verify', ['audit', 'verify', ...s]);
    const incidents = await run('incidents-list', ['incidents', 'list', ...s]) as unknown as Array<{ kind: string; keyId: string; keyStatus: string }>;
    assert.deepEqual(incidents.map((incident) => [incident.kind, incident.keyId]), [['quarantine', id]], 'the quarantine above');
    const backup = join(directory.path, 'backup.db');
    await run('store-backup', ['store', 'backup', backup, ...s]);
    await run('store-restore', ['store', 'restore', backup, '--force', ...s]);
    const certs = join(directory.path, 'certs');
    await run('certs-init', ['certs', 'init', '--dir', certs]);
    await run('certs-client', ['certs', 'client', 'web-1', '--dir', certs]);
    await run('certs-fingerprint', ['certs', 'fingerprint', join(certs, 'ca.crt')]);
    await run('config-check', ['config', 'check', ...s]);
    const revokedToken = await run('tokens-revoke', ['tokens', 'revoke', 'AAAAAAAAAAAAAAAAAAAAAA', '--key', id, '--reason', 'copied into a ticket', ...s]);
    assert.equal(revokedToken.changed, true);
    assert.equal((await run('tokens-revoke', ['tokens', 'revoke', 'AAAAAAAAAAAAAAAAAAAAAA', '--reason', 'again', ...s])).changed, false, 'a second revocation changes nothing');
    // scan exits 1 on a live key: a revoked one is reported and exits 0.
    const leaked = await run('keys-create', ['keys', 'create', '--name', 'leaked', ...s]);
    assert.equal((await runCli(['keys', 'revoke', leaked.id as string, ...s])).code, 0);
    const leakedFile = join(directory.path, 'leaked.env');
    writeFileSync(leakedFile, `KEY=${leaked.key as string}\n`);
    const scanned = await run('scan', ['scan', leakedFile, ...s]);
    assert.equal((scanned.findings as Array<{ status: string }>)[0]?.status, 'revoked');
    const report = await run('report', ['report', '--since', '1h', ...s]);
    assert.equal(report.total, 0, 'no gateway ran on this store: nothing would have been refused');
    const apiUsage = await run('usage-apis', ['usage', 'apis', '--since', '1h', ...s]);
    assert.deepEqual(apiUsage.apis, [], 'no gateway ran on this store: no API has requests');
    // store migrate needs PostgreSQL: its output is checked below, where there is one.
    const documented = readdirSync(SCHEMAS).filter((name) => name.endsWith('.schema.json') && name !== 'definitions.schema.json').map((name) => name.replace('.schema.json', ''));
    assert.deepEqual(documented.filter((name) => !used.has(name) && name !== 'store-migrate'), [], 'a schema for every output, and an output for every schema');
  });
});

describeNeeding(await checkTestPostgres(), 'store migrate --json', () => {
  it('validates against docs/cli-json/store-migrate.schema.json', async () => {
    const directory = temporaryDirectory();
    const schema = await createTestSchema();
    try {
      const from = join(directory.path, 'k.db');
      assert.equal((await runCli(['keys', 'create', '--name', 'x', '--store', from])).code, 0);
      const result = await runCli(['store', 'migrate', '--from', from, '--to', schema.url, '--json']);
      assert.equal(result.code, 0, result.stderr);
      schemaValidator()('store-migrate', JSON.parse(result.stdout));
    } finally {
      await schema.drop();
      directory.remove();
    }
  });
});
