import type { ConfigFragment } from '../../config/config-fragment.ts';
import { parseByteSize } from '../../http/units.ts';
import { operationsOf, type Policy } from '../policy.ts';
import { reportWhere, type ReportOnlySettings } from '../report-only.ts';
import { createInputValidationCheck, type InputValidationOptions } from './input-validation-check.ts';

interface RequestsSettings {
  requests: InputValidationOptions;
}

const requestsConfig: ConfigFragment<RequestsSettings> = {
  options: {
    'requests.maxBodySize': {
      type: ['string', 'integer'],
      format: 'byte-size',
      default: '100mb',
      description: 'Largest request body streamed to the upstream, unless the operation sets its own (`x-portcullis-max-body-size`, or a route rule\'s `maxBodySize`). Larger bodies get 413 `body_too_large`; the limit is enforced while the body streams.',
    },
    'requests.maxJsonBodySize': {
      type: ['string', 'integer'],
      format: 'byte-size',
      default: '1mb',
      description: 'Largest JSON body the gateway reads to validate against the OpenAPI document, unless the operation sets its own limit.',
    },
    'requests.maxJsonDepth': { type: 'integer', minimum: 1, maximum: 1000, default: 32, description: 'Deepest nesting of objects and arrays accepted in a validated JSON body.' },
    'requests.maxBufferedBytes': {
      type: ['string', 'integer'],
      format: 'byte-size',
      default: '64mb',
      description: 'Bytes that all the JSON bodies read for validation may hold at once, across every request of the process. Each reserves its Content-Length (or its whole limit when chunked) before it is read, until its response is over; one that does not fit gets 503 `validation_busy` with `Retry-After`. It also caps each validated body\'s limit.',
    },
  },
  read(document) {
    const { requests } = document as unknown as { requests: { maxBodySize: unknown; maxJsonBodySize: unknown; maxJsonDepth: number; maxBufferedBytes: unknown } };
    return {
      requests: {
        maxBodySize: parseByteSize(requests.maxBodySize) as number,
        maxJsonBodySize: parseByteSize(requests.maxJsonBodySize) as number,
        maxJsonDepth: requests.maxJsonDepth,
        maxBufferedBytes: parseByteSize(requests.maxBufferedBytes) as number,
      },
    };
  },
};

/** Stage 9: parameters and bodies against the operation's description, and every body under a size limit. Always on. */
export const inputValidation: Policy<RequestsSettings, RequestsSettings & ReportOnlySettings> = {
  name: 'input-validation',
  stage: 9,
  config: requestsConfig,
  create: (config, parts) => createInputValidationCheck(config.requests, reportWhere(config, 'input-validation', operationsOf(parts))),
};
