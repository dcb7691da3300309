/**
 * A minimal history router: the path picks the page, the query string holds the page's state
 * (filters, selection) so a URL can be bookmarked, shared and reloaded.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  path: string;
  query: URLSearchParams;
}

const listeners = new Set<() => void>();

function current(): Route {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

/** Go to `url` (same origin); `replace` keeps the history short for filter edits. */
export function navigate(url: string, replace = false): void {
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const l of listeners) l();
}

/** Replace some query parameters of the current URL (null or '' removes one). */
export function setQuery(changes: Record<string, string | string[] | null>, replace = true): void {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    q.delete(k);
    for (const x of v === null ? [] : Array.isArray(v) ? v : [v]) if (x !== '') q.append(k, x);
  }
  const s = q.toString();
  navigate(location.pathname + (s ? `?${s}` : ''), replace);
}

/** The current route; re-renders on navigation and on the browser's back/forward. */
export function useRoute(): Route {
  const [r, setR] = useState(current);
  useEffect(() => {
    const f = () => setR(current());
    listeners.add(f);
    addEventListener('popstate', f);
    return () => {
      listeners.delete(f);
      removeEventListener('popstate', f);
    };
  }, []);
  return r;
}

/** Click handler for in-app links: plain left clicks navigate without a page load. */
export function onLinkClick(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLAnchorElement | null) ?? null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href') ?? '/');
}

/**
 * A search box whose text is debounced into the URL's `q` (one history entry, one request per
 * pause), with `also` set alongside (e.g. a selection to clear). Follows `q` when the URL changes.
 */
export function useQueryText(q: string, also: Record<string, string | null> = {}): [string, (text: string) => void] {
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  useEffect(() => {
    if (text === q) return;
    const t = setTimeout(() => setQuery({ ...also, q: text.trim() }), 300);
    return () => clearTimeout(t);
  }, [text]);
  return [text, setText];
}
