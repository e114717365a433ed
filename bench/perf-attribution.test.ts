import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributeSamples, categorise, formatAttribution } from './perf-attribution.ts';

// Stacks trimmed from `perf script -F comm,pid,tid,ip,sym` of two servers (pids 100 and 200)
// recorded with `perf record -g` while Node ran with --perf-basic-prof-only-functions.
const script = `MainThread  100/100  
	    7faa20147829 JS:*'nextTick node:internal/process/task_queues:113:18
	    7faa2025cd69 JS:*'Readable.resume node:internal/streams/readable:1243:37
	         163221c Builtins_JSEntryTrampoline
	          a22df1 v8::internal::(anonymous namespace)::Invoke
	         160cbb7 uv_run

MainThread  200/200  
	         1631f67 Builtins_FindOrderedHashMapEntry
	    7fcf742c3700 JS:*'run file:///work/main/src/policies/key-auth/key-auth-check.ts:77:8
	    7fcf742c29d9 JS:+'onHttpSocketReadable /work/main/node_modules/undici/lib/dispatcher/client-h1.js:1012:31

MainThread  200/200  
	    7fcf742c29d9 JS:+'onHttpSocketReadable /work/main/node_modules/undici/lib/dispatcher/client-h1.js:1012:31
	    7fcf742c7c9e JS:+'emit node:events:489:44

MainThread  200/200  
	     54b18f403db JS:wasm-to-js-<anonymous>-none
	    7fcf742c29d9 JS:+'onHttpSocketReadable /work/main/node_modules/undici/lib/dispatcher/client-h1.js:1012:31

MainThread  200/200  
	ffffffffa1b2c3d4 _raw_spin_unlock_irqrestore
	         1619332 uv__read
	         162278a uv__io_poll

V8Worker  200/203  
	           bfe80 std::_Rb_tree_insert_and_rebalance
	         1204df3 v8::internal::maglev::MaglevGraphBuilder::AddInitializedNodeToGraph
`;

describe('perf attribution', () => {
  it('charges a sample to the leaf-most JavaScript frame, builtins included', () => {
    assert.equal(categorise(['Builtins_FindOrderedHashMapEntry', "JS:*'run file:///x/src/a.ts:1:1", "JS:+'emit node:events:489:44"]), 'project');
    assert.equal(categorise(["JS:+'emit node:events:489:44", "JS:*'run file:///x/src/a.ts:1:1"]), 'node');
    assert.equal(categorise(['uv__read', 'uv_run']), 'no-js');
    assert.equal(categorise(['JS:wasm-to-js-<anonymous>-none']), 'other-js');
  });

  it('counts each process, main thread by category and other threads apart', () => {
    const processes = attributeSamples(script);
    assert.deepEqual(processes.get(100)?.samples, { project: 0, undici: 0, node: 1, 'other-js': 0, 'no-js': 0, 'other-threads': 0 });
    assert.deepEqual(processes.get(200)?.samples, { project: 1, undici: 1, node: 0, 'other-js': 1, 'no-js': 1, 'other-threads': 1 });
  });

  it('prints samples per 1,000 requests and the difference from the first row', () => {
    const table = formatAttribution(attributeSamples(script), { rows: [{ name: 'bare', pid: 100, requests: 1000 }, { name: 'portcullis', pid: 200, requests: 500 }] });
    const line = (category: string) => table.split('\n').find((entry) => entry.startsWith(category))?.trim().split(/\s+/);
    assert.deepEqual(line('project'), ['project', '0.0', '2.0', '2.0']);
    assert.deepEqual(line('node'), ['node', '1.0', '0.0', '-1.0']);
    assert.deepEqual(line('total'), ['total', '1.0', '10.0', '9.0']);
  });

  it('refuses a round whose process is missing from the data', () => {
    assert.throws(() => formatAttribution(attributeSamples(script), { rows: [{ name: 'gone', pid: 999, requests: 1 }] }), /no samples of gone \(pid 999\)/);
  });
});
