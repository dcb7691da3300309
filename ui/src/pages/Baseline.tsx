/** Baseline: what was learned or approved, by kind; admins approve baseline findings into it and remove items. */
import { useState } from 'preact/hooks';
import { all, del, get, post } from '../api.js';
import { Card, ErrorBox, Link, Loading, Sev, useAsync } from '../components/common.js';
import { time } from '../format.js';
import type { PageProps } from '../main.js';
import type { FindingSummary } from './Findings.js';

interface Item {
  kind: string;
  key: string;
  data: unknown;
  origin: string;
  updated: string;
}
/** Rules whose findings carry a baseline reference (analyzers/README.md). */
const BASELINE_RULES = ['net.new-asset', 'net.new-connection', 'mqtt.unauthorized-publish', 'sparkplug.unauthorized-command', 'opcua.unauthorized-write', 'opcua.unauthorized-call', 'process.value-out-of-range'];

export function BaselinePage({ me }: PageProps) {
  const admin = me.role === 'admin';
  const items = useAsync(() => get<{ items: Item[] }>('/baseline').then((r) => r.items), []);
  const pending = useAsync(() => (admin ? all<FindingSummary>('/findings', { rule: BASELINE_RULES, status: ['open'] }, 500) : Promise.resolve([])), []);
  const [error, setError] = useState<unknown>(null);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      items.reload();
      pending.reload();
    } catch (e) {
      setError(e);
    }
  };
  const kinds = [...new Set((items.data ?? []).map((i) => i.kind))].sort();
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
      <ErrorBox error={items.error} />
      {!items.data ? <Loading what="the baseline" /> : null}
      {items.data && !items.data.length ? <p class="muted">Nothing learned yet: run otwatch analyze --learn --db FILE on normal traffic.</p> : null}
      {kinds.map((k) => {
        const rows = items.data!.filter((i) => i.kind === k);
        return (
          <Card key={k} title={`${k} (${rows.length})`} id={`b-${k}`}>
            <div class="hscroll">
              <table class="plain">
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col">Origin</th>
                    <th scope="col">Updated (UTC)</th>
                    {admin ? <th scope="col">Action</th> : null}
                  </tr>
                </thead>
                <tbody>
                  {rows.slice(0, 500).map((i) => (
                    <tr key={i.key}>
                      <td class="wrap">
                        <code>{i.key}</code>
                      </td>
                      <td>{i.origin}</td>
                      <td>{time(i.updated)}</td>
                      {admin ? (
                        <td>
                          <button type="button" class="small ghost" aria-label={`Remove ${k} ${i.key}`} onClick={() => void act(() => del(`/baseline/${encodeURIComponent(k)}/${encodeURIComponent(i.key)}`))}>
                            Remove
                          </button>
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Card>
        );
      })}
    </div>
  );
}
