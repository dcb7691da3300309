/**
 * Process: the passive process model (issue 13). A virtualised, keyboard-navigable list of the
 * tags seen on the wire (`GET /api/v1/tags`, cursor pages; filters source / asset / text kept in
 * the URL) with a sparkline per row, and the detail pane of the tag in `?sel=` (history chart,
 * writer, timestamps, and its process findings linking to the findings page).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, qs } from '../api.js';
import { useCursorPages } from '../components/cursorPages.js';
import { ErrorBox, Link, Loading, Sev, useAsync } from '../components/common.js';
import { HistoryChart, Sparkline, type HistPoint } from '../components/trend.js';
import { VirtualTable, type Column } from '../components/VirtualTable.js';
import { time } from '../format.js';
import type { PageProps } from '../main.js';
import { setQuery, useQueryText } from '../router.js';

/** A tag as the API serves it (api/routes/tags.ts). */
export interface Tag {
  id: string;
  key: string;
  source: string;
  value: unknown;
  num: number | null;
  type: string | null;
  quality: string | null;
  sourceTs: string | null;
  serverTs: string | null;
  firstSeen: string;
  lastSeen: string;
  asset: string | null;
  writer: { ip?: string; client?: string | null; ts?: string; value?: unknown; status?: string | null } | null;
  updates: number;
}
interface TagDetailData {
  tag: Tag;
  history: HistPoint[];
  findings: { id: string; rule: string; severity: string; status: string; lastSeen: string }[];
}

/** The source protocols the API knows (its `source` enum). */
const SOURCES = ['sparkplug', 'opcua', 'pubsub', 'mqtt-json'] as const;
const PAGE = 200;

/** A value as text: JSON for structures, cut at 120 characters (the full text is in the detail pane). */
export function valueText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 119)}…` : s;
}

const writerText = (w: Tag['writer']) => (w ? `${w.client ?? w.ip ?? '?'}${w.client && w.ip ? ` (${w.ip})` : ''}` : '—');

/**
 * Histories for the sparklines: fetched only for the rows in view (the table is virtualised),
 * a few at a time, and remembered (at most CACHE tags, oldest forgotten first).
 */
const CACHE = 2000;
const PARALLEL = 4;
const histories = new Map<string, Promise<HistPoint[]>>();
let running = 0;
const waiting: (() => void)[] = [];

/** Keyed by id and last-seen time, so a tag updated by a later analysis is fetched again. */
function history(id: string, lastSeen: string): Promise<HistPoint[]> {
  const key = `${id}@${lastSeen}`;
  let p = histories.get(key);
  if (!p) {
    p = new Promise<void>((go) => (running < PARALLEL ? (running++, go()) : waiting.push(go)))
      .then(() => get<TagDetailData>(`/tags/${encodeURIComponent(id)}`))
      .then((d) => d.history)
      .finally(() => {
        const next = waiting.shift();
        if (next) next();
        else running--;
      });
    p.catch(() => histories.delete(key));
    histories.set(key, p);
    if (histories.size > CACHE) histories.delete(histories.keys().next().value as string);
  }
  return p;
}

function RowSpark({ tag }: { tag: Tag }) {
  const [pts, setPts] = useState<HistPoint[] | undefined>(undefined);
  useEffect(() => {
    let live = true;
    setPts(undefined);
    history(tag.id, tag.lastSeen).then(
      (h) => live && setPts(h),
      () => live && setPts([]),
    );
    return () => {
      live = false;
    };
  }, [tag.id, tag.lastSeen]);
  return <Sparkline points={pts} label={`History of ${tag.key}`} />;
}

const COLUMNS: Column<Tag>[] = [
  { key: 'key', label: 'Tag', cls: 'c-tag', render: (t) => <span title={t.key}>{t.key}</span> },
  { key: 'value', label: 'Value', cls: 'c-value', render: (t) => <span title={valueText(t.value)}>{valueText(t.value)}</span> },
  { key: 'type', label: 'Type', cls: 'c-type', render: (t) => t.type ?? '—' },
  { key: 'quality', label: 'Quality', cls: 'c-quality', render: (t) => <span class={t.quality && !/^good/i.test(t.quality) ? 'q-bad' : ''}>{t.quality ?? '—'}</span> },
  { key: 'ts', label: 'Source time (UTC)', cls: 'c-time', render: (t) => time(t.sourceTs) },
  { key: 'asset', label: 'Asset', cls: 'c-asset', render: (t) => t.asset ?? '—' },
  { key: 'writer', label: 'Last writer', cls: 'c-writer', render: (t) => writerText(t.writer) },
  { key: 'hist', label: 'History', cls: 'c-spark', render: (t) => <RowSpark tag={t} /> },
];

export function Process({ route }: PageProps) {
  const flt = useMemo(() => ({ source: route.query.get('source') ?? '', asset: route.query.get('asset') ?? '', q: route.query.get('q') ?? '' }), [route.query.toString()]);
  const key = qs(flt);
  const sel = route.query.get('sel');
  const { rows, next, error, loading, reload, more, abort } = useCursorPages<Tag>('/tags', flt, PAGE, { clearOnError: true });
  const [active, setActive] = useState(0);

  useEffect(() => {
    setActive(0);
    reload();
    return abort;
  }, [key]);

  const [text, setText] = useQueryText(flt.q, { sel: null });

  return (
    <div class={`process ${sel ? 'with-detail' : ''}`}>
      <h1>Process</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <label class="grow">
          Search
          <input type="search" name="q" maxLength={200} placeholder="text in the tag key" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <label>
          Source
          <select name="source" value={flt.source} onChange={(e) => setQuery({ source: e.currentTarget.value, sel: null })}>
            <option value="">any</option>
            {SOURCES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Asset
          <input name="asset" maxLength={64} placeholder="IP address" value={flt.asset} onChange={(e) => setQuery({ asset: e.currentTarget.value.trim(), sel: null })} />
        </label>
        {flt.source || flt.asset || flt.q ? (
          <button type="button" class="ghost" onClick={() => setQuery({ source: null, asset: null, q: null, sel: null })}>
            Clear filters
          </button>
        ) : null}
      </form>
      <p class="listinfo" role="status" aria-live="polite">
        {loading ? 'Loading…' : `${rows.length}${next ? '+' : ''} tags`}
      </p>
      <ErrorBox error={error} />
      <div class="split">
        <VirtualTable
          rows={rows}
          columns={COLUMNS}
          rowKey={(t) => t.id}
          label="Tags"
          active={active}
          onActive={setActive}
          onOpen={(t) => setQuery({ sel: t.id })}
          selectedKey={sel}
          onNearEnd={more}
        />
        {sel ? <TagDetail id={sel} onClose={() => setQuery({ sel: null })} /> : null}
      </div>
    </div>
  );
}

/** The detail pane of one tag. */
function TagDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const d = useAsync(() => get<TagDetailData>(`/tags/${encodeURIComponent(id)}`), [id]);
  const t = d.data?.tag;
  const w = t?.writer;
  return (
    <aside class="detail card tag-detail" aria-labelledby="tag-h" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <div class="detail-head">
        <h2 id="tag-h" class="wrap">
          {t ? t.key : 'Tag'}
        </h2>
        <button type="button" class="ghost" onClick={onClose} aria-label="Close the detail pane">
          ✕
        </button>
      </div>
      {d.error ? <ErrorBox error={d.error} /> : null}
      {!d.data && !d.error ? <Loading what="the tag" /> : null}
      {d.data && t ? (
        <div class="detail-body">
          <HistoryChart points={d.data.history} label={`History of ${t.key}`} />
          <p class="muted small" data-testid="hist-count">
            {d.data.history.length} stored points (oldest first, one per history interval)
          </p>
          <dl class="facts">
            <dt>Value</dt>
            <dd class="wrap">{valueText(t.value)}</dd>
            <dt>Type</dt>
            <dd>{t.type ?? '—'}</dd>
            <dt>Quality</dt>
            <dd>{t.quality ?? '—'}</dd>
            <dt>Source</dt>
            <dd>{t.source}</dd>
            <dt>Source time</dt>
            <dd>{time(t.sourceTs)}</dd>
            <dt>Server time</dt>
            <dd>{time(t.serverTs)}</dd>
            <dt>First / last seen</dt>
            <dd>
              {time(t.firstSeen)} / {time(t.lastSeen)}
            </dd>
            <dt>Updates</dt>
            <dd>{t.updates}</dd>
            <dt>Asset</dt>
            <dd>{t.asset ? <Link href={`/assets/${encodeURIComponent(t.asset)}`}>{t.asset}</Link> : '—'}</dd>
            <dt>Last writer</dt>
            <dd data-testid="tag-writer">
              {w ? (
                <>
                  {writerText(w)} at {time(w.ts)}: {valueText(w.value)}
                  {w.status ? ` (${w.status})` : ''}
                </>
              ) : (
                'no write seen'
              )}
            </dd>
          </dl>
          <h3>Integrity findings</h3>
          {d.data.findings.length ? (
            <ul class="plainlist tag-findings">
              {d.data.findings.map((f) => (
                <li key={f.id}>
                  <Sev s={f.severity} /> <Link href={`/findings?q=${encodeURIComponent(f.id)}&sel=${encodeURIComponent(f.id)}`}>{f.rule}</Link>{' '}
                  <span class="muted small">
                    {f.status} · {time(f.lastSeen)}
                  </span>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No process finding about this tag.</p>
          )}
        </div>
      ) : null}
    </aside>
  );
}
