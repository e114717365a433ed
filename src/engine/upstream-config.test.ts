import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../app/config.ts';
import { runCli, temporaryDirectory } from '../../test/support/processes.ts';
import { problemsOf } from '../../test/support/config-problems.ts';

describe('upstream.url and upstream.urls', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  const load = (env: Record<string, string>) => loadConfig({ env, cwd: directory.path });

  it('reads one origin from upstream.url, as before, with round-robin and passive-health defaults', () => {
    const config = load({ PORTCULLIS_UPSTREAM_URL: 'http://10.0.0.5:3000/api' });
    assert.equal(config.upstream.url?.href, 'http://10.0.0.5:3000/api');
    assert.deepEqual(config.upstream.origins.map(String), ['http://10.0.0.5:3000/api']);
    assert.equal(config.upstream.balance, 'round-robin');
    assert.deepEqual(config.upstream.passiveHealth, { failures: 3, ejectFor: 10_000 });
    assert.deepEqual(load({}).upstream.origins, [], 'none: the built-in example upstream');
  });

  it('reads several origins from a YAML list, with the balance and passive-health settings', () => {
    const file = join(directory.path, 'origins.yaml');
    writeFileSync(file, 'upstream:\n  urls:\n    - https://10.0.0.5:8443/api\n    - https://10.0.0.6:8443/api/\n  balance: least-busy\n  passiveHealth:\n    failures: 5\n    ejectFor: 30s\n  tls:\n    servername: api.internal\n');
    const config = loadConfig({ configFile: file, env: {}, cwd: directory.path });
    assert.equal(config.upstream.url, null);
    assert.deepEqual(config.upstream.origins.map(String), ['https://10.0.0.5:8443/api', 'https://10.0.0.6:8443/api/']);
    assert.equal(config.upstream.balance, 'least-busy');
    assert.deepEqual(config.upstream.passiveHealth, { failures: 5, ejectFor: 30_000 });
    assert.equal(config.upstream.tls.servername, 'api.internal', 'TLS settings are accepted for https:// origins');
  });

  it('reads a comma-separated PORTCULLIS_UPSTREAM_URLS', () => {
    assert.deepEqual(load({ PORTCULLIS_UPSTREAM_URLS: 'http://a.internal:3000, http://b.internal:3000' }).upstream.origins.map((url) => url.origin), ['http://a.internal:3000', 'http://b.internal:3000']);
  });

  it('refuses both upstream.url and upstream.urls', () => {
    const problems = problemsOf(() => load({ PORTCULLIS_UPSTREAM_URL: 'http://a.internal', PORTCULLIS_UPSTREAM_URLS: 'http://b.internal,http://c.internal' }));
    assert.deepEqual(problems, ['upstream.urls: expected either upstream.url or upstream.urls, found both (one origin: upstream.url; several: upstream.urls)']);
  });

  it('refuses an empty list, naming the field and its source', () => {
    const problems = problemsOf(() => load({ PORTCULLIS_UPSTREAM_URLS: '' }));
    assert.deepEqual(problems, ['upstream.urls (from PORTCULLIS_UPSTREAM_URLS): expected at least 1 item(s), found []']);
  });

  it('refuses a bad URL in the list, naming its position and what was expected', () => {
    const problems = problemsOf(() => load({ PORTCULLIS_UPSTREAM_URLS: 'http://a.internal,ftp://b.internal' }));
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /^upstream\.urls\.1 \(from PORTCULLIS_UPSTREAM_URLS\): expected an http:\/\/ or https:\/\/ URL without credentials, query or fragment, found "ftp:\/\/b\.internal"$/);
  });

  it('refuses mixed schemes, different path prefixes and the same origin twice', () => {
    assert.deepEqual(problemsOf(() => load({ PORTCULLIS_UPSTREAM_URLS: 'https://a.internal,http://b.internal' })), ['upstream.urls.1 (from PORTCULLIS_UPSTREAM_URLS): expected the same scheme as upstream.urls.0 (https://: every origin shares the upstream.tls settings), found "http://b.internal"']);
    assert.deepEqual(problemsOf(() => load({ PORTCULLIS_UPSTREAM_URLS: 'http://a.internal/v1,http://b.internal/v2' })), ['upstream.urls.1 (from PORTCULLIS_UPSTREAM_URLS): expected the same path prefix as upstream.urls.0 ("/v1"), found "http://b.internal/v2"']);
    assert.deepEqual(problemsOf(() => load({ PORTCULLIS_UPSTREAM_URLS: 'http://a.internal:80,http://a.internal' })), ['upstream.urls.1 (from PORTCULLIS_UPSTREAM_URLS): expected an origin not listed before, found "http://a.internal" (the same as upstream.urls.0)']);
  });

  it('refuses upstream TLS settings for http:// origins, and a bad balance or passive-health value', () => {
    assert.deepEqual(problemsOf(() => load({ PORTCULLIS_UPSTREAM_URLS: 'http://a.internal,http://b.internal', PORTCULLIS_UPSTREAM_TLS_SERVERNAME: 'api.internal' })), ['upstream.tls: TLS settings for the upstream need an https:// upstream.url (or upstream.urls)']);
    const problems = problemsOf(() => load({ PORTCULLIS_UPSTREAM_BALANCE: 'random', PORTCULLIS_UPSTREAM_PASSIVE_HEALTH_FAILURES: '0', PORTCULLIS_UPSTREAM_PASSIVE_HEALTH_EJECT_FOR: 'a while' }));
    assert.ok(problems.some((problem) => problem.startsWith('upstream.balance (from PORTCULLIS_UPSTREAM_BALANCE): expected one of round-robin, least-busy')), problems.join('\n'));
    assert.ok(problems.some((problem) => problem.startsWith('upstream.passiveHealth.failures (from PORTCULLIS_UPSTREAM_PASSIVE_HEALTH_FAILURES): expected a number >= 1')), problems.join('\n'));
    assert.ok(problems.some((problem) => problem.startsWith('upstream.passiveHealth.ejectFor (from PORTCULLIS_UPSTREAM_PASSIVE_HEALTH_EJECT_FOR): expected a duration')), problems.join('\n'));
  });

  it('makes `serve` exit 2 without listening', async () => {
    const result = await runCli(['serve', '--listen', '127.0.0.1:0', '--store', join(directory.path, 'never.db'), '--upstream', 'http://a.internal'], { env: { PORTCULLIS_LOG_LEVEL: 'silent', PORTCULLIS_UPSTREAM_URLS: 'http://b.internal,http://c.internal' } });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /upstream\.urls: expected either upstream\.url or upstream\.urls, found both/);
  });
});
