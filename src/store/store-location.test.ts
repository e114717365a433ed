import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openKeyStore } from './open-key-store.ts';
import { describeStoreLocation, isInMemoryLocation, isPostgresLocation } from './store-location.ts';

describe('store locations', () => {
  it('tells a PostgreSQL URL from a SQLite path', () => {
    for (const url of ['postgres://db/keys', 'postgresql://u@db:5432/keys', 'POSTGRES://db/keys']) assert.equal(isPostgresLocation(url), true, url);
    for (const path of ['./data/portcullis.db', '/var/lib/portcullis/keys.db', 'postgres.db', ':memory:']) assert.equal(isPostgresLocation(path), false, path);
  });

  it('tells an in-memory SQLite database, which a second connection would not share', () => {
    for (const location of ['', ':memory:', 'file:keys?mode=memory', 'file:keys?cache=shared&mode=memory']) assert.equal(isInMemoryLocation(location), true, location);
    for (const location of ['./data/portcullis.db', 'memory.db', 'postgres://db/keys', 'file:keys.db?mode=rwc']) assert.equal(isInMemoryLocation(location), false, location);
  });

  it('never prints a password', () => {
    assert.equal(describeStoreLocation('postgres://app:s3cret@db:5432/keys'), 'postgres://app:***@db:5432/keys');
    assert.equal(describeStoreLocation('postgres://app@db/keys?password=s3cret&sslmode=verify-full'), 'postgres://app@db/keys?password=***&sslmode=verify-full');
    assert.equal(describeStoreLocation('postgres://db/keys?options=-c%20search_path%3Dtenant'), 'postgres://db/keys?options=-c%20search_path%3Dtenant');
    assert.equal(describeStoreLocation('./data/portcullis.db'), './data/portcullis.db');
    assert.ok(!describeStoreLocation('postgres://a:b@[bad').includes('b@'));
  });

  it('names an unreachable PostgreSQL store, without its password', async () => {
    await assert.rejects(openKeyStore('postgres://app:s3cret@127.0.0.1:1/keys'), (error: Error) => {
      assert.match(error.message, /^Cannot reach the PostgreSQL key store at postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/keys: .*ECONNREFUSED/);
      assert.ok(!error.message.includes('s3cret'));
      return true;
    });
  });
});
