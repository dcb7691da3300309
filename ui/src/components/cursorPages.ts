/**
 * A list read from a cursor-paged API route (`{items, next}`): the first page on `reload()`, the
 * following ones on `more()`, one request in flight at a time (a new reload aborts the old one).
 * Used by the findings and process tables, which both load on scroll.
 */
import { useRef, useState } from 'preact/hooks';
import { get, qs, type Page } from '../api.js';

type Query = Record<string, string | number | string[] | undefined | null>;

export function useCursorPages<T>(path: string, query: Query, limit: number, opts: { clearOnError?: boolean } = {}) {
  const [rows, setRows] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const fetching = useRef<AbortController | null>(null);

  const load = (cursor: string | null) => {
    fetching.current?.abort();
    const ac = new AbortController();
    fetching.current = ac;
    setLoading(true);
    get<Page<T>>(path + qs({ ...query, limit, cursor }), ac.signal).then(
      (p) => {
        if (ac.signal.aborted) return;
        setRows((r) => (cursor ? [...r, ...p.items] : p.items));
        setNext(p.next);
        setError(null);
        setLoading(false);
        fetching.current = null;
      },
      (e: unknown) => {
        if ((e as Error).name === 'AbortError') return;
        if (opts.clearOnError && !cursor) setRows([]);
        setError(e);
        setLoading(false);
        fetching.current = null;
      },
    );
  };

  return {
    rows,
    setRows,
    next,
    error,
    loading,
    reload: () => load(null),
    /** The next page, unless there is none or a request is in flight. */
    more: () => {
      if (next && !fetching.current) load(next);
    },
    abort: () => fetching.current?.abort(),
  };
}
