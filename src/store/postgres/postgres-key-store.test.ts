import { openPostgresKeyStore } from './postgres-key-store.ts';
import { runKeyStoreSuite } from '../../../test/support/key-store-suite.ts';
import { runAuditLogSuite } from '../../../test/support/audit-log-suite.ts';
import { runAdminTokenStoreSuite } from '../../../test/support/admin-token-store-suite.ts';
import { runUsageStoreSuite } from '../../../test/support/usage-store-suite.ts';
import { runNodeHeartbeatSuite } from '../../../test/support/node-heartbeat-suite.ts';
import { runKeyImportSuite } from '../../../test/support/key-import-suite.ts';
import { checkTestPostgres, createTestSchema, runSql } from '../../../test/support/postgres.ts';
import { describeNeeding } from '../../../test/support/required-service.ts';

const postgres = await checkTestPostgres();

/** The URL of the newest test's schema, for the audit suite's raw SQL. */
let lastUrl = '';

/** A store in a fresh schema per test, dropped afterwards. */
async function makeStore() {
  const schema = await createTestSchema();
  lastUrl = schema.url;
  const store = await openPostgresKeyStore(schema.url);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await schema.drop();
    },
  };
}

const label = 'PostgresKeyStore (a fresh schema per test)';

describeNeeding(postgres, 'PostgresKeyStore: the shared store suites', () => {
  runKeyStoreSuite(label, makeStore);
  runAdminTokenStoreSuite(label, makeStore);
  runUsageStoreSuite(label, makeStore);
  runNodeHeartbeatSuite(label, makeStore);
  runKeyImportSuite(label, makeStore);
  runAuditLogSuite(label, makeStore, {
    // A separate connection to the same schema, as an intruder with the database would use.
    async execute(sql) {
      await runSql(lastUrl, sql);
    },
    dropGuards: [
      'DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log',
      'DROP TRIGGER IF EXISTS audit_log_no_delete ON audit_log',
      'DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log',
    ],
  });
});
