import { useEffect, useState } from 'preact/hooks';

export interface Route {
  path: string;
  params: URLSearchParams;
}

function parse(hash: string): Route {
  const text = hash.replace(/^#/, '') || '/overview';
  const query = text.indexOf('?');
  return query === -1 ? { path: text, params: new URLSearchParams() } : { path: text.slice(0, query), params: new URLSearchParams(text.slice(query + 1)) };
}

/** Hash routes (`#/keys/key_…`): the admin listener serves one page, and links and the back button just work. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parse(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', `#${path}`);
  else location.hash = path;
  if (replace) dispatchEvent(new HashChangeEvent('hashchange'));
}
