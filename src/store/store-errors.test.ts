import assert from 'node:assert/strict';
import { it } from 'node:test';
import { storeRefusedWrite } from './store-errors.ts';

function postgresError(code: string): Error {
  return Object.assign(new Error(`sqlstate ${code}`), { code, severity: 'ERROR' });
}

it('tells a write the store refused from a store out of reach', () => {
  const refused = [
    new RangeError('requests must be a whole number'),
    postgresError('22P02'), // invalid input syntax (a fractional BIGINT)
    postgresError('22P05'), // U+0000 in JSONB
    postgresError('23505'), // unique violation
    postgresError('42P01'), // no such table
    Object.assign(new Error('constraint failed'), { code: 'SQLITE_CONSTRAINT_CHECK' }),
    Object.assign(new Error('datatype mismatch'), { code: 'SQLITE_MISMATCH' }),
  ];
  const unreachable = [
    new Error('connect ECONNREFUSED (no code)'),
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }),
    new Error('Connection terminated unexpectedly'),
    postgresError('57P01'), // admin shutdown
    postgresError('57014'), // statement timeout
    postgresError('08006'), // connection failure
    postgresError('25006'), // read-only transaction: connected to a standby during a failover
    postgresError('40P01'), // deadlock
    postgresError('53300'), // too many connections
    Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }),
    Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }),
    new TypeError('The database connection is not open'),
    'a string',
    undefined,
  ];
  for (const error of refused) assert.equal(storeRefusedWrite(error), true, String(error));
  for (const error of unreachable) assert.equal(storeRefusedWrite(error), false, String(error));
});
