import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI_ACTOR } from '../audit-log.ts';
import { openSqliteKeyStore } from './sqlite-key-store.ts';

const permissions = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** Runs `body` with the process umask set to `mask`, then puts the old one back. */
async function withUmask<T>(mask: number, body: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await body();
  } finally {
    process.umask(previous);
  }
}

/** Opens a store at `path`, writes a key (so the WAL and its index exist), and checks the files while it is open. */
async function writeAndCheckFiles(path: string): Promise<Record<string, string>> {
  const store = await openSqliteKeyStore(path);
  try {
    await store.createKey({ id: 'key_perm', digest: randomBytes(32).toString('hex'), displayPrefix: 'pcl_Test', name: 'perm', tags: [], scopes: [], allowedCidrs: [], certFingerprint: null, rateLimit: null, quota: null, metadata: {}, expiresAt: null }, 1, CLI_ACTOR);
    assert.ok(existsSync(`${path}-wal`) && existsSync(`${path}-shm`), 'WAL mode is active, with its -wal and -shm files');
    return { db: permissions(path), wal: permissions(`${path}-wal`), shm: permissions(`${path}-shm`) };
  } finally {
    await store.close();
  }
}

describe('SQLite store files are private to their owner', () => {
  let directory: string;
  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'portcullis-perm-'));
  });
  after(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  for (const mask of [0o022, 0o000]) {
    it(`creates the database, -wal and -shm 0600 in an existing 0755 folder (umask ${mask.toString(8).padStart(3, '0')})`, async () => {
      const folder = join(directory, `existing-${mask.toString(8)}`);
      mkdirSync(folder);
      chmodSync(folder, 0o755);
      const files = await withUmask(mask, () => writeAndCheckFiles(join(folder, 'portcullis.db')));
      assert.deepEqual(files, { db: '600', wal: '600', shm: '600' });
      assert.equal(permissions(folder), '755', 'an existing folder keeps its permissions');
    });
  }

  it('creates missing folders 0700, each of them, whatever the umask', async () => {
    const top = join(directory, 'made');
    const files = await withUmask(0o000, () => writeAndCheckFiles(join(top, 'data', 'portcullis.db')));
    assert.deepEqual(files, { db: '600', wal: '600', shm: '600' });
    assert.equal(permissions(top), '700');
    assert.equal(permissions(join(top, 'data')), '700');
  });

  it('leaves an existing database file\'s permissions alone', async () => {
    const path = join(directory, 'operator.db');
    writeFileSync(path, '');
    chmodSync(path, 0o640);
    const files = await writeAndCheckFiles(path);
    assert.deepEqual(files, { db: '640', wal: '640', shm: '640' }, 'SQLite gives -wal and -shm the database file\'s bits');
  });
});
