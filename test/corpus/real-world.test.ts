import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { loadDescription } from '../../src/openapi/description-loader.ts';
import { OperationReader, type OperationDescription } from '../../src/openapi/operation-descriptions.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { CORPUS, type CorpusEntry } from './corpus.ts';
import { OperationRequests, type CorpusRequest } from './operation-requests.ts';
import { SchemaValues } from './schema-values.ts';

/**
 * Each description of the real-world corpus behind a gateway: it loads; for every operation,
 * a request built from the description's own schemas passes to the upstream, and single
 * mutations of it are refused with the right status before the upstream sees them. The figures
 * (operations, requests made, passed, refused) are printed for docs/benchmarks.md.
 */

const UNKNOWN_PATH = '/portcullis-corpus-undeclared/path';

interface Tally {
  operations: number;
  built: number;
  passed: number;
  mutations: number;
  refused: number;
  failures: string[];
}

async function operationsOf(entry: CorpusEntry): Promise<Array<{ description: OperationDescription; requests: OperationRequests }>> {
  const { set } = await loadDescription(entry.file, { refMap: {} });
  const reader = new OperationReader(set);
  reader.version();
  const descriptions = reader.operations();
  const methodsByPath = new Map<string, string[]>();
  for (const description of descriptions) methodsByPath.set(description.template, [...(methodsByPath.get(description.template) ?? []), description.method]);
  const values = new SchemaValues(set);
  return descriptions.map((description) => ({ description, requests: new OperationRequests(values, description, methodsByPath.get(description.template) ?? []) }));
}

describe('real-world OpenAPI descriptions', () => {
  const directory = temporaryDirectory();
  const agent = new Agent({ connections: 4 });
  let upstream: RecordingUpstream;
  const tallies: Array<[string, Tally]> = [];

  before(async () => {
    upstream = await startRecordingUpstream((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-length': '2' });
        res.end('ok');
      });
    });
  });

  after(async () => {
    for (const [name, tally] of tallies) {
      process.stdout.write(`# ${name}: ${tally.operations} operations, ${tally.built} valid requests built, ${tally.passed} passed; ${tally.mutations} mutations, ${tally.refused} refused as expected\n`);
    }
    await agent.close();
    await upstream.close();
    directory.remove();
  });

  for (const entry of CORPUS) {
    it(`${entry.name} (${entry.published}): loads, passes what it describes, refuses single mutations`, async () => {
      const storePath = join(directory.path, `${entry.name.replaceAll(/\W+/g, '-')}.db`);
      const gateway: TestGateway = await startTestGateway(upstream.url, storePath, { env: { PORTCULLIS_OPENAPI_FILE: entry.file, PORTCULLIS_LIMITS_ADDRESS_RATE: '' } });
      const tally: Tally = { operations: 0, built: 0, passed: 0, mutations: 0, refused: 0, failures: [] };
      tallies.push([entry.name, tally]);
      try {
        const key = (await createKeyInStore(storePath, { scopes: ['*'] })).key;
        const send = async (sent: CorpusRequest): Promise<{ status: number; reached: boolean; text: string }> => {
          const before = upstream.requests.length;
          const response = await request(`${gateway.url}${sent.target}`, { method: sent.method as 'GET', headers: { ...sent.headers, 'x-api-key': key }, body: sent.body, dispatcher: agent });
          const text = await response.body.text();
          return { status: response.statusCode, reached: upstream.requests.length > before, text: text.slice(0, 300) };
        };
        for (const { description, requests } of await operationsOf(entry)) {
          tally.operations++;
          const valid = requests.valid();
          if (valid === null) continue;
          tally.built++;
          const answer = await send(valid);
          if (answer.status === 200 && answer.reached) tally.passed++;
          else tally.failures.push(`${valid.method} ${valid.target} ${valid.body ?? ''} (${description.method} ${description.template}) → ${answer.status} ${answer.text}`);
          for (const mutation of requests.mutations(UNKNOWN_PATH)) {
            tally.mutations++;
            const refused = await send(mutation.request);
            if (refused.status === mutation.status && !refused.reached) tally.refused++;
            else tally.failures.push(`${mutation.kind}: ${mutation.request.method} ${mutation.request.target} ${mutation.request.body ?? ''} → ${refused.status}, expected ${mutation.status}: ${refused.text}`);
          }
        }
      } finally {
        await gateway.stop();
      }
      assert.deepEqual(tally.failures, []);
      assert.ok(tally.built >= tally.operations / 2, `valid requests built for ${tally.built} of ${tally.operations} operations`);
    });
  }
});
