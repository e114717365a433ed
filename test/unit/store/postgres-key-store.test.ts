import { openPostgresKeyStore } from '../../../src/store/postgres/postgres-key-store.ts';
import { runKeyStoreSuite } from '../../support/key-store-suite.ts';
import { checkTestPostgres, createTestSchema } from '../../support/postgres.ts';
import { describeNeeding } from '../../support/required-service.ts';

const postgres = await checkTestPostgres();

describeNeeding(postgres, 'PostgresKeyStore: the shared KeyStore suite', () => {
  runKeyStoreSuite('PostgresKeyStore (a fresh schema per test)', async () => {
    const schema = await createTestSchema();
    const store = await openPostgresKeyStore(schema.url);
    return {
      store,
      cleanup: async () => {
        await store.close();
        await schema.drop();
      },
    };
  });
});
