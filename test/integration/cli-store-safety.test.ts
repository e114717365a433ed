/**
 * Commands that never surprise: only `serve`, `keys create`, `store migrate` and `store init`
 * create a store; every other command on a missing store fails (exit 1), names the path it
 * looked at and how to point at the right one, and creates nothing, also on an empty
 * PostgreSQL schema. Every command says which store it used. A misspelt PORTCULLIS_* variable
 * is an error; certificates are never overwritten without --force.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkTestPostgres, createTestSchema, runSql } from '../support/postgres.ts';
import { PROJECT_ROOT, runCli, temporaryDirectory } from '../support/processes.ts';
import { describeNeeding } from '../support/required-service.ts';

/** Every command that reads or changes an existing store, with the arguments it needs. */
const READERS: ReadonlyArray<readonly string[]> = [
  ['keys', 'list'],
  ['keys', 'show', 'key_x'],
  ['keys', 'revoke', 'key_x'],
  ['keys', 'rotate', 'key_x'],
  ['keys', 'export'],
  ['admin', 'token', 'create', '--role', 'read'],
  ['admin', 'token', 'list'],
  ['admin', 'token', 'revoke', 'adm_x'],
  ['audit', 'list'],
  ['audit', 'verify'],
];

describe('a command on a missing store creates nothing', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());

  it('fails with exit 1, naming the path it looked at and how to point at the right one', async () => {
    const typo = join(directory.path, 'dtaa', 'portcullis.db');
    for (const args of READERS) {
      const result = await runCli([...args, '--store', typo]);
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`^portcullis: error: (No \\S+ (token )?with id "\\w+": )?no key store at ${typo.replaceAll('/', '\\/')}: the file does not exist \\(from --store\\)\\.`), args.join(' '));
      assert.match(result.stderr, /point at its store with --store PATH\|URL, --config FILE or PORTCULLIS_STORE/);
      assert.match(result.stderr, /Nothing was created\. To make a new, empty store there: portcullis store init --store /);
    }
    const apply = join(directory.path, 'keys.yaml');
    writeFileSync(apply, 'schemaVersion: 1\nkeys: []\n');
    const digests = join(directory.path, 'digests.txt');
    writeFileSync(digests, `sha256:${'a'.repeat(64)}\n`);
    for (const args of [['apply', '-f', apply], ['keys', 'import', digests], ['store', 'backup', join(directory.path, 'b.db')]]) {
      const result = await runCli([...args, '--store', typo]);
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /no key store at/);
    }
    assert.deepEqual(readdirSync(directory.path).sort(), ['digests.txt', 'keys.yaml'], 'not the store, not even its folder');
  });

  it('run from another folder, says the default path is relative to where it ran', async () => {
    const elsewhere = join(directory.path, 'elsewhere');
    mkdirSync(elsewhere);
    const result = await runCli(['keys', 'list'], { cwd: elsewhere });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`no key store at ${elsewhere}/data/portcullis\\.db: the file does not exist \\(from the default \\./data/portcullis\\.db, in ${elsewhere}\\)`));
    assert.deepEqual(readdirSync(elsewhere), []);
  });

  it('refuses a file that is not a Portcullis store, and leaves it alone', async () => {
    const other = join(directory.path, 'notes.db');
    writeFileSync(other, 'not a database');
    const result = await runCli(['keys', 'list', '--store', other]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no key store at .*notes\.db: it (cannot be (opened|read) as a SQLite database|is not a database file)/);
    assert.equal(readFileSync(other, 'utf8'), 'not a database');
  });

  it('keys create and store init create a store; store init says so, and a second one changes nothing', async () => {
    const created = join(directory.path, 'new', 'a.db');
    const made = await runCli(['keys', 'create', '--name', 'first', '--store', created]);
    assert.equal(made.code, 0, made.stderr);
    assert.ok(existsSync(created));
    const store = join(directory.path, 'init', 'b.db');
    const first = await runCli(['store', 'init', '--store', store]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^Created a new, empty key store at .*b\.db \(from --store\)/);
    const second = await runCli(['store', 'init', '--store', store, '--json']);
    assert.equal((JSON.parse(second.stdout) as { created: boolean }).created, false);
    const listed = await runCli(['keys', 'list', '--store', store]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^No keys/);
  });

  it('says which store it used: a line on stderr, or a store field in its JSON', async () => {
    const store = join(directory.path, 'said.db');
    const created = await runCli(['keys', 'create', '--name', 'x', '--store', store, '--json']);
    assert.equal((JSON.parse(created.stdout) as { store: string }).store, store);
    assert.equal(created.stderr, '', 'the JSON says it: nothing on stderr');
    for (const args of [['keys', 'list'], ['keys', 'list', '--json'], ['audit', 'list'], ['admin', 'token', 'list']]) {
      const result = await runCli([...args, '--store', store]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, `portcullis: key store ${store} (from --store)\n`, args.join(' '));
    }
    const fromEnvironment = await runCli(['keys', 'list'], { env: { PORTCULLIS_STORE: store } });
    assert.equal(fromEnvironment.stderr, `portcullis: key store ${store} (from PORTCULLIS_STORE)\n`);
  });
});

const postgres = await checkTestPostgres();

describeNeeding(postgres, 'a command on an empty PostgreSQL schema creates no tables', () => {
  it('fails with exit 1 and leaves the schema empty; store init then creates the tables', async () => {
    const schema = await createTestSchema();
    try {
      const tables = async () => Number((await runSql(schema.url, 'SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1', [schema.schema])).rows[0].n);
      for (const args of [['keys', 'list'], ['audit', 'verify'], ['keys', 'show', 'key_x']]) {
        const result = await runCli([...args, '--store', schema.url]);
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr, new RegExp(`no key store at postgres://.*: schema ${schema.schema} holds no Portcullis tables`));
      }
      assert.equal(await tables(), 0, 'not one table');
      const init = await runCli(['store', 'init', '--store', schema.url]);
      assert.equal(init.code, 0, init.stderr);
      assert.ok((await tables()) >= 8);
      const listed = await runCli(['keys', 'list', '--store', schema.url]);
      assert.equal(listed.code, 0, listed.stderr);
    } finally {
      await schema.drop();
    }
  });
});

describe('PORTCULLIS_* variables', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());

  it('a misspelt one is a usage error (exit 2) with a did-you-mean, for serve and every command that reads config', async () => {
    const store = join(directory.path, 'k.db');
    for (const args of [['serve', '--listen', '127.0.0.1:0', '--store', store], ['keys', 'list', '--store', store]]) {
      const result = await runCli(args, { env: { PORTCULLIS_NETWORK_ALOW: '10.0.0.0/8' } });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^portcullis: error: invalid configuration:\n {2}- PORTCULLIS_NETWORK_ALOW \(environment\): no such option; did you mean PORTCULLIS_NETWORK_ALLOW\?/);
      assert.doesNotMatch(result.stdout, /listening/);
    }
    const checked = await runCli(['config', 'check', '--store', store], { env: { PORTCULLIS_NETWORK_ALOW: '10.0.0.0/8' } });
    assert.equal(checked.code, 2);
    assert.match(checked.stdout, /FAILED  config .*\n {6}- PORTCULLIS_NETWORK_ALOW \(environment\): no such option; did you mean PORTCULLIS_NETWORK_ALLOW\?/);
    assert.equal(existsSync(store), false);
  });

  it('the known ones that are not options are accepted', async () => {
    const result = await runCli(['keys', 'list', '--store', join(directory.path, 'none.db')], { env: { PORTCULLIS_CHROMIUM: '/nowhere', PORTCULLIS_BANNER: '1', PORTCULLIS_TEST_POSTGRES_URL: 'postgres://x' } });
    assert.equal(result.code, 1, 'the missing store, not the variables');
  });
});

describe('certificates are never overwritten without --force', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());

  it('certs client NAME refuses an existing NAME (a key may be bound to it); --force replaces it', async () => {
    const dir = join(directory.path, 'certs');
    assert.equal((await runCli(['certs', 'init', '--dir', dir])).code, 0);
    const first = await runCli(['certs', 'client', 'web-1', '--dir', dir, '--json']);
    const { fingerprint } = JSON.parse(first.stdout) as { fingerprint: string };
    const certificate = readFileSync(join(dir, 'clients', 'web-1.crt'), 'utf8');
    const again = await runCli(['certs', 'client', 'web-1', '--dir', dir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^portcullis: error: .*web-1\.crt and .*web-1\.key already exist: nothing was written\. Keys bound to this certificate/);
    assert.equal(readFileSync(join(dir, 'clients', 'web-1.crt'), 'utf8'), certificate);
    const forced = await runCli(['certs', 'client', 'web-1', '--dir', dir, '--force', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual((JSON.parse(forced.stdout) as { fingerprint: string }).fingerprint, fingerprint);
  });

  it('certs init refuses an existing server certificate; --force replaces it', async () => {
    const dir = join(directory.path, 'init');
    assert.equal((await runCli(['certs', 'init', '--dir', dir])).code, 0);
    const ca = readFileSync(join(dir, 'ca.key'), 'utf8');
    const again = await runCli(['certs', 'init', '--dir', dir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /server\.crt and .*server\.key already exist: nothing was written/);
    assert.equal(readFileSync(join(dir, 'ca.key'), 'utf8'), ca);
    assert.equal((await runCli(['certs', 'init', '--dir', dir, '--force'])).code, 0);
  });

  it('.gitignore keeps certs/ (with the CA key) and data/ (the store) out of git', () => {
    const ignored = execFileSync('git', ['check-ignore', '--no-index', 'certs/ca.key', 'certs/clients/web-1.key', 'data/portcullis.db'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    assert.deepEqual(ignored.trim().split('\n'), ['certs/ca.key', 'certs/clients/web-1.key', 'data/portcullis.db']);
  });
});
