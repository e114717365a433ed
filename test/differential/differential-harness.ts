import { join } from 'node:path';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { API_FILE, type Contract } from './contract.ts';
import { judgeExchange, type Judgement } from './differential-assertions.ts';
import { exchangeRaw, type RawHttpResponse } from './raw-exchange.ts';
import { KEY_NAMES, KEY_SCOPES, requestBytes, type KeyName, type RequestVariant, type TestKey } from './request-variant.ts';
import type { RunningUpstream } from './upstreams/running-upstream.ts';

export interface ExchangeResult extends Judgement {
  response: RawHttpResponse;
}

/** One upstream, a gateway in front of it with api.yaml and the suite's keys, and counts of what was sent. */
export interface DifferentialHarness {
  upstream: string;
  counts: { cases: number; forwarded: number };
  exchange(variant: RequestVariant): Promise<ExchangeResult>;
  stop(): Promise<void>;
}

/**
 * The address limits and the lockout are off: the suite sends thousands of requests that the
 * gateway refuses, from one address, and they would soon refuse everything else. They decide
 * whether to answer, never how a request is read.
 */
const GATEWAY_ENV = {
  PORTCULLIS_OPENAPI_FILE: API_FILE,
  PORTCULLIS_LIMITS_ADDRESS_RATE: '',
  PORTCULLIS_LOCKOUT_MAX_FAILURES: '0',
  PORTCULLIS_ADMIN_LISTEN: '',
};

export async function startHarness(contract: Contract, startUpstream: () => Promise<RunningUpstream>): Promise<DifferentialHarness> {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  const keys = new Map<KeyName, TestKey>();
  for (const name of KEY_NAMES) {
    const scopes = [...KEY_SCOPES[name]];
    const { id, key } = await createKeyInStore(storePath, { name, scopes });
    keys.set(name, { name, id, key, scopes });
  }
  let upstream: RunningUpstream | null = null;
  let gateway: TestGateway | null = null;
  try {
    upstream = await startUpstream();
    gateway = await startTestGateway(upstream.url, storePath, { env: GATEWAY_ENV });
  } catch (error) {
    await upstream?.stop();
    directory.remove();
    throw error;
  }
  const port = gateway.gateway.address.port;
  const host = `127.0.0.1:${port}`;
  const counts = { cases: 0, forwarded: 0 };
  const running = { upstream, gateway };
  return {
    upstream: upstream.name,
    counts,
    async exchange(variant) {
      counts.cases++;
      const response = await exchangeRaw(port, requestBytes(variant, keys, host));
      const judgement = judgeExchange(contract, keys, variant, response, host);
      if (judgement.forwarded) counts.forwarded++;
      return { ...judgement, response };
    },
    async stop() {
      await running.gateway.stop();
      await running.upstream.stop();
      directory.remove();
    },
  };
}
