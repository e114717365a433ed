import { ConfigError } from '../../config/config-error.ts';
import type { ConfigFragment } from '../../config/config-fragment.ts';
import { createProtectedHeaderTest, dashSpelling } from '../../http/protected-headers.ts';

export interface HeadersSettings {
  headers: {
    underscores: 'drop' | 'refuse';
    /** Lower case. */
    allowUnderscores: string[];
    methodOverride: 'strip' | 'honour';
  };
}

/** The parts of the document the allow-list is checked against: the key headers and the client-address header, which other parts own. */
interface ReadDocument extends HeadersSettings {
  keys: { headers: string[] };
  network: { clientAddressHeader: string };
}

/**
 * How stage 1 treats request headers that servers read in more than one way. Checked at start:
 * an allowed name with `_` or `.` may not be, in its dash spelling, a header the gateway reads
 * or sets (the upstream would read it as that header).
 */
export const headersConfig: ConfigFragment<HeadersSettings> = {
  formats: {
    'underscore-header-name': {
      expected: 'an HTTP header name containing _ or .',
      documentation: 'An HTTP header name (letters, digits, `-`, `_` and `.`, at most 64 characters) that contains `_` or `.`. Matched without regard to case.',
      validate: /^(?=.*[_.])[A-Za-z0-9._-]{1,64}$/,
      placeholder: 'header',
    },
  },
  options: {
    'headers.underscores': {
      type: 'string',
      enum: ['drop', 'refuse'],
      default: 'drop',
      description:
        'Request headers whose name contains `_` or `.`: CGI, WSGI, PHP and Rack servers read `X_API_Key` and `X.API.Key` as `X-API-Key`, so such a name could stand in for a header the gateway checked, stripped or wrote. `drop` them (as nginx does by default) or `refuse` the request (400 `header_ambiguous`). Names in `headers.allowUnderscores` are forwarded either way.',
    },
    'headers.allowUnderscores': {
      type: 'array',
      items: { type: 'string', format: 'underscore-header-name' },
      uniqueItems: true,
      default: [],
      description:
        'Header names with `_` or `.` that the API relies on, forwarded as sent (exact names, any case). A request that also carries another spelling of one (`X-Tenant` beside `X_Tenant`) is refused (400 `header_ambiguous`). A name that reads as a key, identity, forwarding, framing or method-override header (`x_api_key`, `x_forwarded_for`) is a configuration error.',
    },
    'headers.methodOverride': {
      type: 'string',
      enum: ['strip', 'honour'],
      default: 'strip',
      description:
        '`X-HTTP-Method-Override`, `X-HTTP-Method` and `X-Method-Override`, which many frameworks apply: `strip` them, so the upstream runs the method the gateway checked, or `honour` them: on a POST, the named method (one the gateway forwards) is the one routes, scopes and validation judge, and the header is forwarded. With `honour`, an override on another method, or overrides that disagree, are refused (400 `request_invalid`).',
    },
  },
  read(document, { sourceOf }) {
    const { headers, keys, network } = document as unknown as ReadDocument;
    const allowUnderscores = headers.allowUnderscores.map((name) => name.toLowerCase());
    const isProtected = createProtectedHeaderTest([...keys.headers, network.clientAddressHeader], true);
    const problems = allowUnderscores
      .filter((name) => isProtected(dashSpelling(name)))
      .map((name) => {
        const source = sourceOf('headers.allowUnderscores');
        return `headers.allowUnderscores${source ? ` (from ${source})` : ''}: "${name}" reads as ${dashSpelling(name)} to CGI, WSGI, PHP and Rack servers, a header the gateway reads or sets itself; it cannot be forwarded under another spelling`;
      });
    if (problems.length > 0) throw new ConfigError(problems);
    return { headers: { underscores: headers.underscores, allowUnderscores, methodOverride: headers.methodOverride } };
  },
};
