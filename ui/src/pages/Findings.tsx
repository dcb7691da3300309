/**
 * Findings: the API's filters kept in the URL, a virtualised table loaded page by page (cursor),
 * live arrivals from the SSE stream inserted without moving the analyst's view, and the detail
 * pane of the finding in `?sel=`.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { API, qs } from '../api.js';
import { useCursorPages } from '../components/cursorPages.js';
import { ErrorBox, Sev } from '../components/common.js';
import { VirtualTable, type Column } from '../components/VirtualTable.js';
import { CATEGORIES, SEVERITIES, STATUSES, time } from '../format.js';
import type { PageProps } from '../main.js';
import { setQuery } from '../router.js';
import { FindingDetail } from './FindingDetail.js';

export interface FindingSummary {
  id: string;
  rule: string;
  severity: string;
  category: string;
  title: string;
  subject: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
  assets: string[];
  status: string;
  assignee: string | null;
}

/** The list filters the API takes, as they sit in the URL. */
const MULTI = ['severity', 'category', 'status', 'rule'] as const;
const SINGLE = ['asset', 'q', 'from', 'to', 'sort', 'order'] as const;
const PAGE = 200;

type Filter = Record<(typeof MULTI)[number], string[]> & Partial<Record<(typeof SINGLE)[number], string>>;

function readFilter(q: URLSearchParams): Filter {
  const f = {} as Filter;
  for (const k of MULTI) f[k] = q.getAll(k);
  for (const k of SINGLE) {
    const v = q.get(k);
    if (v) f[k] = v;
  }
  return f;
}

/** Whether a live arrival belongs in the current list (the time window is left to the server on reload). */
function matches(f: FindingSummary, flt: Filter): boolean {
  const inList = (vals: string[], v: string) => !vals.length || vals.includes(v);
  if (!inList(flt.severity, f.severity) || !inList(flt.category, f.category) || !inList(flt.status, f.status) || !inList(flt.rule, f.rule)) return false;
  if (flt.asset && !f.assets.includes(flt.asset)) return false;
  if (flt.q) {
    const q = flt.q.toLowerCase();
    if (f.id !== flt.q && ![f.title, f.subject, f.rule].some((s) => s.toLowerCase().includes(q))) return false;
  }
  return true;
}

/** The API's bounds are ISO 8601 UTC; a datetime-local input shows them without the zone (labelled UTC). */
const toLocal = (iso: string | undefined) => (iso ? iso.slice(0, 16) : '');
const fromLocal = (v: string) => (v ? `${v}:00Z` : '');

const COLUMNS: Column<FindingSummary>[] = [
  { key: 'sev', label: 'Severity', cls: 'c-sev', render: (f) => <Sev s={f.severity} /> },
  { key: 'title', label: 'Title', cls: 'c-title', render: (f) => <span title={f.subject}>{f.title}</span> },
  { key: 'rule', label: 'Rule', cls: 'c-rule', render: (f) => f.rule },
  { key: 'assets', label: 'Assets', cls: 'c-assets', render: (f) => f.assets.join(', ') },
  { key: 'last', label: 'Last seen (UTC)', cls: 'c-time', render: (f) => time(f.lastSeen) },
  { key: 'count', label: 'Count', cls: 'num c-count', render: (f) => f.count },
  { key: 'status', label: 'Status', cls: 'c-status', render: (f) => <span class={`status st-${f.status}`}>{f.status}</span> },
];

export function Findings({ me, route }: PageProps) {
  const flt = useMemo(() => readFilter(route.query), [route.query.toString()]);
  const key = useMemo(() => qs({ ...flt }), [flt]);
  const sel = route.query.get('sel');
  const { rows, setRows, next, error, loading, reload, more, abort } = useCursorPages<FindingSummary>('/findings', flt, PAGE);
  const [active, setActive] = useState(0);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [shift, setShift] = useState({ n: 0, seq: 0 });
  const fltRef = useRef(flt);
  fltRef.current = flt;
  const rowsRef = useRef(rows);
  rowsRef.current = rows;

  useEffect(() => {
    setActive(0);
    setFresh(new Set());
    reload();
    return abort;
  }, [key]);

  // The stream's `reset` (it resumed from before the oldest change the server keeps) reloads the
  // list with the filters of the moment, hence a ref instead of the first render's reload.
  const reloadRef = useRef(reload);
  reloadRef.current = reload;

  // Live arrivals: new findings that match go on top (newest first), changed ones are updated in place.
  useEffect(() => {
    const es = new EventSource(`${API}/findings/stream`);
    es.addEventListener('reset', () => reloadRef.current());
    es.addEventListener('finding', (ev) => {
      let f: FindingSummary & { change: string };
      try {
        f = JSON.parse((ev as MessageEvent<string>).data) as FindingSummary & { change: string };
      } catch {
        return;
      }
      const fl = fltRef.current;
      // Decided on the current rows (a ref, not inside a state updater: updaters must stay free of side effects).
      const rs = rowsRef.current;
      const at = rs.findIndex((r) => r.id === f.id);
      if (at >= 0) {
        setRows(rs.map((r, i) => (i === at ? { ...r, ...f } : r)));
        return;
      }
      const newestFirst = (fl.sort ?? 'lastSeen') === 'lastSeen' && (fl.order ?? 'desc') === 'desc';
      if (f.change !== 'new' || !newestFirst || !matches(f, fl)) return;
      rowsRef.current = [f, ...rs];
      setRows(rowsRef.current);
      if (rs.length) setActive((a) => a + 1);
      setShift((s) => ({ n: 1, seq: s.seq + 1 }));
      setFresh((s) => new Set(s).add(f.id));
    });
    return () => es.close();
  }, []);

  const toggle = (k: (typeof MULTI)[number], v: string) => setQuery({ [k]: flt[k].includes(v) ? flt[k].filter((x) => x !== v) : [...flt[k], v], sel: null });
  const [text, setText] = useState(flt.q ?? '');
  useEffect(() => setText(flt.q ?? ''), [flt.q]);
  useEffect(() => {
    if (text === (flt.q ?? '')) return;
    const t = setTimeout(() => setQuery({ q: text, sel: null }), 300);
    return () => clearTimeout(t);
  }, [text]);

  const onChanged = (f: FindingSummary) => setRows((rs) => rs.map((r) => (r.id === f.id ? { ...r, ...f } : r)));

  return (
    <div class={`findings ${sel ? 'with-detail' : ''}`}>
      <h1>Findings</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <label class="grow">
          Search
          <input type="search" name="q" placeholder="title, subject, rule or id" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>Severity</legend>
          {SEVERITIES.map((s) => (
            <label key={s} class="check">
              <input type="checkbox" name="severity" value={s} checked={flt.severity.includes(s)} onChange={() => toggle('severity', s)} />
              {s}
            </label>
          ))}
        </fieldset>
        <label>
          Status
          <select name="status" value={flt.status[0] ?? ''} onChange={(e) => setQuery({ status: e.currentTarget.value, sel: null })}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Category
          <select name="category" value={flt.category[0] ?? ''} onChange={(e) => setQuery({ category: e.currentTarget.value, sel: null })}>
            <option value="">any</option>
            {CATEGORIES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Rule
          <input name="rule" value={flt.rule[0] ?? ''} onChange={(e) => setQuery({ rule: e.currentTarget.value.trim(), sel: null })} />
        </label>
        <label>
          Asset
          <input name="asset" value={flt.asset ?? ''} onChange={(e) => setQuery({ asset: e.currentTarget.value.trim(), sel: null })} />
        </label>
        <label>
          Last seen from (UTC)
          <input type="datetime-local" name="from" value={toLocal(flt.from)} onChange={(e) => setQuery({ from: fromLocal(e.currentTarget.value), sel: null })} />
        </label>
        <label>
          to (UTC)
          <input type="datetime-local" name="to" value={toLocal(flt.to)} onChange={(e) => setQuery({ to: fromLocal(e.currentTarget.value), sel: null })} />
        </label>
        <label>
          Sort
          <select name="sort" value={`${flt.sort ?? 'lastSeen'}:${flt.order ?? 'desc'}`} onChange={(e) => {
            const [s, o] = e.currentTarget.value.split(':');
            setQuery({ sort: s === 'lastSeen' ? null : s, order: o === 'desc' ? null : o });
          }}>
            <option value="lastSeen:desc">last seen, newest</option>
            <option value="lastSeen:asc">last seen, oldest</option>
            <option value="firstSeen:desc">first seen, newest</option>
            <option value="severity:desc">severity</option>
            <option value="count:desc">count</option>
          </select>
        </label>
        {route.query.toString() && route.query.toString() !== `sel=${sel}` ? (
          <button type="button" class="ghost" onClick={() => setQuery({ severity: null, category: null, status: null, rule: null, asset: null, q: null, from: null, to: null, sort: null, order: null, sel: null })}>
            Clear filters
          </button>
        ) : null}
      </form>
      <p class="listinfo" role="status" aria-live="polite">
        {loading ? 'Loading…' : `${rows.length}${next ? '+' : ''} findings`}
        {fresh.size ? <span class="badge-new"> · {fresh.size} new since you opened this list</span> : null}
      </p>
      <ErrorBox error={error} />
      <div class="split">
        <VirtualTable
          rows={rows}
          columns={COLUMNS}
          rowKey={(f) => f.id}
          label="Findings"
          active={active}
          onActive={setActive}
          onOpen={(f) => setQuery({ sel: f.id })}
          selectedKey={sel}
          rowClass={(f) => (fresh.has(f.id) ? 'fresh' : '')}
          onNearEnd={more}
          shift={shift}
        />
        {sel ? <FindingDetail id={sel} me={me} onChanged={onChanged} onClose={() => setQuery({ sel: null })} /> : null}
      </div>
    </div>
  );
}
