/**
 * The `apis-100` row: a gateway with 100 APIs under `apis` (50 exact host names, 25 wildcard
 * host names, 25 path prefixes), each with its own upstream setting (all the shared bench
 * upstream), and requests spread over all 100 of them: the wrk script rotates the `Host` field
 * and path beside the keys (`rotateTargets` in wrk.ts).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startPortcullis } from './portcullis-process.ts';
import type { BenchContext, StartedTarget } from './targets.ts';
import { bearerGet } from './wrk.ts';
import type { RequestShape, RequestTarget } from './wrk.ts';

export const EXACT_HOST_APIS = 50;
export const WILDCARD_HOST_APIS = 25;
export const PATH_PREFIX_APIS = 25;

/** One API of the generated `apis`, as the config file has it, and the request the row sends it. */
export interface GeneratedApi {
  config: { name: string; hosts?: string[]; pathPrefix?: string; upstream: { url: string } };
  /** Host absent: wrk's own (`127.0.0.1:<port>`), which no host rule matches, so only the path prefix does. */
  target: RequestTarget;
}

const twoDigits = (index: number): string => String(index).padStart(2, '0');

/**
 * The 100 APIs, in config order: `api-NN.bench.example` (exact), `*.tenant-NN.bench.example`
 * (wildcard; requests to `shop.tenant-NN.bench.example`), then `/svc-NN` (any host; requests
 * to `/svc-NN/items`), all with `upstreamUrl`.
 */
export function generatedApis(upstreamUrl: string): GeneratedApi[] {
  const upstream = { url: upstreamUrl };
  const exact = Array.from({ length: EXACT_HOST_APIS }, (_, index): GeneratedApi => ({
    config: { name: `exact-${twoDigits(index)}`, hosts: [`api-${twoDigits(index)}.bench.example`], upstream },
    target: { host: `api-${twoDigits(index)}.bench.example`, path: '/' },
  }));
  const wildcard = Array.from({ length: WILDCARD_HOST_APIS }, (_, index): GeneratedApi => ({
    config: { name: `wildcard-${twoDigits(index)}`, hosts: [`*.tenant-${twoDigits(index)}.bench.example`], upstream },
    target: { host: `shop.tenant-${twoDigits(index)}.bench.example`, path: '/' },
  }));
  const prefix = Array.from({ length: PATH_PREFIX_APIS }, (_, index): GeneratedApi => ({
    config: { name: `prefix-${twoDigits(index)}`, pathPrefix: `/svc-${twoDigits(index)}`, upstream },
    target: { path: `/svc-${twoDigits(index)}/items` },
  }));
  return [...exact, ...wildcard, ...prefix];
}

/** The config file of the row: `apis` only (JSON, which the YAML reader takes as it is). */
export function apisConfigText(upstreamUrl: string): string {
  return `${JSON.stringify({ apis: generatedApis(upstreamUrl).map((api) => api.config) }, null, 2)}\n`;
}

/**
 * The row's requests: `GET` with the rotating keys, each to the next of the 100 APIs' targets
 * (100 keys and 100 targets: request *i* takes key *i* and API *i*).
 */
export const apisGet: RequestShape = { ...bearerGet, rotateTargets: generatedApis('http://127.0.0.1:1').map((api) => api.target) };

/** Starts the gateway with the generated config; the start-up checks go to the first path-prefix API. */
export async function startApisRow(context: BenchContext, name: string): Promise<StartedTarget> {
  const configPath = join(context.workDir, `${name}.yaml`);
  await writeFile(configPath, apisConfigText(context.upstreamOrigin));
  const probe = generatedApis(context.upstreamOrigin)[EXACT_HOST_APIS + WILDCARD_HOST_APIS]!.target;
  return startPortcullis(context, name, ['--config', configPath], {}, { upstreamFlag: false, probe });
}

/** The same gateway, every request to one API matched by a wildcard host (`shop.tenant-00.bench.example`). */
export const apisOneHostGet: RequestShape = { ...bearerGet, rotateTargets: [generatedApis('http://127.0.0.1:1')[EXACT_HOST_APIS]!.target] };
