/**
 * Method override headers: many frameworks let a request name another method than its own
 * (Express's method-override, Symfony and Laravel, Rack::MethodOverride, ASP.NET Core, Slim,
 * Gorilla, OData's `X-HTTP-Method`), most of them only on POST, some on any method. An upstream
 * that honours one runs another operation than the request line says.
 */

/** The override headers in common use, lower case. */
export const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;
