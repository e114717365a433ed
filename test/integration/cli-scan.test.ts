/**
 * `portcullis scan`: every key planted in a generated repository is found (current files,
 * history, a deleted file, another branch, a tag, stdin), nothing is reported on 100,000
 * random high-entropy strings and lookalikes, no key is ever printed, exit statuses are as
 * documented, and with a store it tells live keys from revoked ones and `--revoke` revokes
 * (audited).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BASE62_ALPHABET, encodeBase62Number } from '../../src/keys/base62.ts';
import { displayPrefixOf, generateKey } from '../../src/keys/key-format.ts';
import { createKeyWithCli, PROJECT_ROOT, runCli, temporaryDirectory, type CliResult } from '../support/processes.ts';
import { describeNeeding, requireTools } from '../support/required-service.ts';

const MAIN = join(PROJECT_ROOT, 'src', 'cli', 'main.js');

/** The CLI with `input` on stdin (runCli gives it none). */
function runCliWithInput(args: string[], input: string, cwd: string): CliResult {
  const result = spawnSync(process.execPath, [MAIN, ...args], { cwd, input, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface ScanJson {
  store: string | null;
  keys: number;
  liveKeys: number;
  scanned: { files: number; skipped: { binary: number; tooLarge: number } };
  findings: Array<{ displayPrefix: string; status: string; live: boolean; key: { id: string } | null; path: string; line: number; column: number; commits?: string[]; blob?: string | null; revokedNow: boolean }>;
  revoked: Array<{ id: string }>;
}

function assertNoKeyPrinted(result: CliResult, keys: readonly string[]): void {
  for (const key of keys) {
    assert.ok(!result.stdout.includes(key) && !result.stderr.includes(key), 'a key was printed');
    // Nor any longer part of it than the display prefix.
    assert.ok(!result.stdout.includes(key.slice(0, displayPrefixOf(key).length + 1)), 'more than the display prefix was printed');
  }
}

describeNeeding(requireTools('git'), 'portcullis scan', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  const repository = join(directory.path, 'repo');
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=dev@example.test', '-c', 'user.name=dev', '-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', ...args], { cwd: repository, encoding: 'utf8' });
  const write = (path: string, text: string | Buffer) => {
    mkdirSync(join(repository, path, '..'), { recursive: true });
    writeFileSync(join(repository, path), text);
  };
  const planted = {
    current: generateKey('pcl'),
    currentTagged: generateKey('pcl_live'),
    edited: generateKey('pcl'),
    deleted: generateKey('pcl'),
    branch: generateKey('pcl_test'),
    tag: generateKey('pcl'),
    stdin: generateKey('pcl'),
    ignoredFolder: generateKey('pcl'),
    binary: generateKey('pcl'),
  };
  const allKeys = Object.values(planted);

  before(() => {
    mkdirSync(repository);
    git('init', '-q');
    write('config/app.env', `# settings\nAPI_KEY=${planted.current}\n`);
    write('src/client.ts', `export const token = "${planted.currentTagged}";\n`);
    write('notes.md', `first line\n  Bearer ${planted.edited}\n`);
    write('secrets/old.json', `{"key": "${planted.deleted}"}\n`);
    git('add', '.');
    git('commit', '-qm', 'first');
    // Edited away and deleted: only history holds them now.
    write('notes.md', 'first line\n  Bearer (redacted)\n');
    git('rm', '-q', 'secrets/old.json');
    git('commit', '-qam', 'remove the leaks');
    git('checkout', '-qb', 'feature');
    write('feature.yaml', `key: ${planted.branch}\n`);
    git('add', '.');
    git('commit', '-qm', 'on a branch');
    git('checkout', '-q', 'main');
    write('tagged.txt', planted.tag);
    git('add', '.');
    git('commit', '-qm', 'tagged');
    git('tag', 'v1');
    git('rm', '-q', 'tagged.txt');
    git('commit', '-qm', 'untagged');
    // In the working tree only: skipped folders and a binary file are not read in a folder scan.
    write('node_modules/pkg/index.js', `module.exports = "${planted.ignoredFolder}";\n`);
    write('image.bin', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0]), Buffer.from(planted.binary)]));
  });

  it('--git finds every key in the history: current files, edited and deleted ones, another branch, a tag', async () => {
    const result = await runCli(['scan', '--git', repository, '--json']);
    assert.equal(result.code, 1, result.stderr);
    assertNoKeyPrinted(result, allKeys);
    const output = JSON.parse(result.stdout) as ScanJson;
    const where = (key: string) => output.findings.filter((finding) => finding.displayPrefix === displayPrefixOf(key));
    for (const [name, path, line, column] of [
      ['current', 'config/app.env', 2, 9],
      ['currentTagged', 'src/client.ts', 1, 23],
      ['edited', 'notes.md', 2, 10],
      ['deleted', 'secrets/old.json', 1, 10],
      ['branch', 'feature.yaml', 1, 6],
      ['tag', 'tagged.txt', 1, 1],
    ] as const) {
      const found = where(planted[name]);
      assert.equal(found.length, 1, `${name}: ${JSON.stringify(output.findings)}`);
      assert.deepEqual([found[0]?.path, found[0]?.line, found[0]?.column], [path, line, column], name);
      assert.equal(found[0]?.commits?.length, 1, `${name}: the commit that added it`);
      assert.match(found[0]?.blob ?? '', /^[0-9a-f]{40}$/);
      assert.equal(found[0]?.status, 'unchecked');
    }
    assert.equal(output.keys, 6);
    assert.equal(output.liveKeys, 6, 'without a store, every key found counts as live');
    assert.equal(output.store, null);
    // The commit is one that really added that file.
    const deleted = where(planted.deleted)[0];
    assert.match(git('show', '--name-status', '--format=', deleted?.commits?.[0] as string), /^A\tsecrets\/old\.json$/m);
  });

  it('--git prints commit:path:line:column for a person, and never the key', async () => {
    const result = await runCli(['scan', '--git', repository]);
    assert.equal(result.code, 1);
    assertNoKeyPrinted(result, allKeys);
    assert.match(result.stdout, new RegExp(`^${displayPrefixOf(planted.deleted)}…  [0-9a-f]{12}:secrets/old\\.json:1:10$`, 'm'));
    assert.match(result.stderr, /scanned \d+ blobs \(.*\); 6 keys in 6 places, 6 live\n/);
  });

  it('a folder scan reads the working tree only: not .git, not node_modules, not binary files', async () => {
    const result = await runCli(['scan', repository, '--json']);
    assert.equal(result.code, 1, result.stderr);
    const output = JSON.parse(result.stdout) as ScanJson;
    assert.deepEqual(output.findings.map((finding) => [finding.displayPrefix, finding.path.slice(repository.length + 1)]).sort(), [
      [displayPrefixOf(planted.current), 'config/app.env'],
      [displayPrefixOf(planted.currentTagged), 'src/client.ts'],
    ].sort());
    assert.equal(output.scanned.skipped.binary, 1);
    // A file named on the command line is read, binary or not.
    const named = JSON.parse((await runCli(['scan', join(repository, 'image.bin'), '--json'])).stdout) as ScanJson;
    assert.deepEqual(named.findings.map((finding) => finding.displayPrefix), [displayPrefixOf(planted.binary)]);
  });

  it('reads stdin (-), with lines and columns', () => {
    const result = runCliWithInput(['scan', '-', '--json'], `log line\nAuthorization: Bearer ${planted.stdin}\n`, directory.path);
    assert.equal(result.code, 1, result.stderr);
    assertNoKeyPrinted(result, allKeys);
    const output = JSON.parse(result.stdout) as ScanJson;
    assert.deepEqual(output.findings.map(({ displayPrefix, path, line, column }) => ({ displayPrefix, path, line, column })), [{ displayPrefix: displayPrefixOf(planted.stdin), path: '-', line: 2, column: 23 }]);
  });

  it('reports nothing on 100,000 random high-entropy strings and lookalikes with a wrong checksum (exit 0)', async (context) => {
    const lines: string[] = [];
    const randomText = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
    for (let index = 0; index < 100_000; index++) {
      const kind = index % 5;
      if (kind === 0) lines.push(randomText(BASE62_ALPHABET, 56));
      else if (kind === 1) lines.push(randomText(`${BASE62_ALPHABET}-_`, 64));
      else if (kind === 2) lines.push(`pcl_${randomText(BASE62_ALPHABET, 49)}`);
      else {
        // A real key's shape with its checksum off by one, or one character changed.
        const key = generateKey(kind === 3 ? 'pcl' : 'pcl_live');
        const head = key.slice(0, -6);
        if (kind === 3) lines.push(`token=${head}${encodeBase62Number((crc32(head) + 1) % 2 ** 32, 6)}`);
        else lines.push(`"${key.slice(0, 20)}${key[20] === 'a' ? 'b' : 'a'}${key.slice(21)}"`);
      }
    }
    const file = join(directory.path, 'entropy.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const started = performance.now();
    const result = await runCli(['scan', file]);
    const elapsed = performance.now() - started;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stdout, 'No keys found.\n');
    context.diagnostic(`portcullis scan over 100,000 strings (${(lines.join('\n').length / 1e6).toFixed(1)} MB): ${elapsed.toFixed(0)} ms, process start included`);
  });

  it('exit statuses: 0 nothing found, 1 a key found, 2 a usage error', async () => {
    const clean = join(directory.path, 'clean');
    mkdirSync(clean);
    writeFileSync(join(clean, 'readme.md'), 'no keys here: pcl_example\n');
    const cases: Array<[string[], number, RegExp]> = [
      [['scan', clean], 0, /^No keys found\.\n$/],
      [['scan', join(repository, 'config')], 1, /config\/app\.env:2:9/],
      [['scan', '--revoke', clean], 2, /^portcullis: error: scan --revoke needs the store/],
      [['scan', '--revoke', '--store', join(directory.path, 'k.db'), clean], 2, /needs --reason/],
      [['scan', '--reason', 'x', clean], 2, /--reason goes with --revoke/],
      [['scan', '--git', '-'], 2, /not stdin/],
      [['scan', '--git', clean], 2, /is not a git repository/],
      [['scan', join(directory.path, 'missing')], 2, /no such file or folder/],
      [['scan', '--max-file-size', 'huge', clean], 2, /--max-file-size: expected a size/],
      [['scan', '--gti'], 2, /unknown option '--gti'\n\(Did you mean --git\?\)/],
    ];
    for (const [args, code, message] of cases) {
      const result = await runCli(args);
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(code === 2 ? result.stderr : result.stdout, message, args.join(' '));
    }
  });

  it('--max-file-size skips larger files in folders, and says so', async () => {
    const result = await runCli(['scan', join(repository, 'config'), '--max-file-size', '10b']);
    assert.equal(result.code, 0);
    assert.match(result.stderr, /skipped .*app\.env: too large/);
  });
});

describe('portcullis scan with a store', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  const store = join(directory.path, 'keys.db');
  const file = join(directory.path, 'leak.env');
  let live: { id: string; key: string };
  let revoked: { id: string; key: string };
  const stranger = generateKey('pcl');

  before(async () => {
    live = await createKeyWithCli(store, ['--name', 'web-live']);
    revoked = await createKeyWithCli(store, ['--name', 'web-old']);
    assert.equal((await runCli(['keys', 'revoke', revoked.id, '--store', store])).code, 0);
    writeFileSync(file, `OLD=${revoked.key}\nOTHER=${stranger}\n`);
  });

  it('identifies keys by digest: a revoked key is reported as revoked, an unknown one as unknown, and neither makes the exit 1', async () => {
    const result = await runCli(['scan', file, '--store', store, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assertNoKeyPrinted(result, [live.key, revoked.key, stranger]);
    const output = JSON.parse(result.stdout) as ScanJson;
    assert.equal(output.store, store);
    assert.deepEqual(output.findings.map(({ status, live: isLive, key }) => ({ status, live: isLive, id: key?.id ?? null })), [
      { status: 'revoked', live: false, id: revoked.id },
      { status: 'unknown', live: false, id: null },
    ]);
    const text = await runCli(['scan', file, '--store', store]);
    assert.match(text.stdout, new RegExp(`^revoked ${displayPrefixOf(revoked.key)}…  ${revoked.id} "web-old"  .*leak\\.env:1:5$`, 'm'));
    assert.match(text.stdout, /^unknown .*\(not in this store\)/m);
  });

  it('a live key makes the exit 1; --revoke revokes it, audited as cli with the reason, and the next scan exits 0', async () => {
    writeFileSync(file, `OLD=${revoked.key}\nNEW=${live.key}\n# again: ${live.key}\n`);
    const found = await runCli(['scan', file, '--store', store]);
    assert.equal(found.code, 1);
    assert.match(found.stdout, new RegExp(`^LIVE    ${displayPrefixOf(live.key)}…  ${live.id} "web-live"  .*leak\\.env:2:5$`, 'm'));

    const revoking = await runCli(['scan', file, '--store', store, '--revoke', '--reason', 'found in leak.env', '--json']);
    assert.equal(revoking.code, 1, 'a live key was found, even though it is revoked now');
    assertNoKeyPrinted(revoking, [live.key, revoked.key]);
    const output = JSON.parse(revoking.stdout) as ScanJson;
    assert.deepEqual(output.revoked.map((key) => key.id), [live.id], 'revoked once, though seen twice; the already revoked key untouched');
    assert.equal(output.findings.filter((finding) => finding.revokedNow).length, 2);

    const audit = JSON.parse((await runCli(['audit', 'list', '--target', live.id, '--store', store, '--json'])).stdout) as Array<{ action: string; actor: string; reason: string | null }>;
    assert.deepEqual(audit.filter((entry) => entry.action === 'key.revoked').map(({ actor, reason }) => ({ actor, reason })), [{ actor: 'cli', reason: 'found in leak.env' }]);
    const shown = JSON.parse((await runCli(['keys', 'show', live.id, '--store', store, '--json'])).stdout) as { status: string };
    assert.equal(shown.status, 'revoked');
    assert.equal((await runCli(['scan', file, '--store', store])).code, 0);
  });

  it('never creates a store: a store that is not there is exit 1, and nothing is made', async () => {
    const missing = join(directory.path, 'nowhere', 'k.db');
    const result = await runCli(['scan', file, '--store', missing]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Nothing was created/);
    assert.equal(existsSync(join(directory.path, 'nowhere')), false);
  });
});
