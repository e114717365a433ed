"""The differential suite's Python upstream: a WSGI application on wsgiref.simple_server.

It answers every request with the JSON report of upstream-report.ts (UpstreamReport): which
operation of api.yaml ran, and the request as this application reads it. It reads the request
the way WSGI applications do:

- headers from the environ: `HTTP_` + the name upper-cased with `-` turned into `_` (PEP 3333,
  CGI), so `X-API-Key`, `X_API_KEY` and `x_api-key` are one variable, and repeated lines are
  joined with `,` (wsgiref);
- the path from PATH_INFO (percent-decoded by the server), routed case-sensitively, literal
  paths before templated ones;
- the query split on `&` and `;`, as Python's urllib.parse.parse_qsl did before 3.9.2 and
  Bottle before 0.12.19 (the HTML 4 recommendation's separator);
- `X-HTTP-Method-Override` on a POST, as the method-override middlewares do;
- the body decoded in the charset the Content-Type names (the standard library's email parser,
  which takes the first `charset` parameter), parsed with json (exact integers), and bound to
  the handler's fields case-insensitively, the last key winning, as Go's encoding/json and
  ASP.NET Core's model binding bind JSON to fields.

Usage: python3 wsgi_upstream.py   (prints the port it listens on, then serves until killed)
"""

import json
import re
import sys
from email.message import Message
from email.utils import collapse_rfc2231_value
from urllib.parse import unquote_plus
from wsgiref.simple_server import WSGIRequestHandler, make_server

# The operations of api.yaml in registration order: literal paths before templated ones.
ROUTES = [
    ('exportItems', 'GET', '/items/export'),
    ('getMe', 'GET', '/users/me'),
    ('createItem', 'POST', '/items'),
    ('purgeItems', 'DELETE', '/items'),
    ('getItem', 'GET', '/items/{id}'),
    ('touchItem', 'POST', '/items/{id}'),
    ('deleteItem', 'DELETE', '/items/{id}'),
    ('getUser', 'GET', '/users/{name}'),
]
KNOWN_METHODS = {'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'}
LOOKED_UP_HEADERS = [
    'authorization', 'x-api-key', 'x-portcullis-key-id', 'x-portcullis-key-name', 'x-forwarded-for',
    'x-forwarded-host', 'x-forwarded-proto', 'forwarded', 'x-tenant', 'content-type', 'x-http-method-override',
]
BODY_FIELDS = ['name', 'quantity', 'serial']
REASONS = {200: 'OK', 400: 'Bad Request', 404: 'Not Found', 500: 'Internal Server Error'}


def match_route(method, path):
    segments = path.split('/')[1:]
    for operation, route_method, template in ROUTES:
        parts = template.split('/')[1:]
        if route_method != method or len(parts) != len(segments):
            continue
        parameters = {}
        for part, segment in zip(parts, segments):
            if part.startswith('{'):
                if segment == '':
                    break
                parameters[part[1:-1]] = segment
            elif part != segment:
                break
        else:
            return operation, parameters
    return None, {}


def parse_query(query):
    result = {}
    for pair in re.split('[&;]', query):
        if pair == '':
            continue
        name, _, value = pair.partition('=')
        name, value = unquote_plus(name), unquote_plus(value)
        if name not in result:
            result[name] = value
        elif isinstance(result[name], list):
            result[name].append(value)
        else:
            result[name] = [result[name], value]
    return result


def effective_method(environ):
    method = environ['REQUEST_METHOD']
    override = environ.get('HTTP_X_HTTP_METHOD_OVERRIDE', '')
    if method == 'POST' and override:
        candidate = override.split(',')[0].strip().upper()
        if candidate in KNOWN_METHODS:
            return candidate
    return method


def reported(value):
    if value is None:
        return {'type': 'null', 'text': 'null'}
    if isinstance(value, bool):
        return {'type': 'boolean', 'text': 'true' if value else 'false'}
    if isinstance(value, int):
        return {'type': 'integer', 'text': str(value)}
    if isinstance(value, float):
        return {'type': 'integer' if value.is_integer() else 'number', 'text': repr(value)}
    if isinstance(value, str):
        return {'type': 'string', 'text': value}
    return {'type': 'array' if isinstance(value, list) else 'object', 'text': json.dumps(value)}


def read_body(environ):
    """The handler's fields from a JSON body; None when there is no JSON body. Raises ValueError when unreadable."""
    length = int(environ.get('CONTENT_LENGTH') or 0)
    raw = environ['wsgi.input'].read(length) if length > 0 else b''
    message = Message()
    message['content-type'] = environ.get('CONTENT_TYPE', '')
    if raw == b'' or message.get_content_type() != 'application/json':
        return None
    charset = message.get_param('charset') or 'utf-8'
    if isinstance(charset, tuple):
        charset = collapse_rfc2231_value(charset)
    try:
        document = json.loads(raw.decode(charset))
    except LookupError as error:
        raise ValueError(str(error)) from error
    if not isinstance(document, dict):
        return {}
    fields = {}
    for key, value in document.items():
        if key.lower() in BODY_FIELDS:
            fields[key.lower()] = reported(value)
    return fields


def report(environ, route, method, parameters, body, error=None):
    headers = {key: value for key, value in environ.items() if key.startswith('HTTP_') or key in ('CONTENT_TYPE', 'CONTENT_LENGTH')}
    lookups = {}
    for name in LOOKED_UP_HEADERS:
        variable = 'CONTENT_TYPE' if name == 'content-type' else 'HTTP_' + name.upper().replace('-', '_')
        lookups[name] = environ.get(variable)
    query = environ.get('QUERY_STRING', '')
    result = {
        'upstream': 'wsgi',
        'route': route,
        'method': method,
        'wireMethod': environ['REQUEST_METHOD'],
        'target': environ.get('PATH_INFO', '') + ('?' + query if query else ''),
        'pathParameters': parameters,
        'query': parse_query(query),
        'headers': headers,
        'lookups': lookups,
        'portcullisHeaders': sorted(key[5:].lower().replace('_', '-') for key in headers if key.startswith('HTTP_X_PORTCULLIS_')),
        'body': body,
    }
    if error is not None:
        result['error'] = error
    return result


def application(environ, start_response):
    # PATH_INFO holds the percent-decoded bytes as latin-1 (PEP 3333); the path is UTF-8.
    path = environ.get('PATH_INFO', '').encode('iso-8859-1').decode('utf-8', 'replace')
    method = effective_method(environ)
    route, parameters = match_route(method, path)
    status = 200 if route is not None else 404
    error = None
    try:
        body = read_body(environ)
    except ValueError as failure:
        status, route, body, error = 400, None, None, str(failure)
    payload = json.dumps(report(environ, route, method, parameters, body, error)).encode('utf-8')
    start_response(f'{status} {REASONS[status]}', [
        ('Content-Type', 'application/json'),
        ('Content-Length', str(len(payload))),
        ('X-Differential-Upstream', 'wsgi'),
    ])
    return [payload]


class QuietHandler(WSGIRequestHandler):
    # wsgiref writes the head and the body separately: without this, each response waits out
    # the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass


if __name__ == '__main__':
    server = make_server('127.0.0.1', 0, application, handler_class=QuietHandler)
    print(server.server_port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)
