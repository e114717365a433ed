import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheLookups, formatScaleReport, hitRatioBetween, residentMb, summariseScale } from './scale-figures.ts';
import { requestListScript, requestListText } from './request-list.ts';

const METRICS = `# HELP portcullis_key_cache_lookups_total Key verifications by where the answer came from: memory (hit) or the store (miss).
# TYPE portcullis_key_cache_lookups_total counter
portcullis_key_cache_lookups_total{result="hit"} 9120
portcullis_key_cache_lookups_total{result="miss"} 880
# HELP portcullis_key_cache_hit_ratio Share of key verifications answered from memory since start (1 when there were none).
portcullis_key_cache_hit_ratio 0.912
`;

test('cacheLookups reads the hit and miss counters of /metrics, and fails without them', () => {
  assert.deepEqual(cacheLookups(METRICS), { hits: 9120, misses: 880 });
  assert.deepEqual(cacheLookups('portcullis_key_cache_lookups_total{result="miss"} 0\nportcullis_key_cache_lookups_total{result="hit"} 1.5e+06\n'), { hits: 1_500_000, misses: 0 });
  assert.throws(() => cacheLookups('portcullis_key_cache_hit_ratio 1\n'), /no portcullis_key_cache_lookups_total/);
});

test('hitRatioBetween is the share of hits between two readings, null without lookups', () => {
  assert.equal(hitRatioBetween({ hits: 100, misses: 50 }, { hits: 1000, misses: 150 }), 0.9);
  assert.equal(hitRatioBetween({ hits: 7, misses: 3 }, { hits: 7, misses: 3 }), null);
});

test('residentMb reads VmRSS from /proc/<pid>/status', () => {
  assert.equal(residentMb('Name:\tnode\nVmPeak:\t 999999 kB\nVmRSS:\t  204800 kB\nRssAnon:\t 1 kB\n'), 200);
  assert.throws(() => residentMb('Name:\tnode\n'), /VmRSS/);
});

test('summariseScale takes medians over the rounds, and the report divides by the baseline', () => {
  const small = summariseScale({ name: 'small', compareTo: null }, [
    { startupMs: 1000, rssMb: 100, hitRatio: 0.9, hitRatioSinceStart: 0.8 },
    { startupMs: 3000, rssMb: 120, hitRatio: 1, hitRatioSinceStart: 0.9 },
    { startupMs: 2000, rssMb: 110, hitRatio: 0.95, hitRatioSinceStart: 0.85 },
  ]);
  assert.deepEqual(small, { name: 'small', compareTo: null, startupMs: 2000, rssMb: 110, hitRatio: 0.95, hitRatioSinceStart: 0.85 });
  const large = summariseScale({ name: 'large', compareTo: 'small' }, [{ startupMs: 3000, rssMb: 165, hitRatio: null, hitRatioSinceStart: 0.5 }]);
  assert.equal(large.hitRatio, null);
  const report = formatScaleReport([small, large]);
  assert.match(report, /^large \/ small: start-up 1\.50, RSS 1\.50$/m);
  assert.match(report, /^small +2000 +110\.0 +95\.0 % +85\.0 %$/m);
  assert.match(report, /^large +3000 +165\.0 +n\/a +50\.0 %$/m);
});

test('requestListText writes one line per request and refuses what would not survive a line', () => {
  assert.equal(requestListText([{ target: '/', token: 'pcl_a' }, { target: '/r1/2?limit=3', token: 'pcl_b' }]), '/ pcl_a\n/r1/2?limit=3 pcl_b\n');
  assert.throws(() => requestListText([]), /at least one/);
  assert.throws(() => requestListText([{ target: '/a b', token: 'pcl_a' }]), /request target/);
  assert.throws(() => requestListText([{ target: 'http://x/', token: 'pcl_a' }]), /request target/);
  assert.throws(() => requestListText([{ target: '/', token: 'pcl_a\nGET /' }]), /printable/);
});

test('requestListScript reads the list it is given, and refuses a path that would break the Lua string', () => {
  assert.match(requestListScript('/tmp/x/list.requests'), /io\.lines\(\[\[\/tmp\/x\/list\.requests\]\]\)/);
  assert.throws(() => requestListScript('relative.requests'), /refusing/);
  assert.throws(() => requestListScript('/tmp/a]]b'), /refusing/);
});
