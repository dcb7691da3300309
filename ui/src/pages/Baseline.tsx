/**
 * Baseline: what was learned, approved or imported, read in cursor pages ordered by kind and key
 * (`GET /api/v1/baseline`; filters kind / origin / text kept in the URL), with the counts per kind
 * (`/baseline/summary`); admins approve baseline findings into it and remove items.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { all, del, get, post, qs } from '../api.js';
import { useCursorPages } from '../components/cursorPages.js';
import { Card, ErrorBox, Link, Sev, useAsync } from '../components/common.js';
import { time } from '../format.js';
import type { PageProps } from '../main.js';
import { setQuery, useQueryText } from '../router.js';
import type { FindingSummary } from './Findings.js';

interface Item {
  kind: string;
  key: string;
  data: unknown;
  origin: string;
  updated: string;
}
interface Summary {
  items: number;
  kinds: { kind: string; items: number; learned: number; approved: number; imported: number }[];
}
/** Rules whose findings carry a baseline reference (analyzers/README.md). */
const BASELINE_RULES = ['net.new-asset', 'net.new-connection', 'mqtt.unauthorized-publish', 'sparkplug.unauthorized-command', 'opcua.unauthorized-write', 'opcua.unauthorized-call', 'process.value-out-of-range'];
const KINDS = ['asset', 'connection', 'publish', 'command', 'write', 'call', 'nodemgmt', 'value', 'period'];
const ORIGINS = ['learned', 'approved', 'imported'];
const PAGE = 200;

/** A value range or a period in a few words; other kinds carry no data. */
function dataText(d: unknown): string {
  if (d === null || typeof d !== 'object') return '';
  const o = d as Record<string, unknown>;
  if (typeof o.min === 'number' && typeof o.max === 'number') return `${o.min} … ${o.max}${typeof o.maxStep === 'number' && o.maxStep > 0 ? `, step ≤ ${o.maxStep}` : ''}`;
  if (typeof o.period === 'number') return `every ${o.period.toFixed(o.period < 10 ? 2 : 0)} s${typeof o.n === 'number' ? ` (${o.n} messages)` : ''}`;
  return JSON.stringify(d);
}

export function BaselinePage({ me, route }: PageProps) {
  const admin = me.role === 'admin';
  const flt = useMemo(() => ({ kind: route.query.get('kind') ?? '', origin: route.query.get('origin') ?? '', q: route.query.get('q') ?? '' }), [route.query.toString()]);
  const key = qs(flt);
  const summary = useAsync(() => get<Summary>('/baseline/summary'), []);
  const { rows, setRows, next, error: listError, loading, reload, more, abort } = useCursorPages<Item>('/baseline', flt, PAGE, { clearOnError: true });
  const pending = useAsync(() => (admin ? all<FindingSummary>('/findings', { rule: BASELINE_RULES, status: ['open'] }, 500) : Promise.resolve([])), []);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    reload();
    return abort;
  }, [key]);

  const [text, setText] = useQueryText(flt.q);

  /** Runs an admin action, then refreshes: the whole list, or (`keepRows`) only what it passes on. */
  const act = async (fn: () => Promise<unknown>, keepRows?: (rows: Item[]) => Item[]) => {
    setError(null);
    try {
      await fn();
      // A removal drops its row where it is, so the pages loaded so far stay; an approval can add anywhere.
      if (keepRows) setRows(keepRows);
      else reload();
      summary.reload();
      pending.reload();
    } catch (e) {
      setError(e);
    }
  };
  const counts = new Map((summary.data?.kinds ?? []).map((k) => [k.kind, k]));
  return (
    <div class="baseline">
      <h1>Baseline</h1>
      <ErrorBox error={error} />
      {admin ? (
        <Card title={`Waiting for approval (${pending.data?.length ?? '…'})`} id="b-pending">
          {pending.data?.length ? (
            <ul class="plainlist">
              {pending.data.map((f) => (
                <li key={f.id}>
                  <Sev s={f.severity} /> <Link href={`/findings?sel=${encodeURIComponent(f.id)}`}>{f.title}</Link>{' '}
                  <button type="button" class="small" onClick={() => void act(() => post('/baseline/approve', { findingId: f.id }))}>
                    Approve
                  </button>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No open baseline finding.</p>
          )}
        </Card>
      ) : null}
      <ErrorBox error={summary.error} />
      {summary.data && summary.data.items === 0 ? <p class="muted">Nothing learned yet: run otwatch analyze --learn --db FILE on normal traffic.</p> : null}
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <label class="grow">
          Search
          <input type="search" name="q" maxLength={200} placeholder="text in the key" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <label>
          Kind
          <select name="kind" value={flt.kind} onChange={(e) => setQuery({ kind: e.currentTarget.value })}>
            <option value="">any ({summary.data?.items ?? '…'})</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k} ({counts.get(k)?.items ?? 0})
              </option>
            ))}
          </select>
        </label>
        <label>
          Origin
          <select name="origin" value={flt.origin} onChange={(e) => setQuery({ origin: e.currentTarget.value })}>
            <option value="">any</option>
            {ORIGINS.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </label>
        {flt.kind || flt.origin || flt.q ? (
          <button type="button" class="ghost" onClick={() => setQuery({ kind: null, origin: null, q: null })}>
            Clear filters
          </button>
        ) : null}
      </form>
      <p class="listinfo" role="status" aria-live="polite">
        {loading ? 'Loading…' : `${rows.length}${next ? '+' : ''} ${rows.length === 1 && !next ? 'item' : 'items'}`}
      </p>
      <ErrorBox error={listError} />
      <Card title="Items" id="b-items">
        <div class="hscroll">
          <table class="plain">
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Key</th>
                <th scope="col">Learned values</th>
                <th scope="col">Origin</th>
                <th scope="col">Updated (UTC)</th>
                {admin ? <th scope="col">Action</th> : null}
              </tr>
            </thead>
            <tbody>
              {rows.map((i) => (
                <tr key={`${i.kind} ${i.key}`}>
                  <td>{i.kind}</td>
                  <td class="wrap">
                    <code>{i.key}</code>
                  </td>
                  <td>{dataText(i.data)}</td>
                  <td>{i.origin}</td>
                  <td>{time(i.updated)}</td>
                  {admin ? (
                    <td>
                      <button type="button" class="small ghost" aria-label={`Remove ${i.kind} ${i.key}`} onClick={() => void act(() => del(`/baseline/${encodeURIComponent(i.kind)}/${encodeURIComponent(i.key)}`), (rs) => rs.filter((x) => x !== i))}>
                        Remove
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {next ? (
          <button type="button" class="ghost" disabled={loading} onClick={more}>
            Show {PAGE} more
          </button>
        ) : null}
      </Card>
    </div>
  );
}
