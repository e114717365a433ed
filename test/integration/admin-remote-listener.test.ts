import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'undici';
import { runCli, spawnGateway, temporaryDirectory } from '../support/processes.ts';

describe('an admin listener beyond loopback needs TLS (serve process)', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());

  it('refuses to start on 0.0.0.0 without admin.tls: exit 2, naming admin.listen and admin.tls, listening on nothing', async () => {
    const store = join(directory.path, 'refused.db');
    const result = await runCli(['serve', '--listen', '127.0.0.1:0', '--admin-listen', '0.0.0.0:0', '--store', store, '--upstream', 'http://127.0.0.1:9'], { env: { PORTCULLIS_LOG_LEVEL: 'info' } });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /admin\.listen \(from --admin-listen\): 0\.0\.0\.0:0 is not a loopback address, and admin\.tls is not set/);
    assert.match(result.stderr, /admin\.insecurePlaintextRemote/);
    assert.doesNotMatch(result.stdout, /listening/);
  });

  it('refuses [::] too, from the environment variable', async () => {
    const result = await runCli(['keys', 'list', '--store', join(directory.path, 'cli.db')], { env: { PORTCULLIS_ADMIN_LISTEN: '[::]:8081' } });
    assert.equal(result.code, 2, 'every command reads the same configuration');
    assert.match(result.stderr, /admin\.listen \(from PORTCULLIS_ADMIN_LISTEN\): \[::\]:8081 is not a loopback address, and admin\.tls is not set/);
  });

  it('starts with admin.insecurePlaintextRemote, logging an error at start', async () => {
    const gateway = await spawnGateway(['--admin-listen', '0.0.0.0:0', '--store', join(directory.path, 'insecure.db'), '--upstream', 'http://127.0.0.1:9'], { env: { PORTCULLIS_ADMIN_INSECURE_PLAINTEXT_REMOTE: 'true' } });
    try {
      const line = gateway.stdout().split('\n').find((text) => text.includes('admin.insecurePlaintextRemote'));
      assert.ok(line, gateway.stdout());
      const logged = JSON.parse(line) as { level: number | string; msg: string; listen: string };
      assert.ok(logged.level === 50 || logged.level === 'error', `logged as an error: ${line}`);
      assert.match(logged.listen, /^0\.0\.0\.0:\d+$/);
      const admin = /"listen":"([^"]+)".*"msg":"admin listening"/.exec(gateway.stdout());
      assert.ok(admin, gateway.stdout());
      const port = admin[1]!.split(':').at(-1);
      const health = await request(`http://127.0.0.1:${port}/api/health`);
      assert.equal(health.statusCode, 200);
      await health.body.dump();
    } finally {
      assert.equal(await gateway.stop(), 0);
    }
  });
});
