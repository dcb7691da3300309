/** The detail pane of one finding: evidence, flow, ATT&CK for ICS and IEC 62443 references, triage actions (analyst) and history. */
import { useState } from 'preact/hooks';
import { can, get, post, type Me } from '../api.js';
import { ErrorBox, Link, Loading, Sev, useAsync } from '../components/common.js';
import { attackUrl, standardText, time } from '../format.js';
import type { FindingSummary } from './Findings.js';

interface Flow {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  vlan?: number;
}
interface Finding extends FindingSummary {
  flow: Flow | null;
  attack: string[];
  standards: string[];
  details: Record<string, unknown>;
  evidence: { ts: string; flow: Flow | null; frame: number | null; type: string; detail: string }[];
  evidenceDropped: number;
  history: { id: number; ts: string; actor: string; action: string; status: string | null; assignee: string | null; comment: string | null }[];
}

const flowText = (f: Flow | null) => (f ? `${f.src}:${f.sport} → ${f.dst}:${f.dport}${f.vlan !== undefined ? ` (VLAN ${f.vlan})` : ''}` : '—');

/** Triage actions and the status each one is meant for (reopen only makes sense when not open). */
const ACTIONS: { action: string; label: string; when: (status: string) => boolean }[] = [
  { action: 'acknowledge', label: 'Acknowledge', when: (s) => s === 'open' },
  { action: 'resolve', label: 'Resolve', when: (s) => s !== 'resolved' },
  { action: 'false-positive', label: 'False positive', when: (s) => s !== 'false-positive' },
  { action: 'reopen', label: 'Reopen', when: (s) => s !== 'open' },
];

export function FindingDetail({ id, me, onChanged, onClose }: { id: string; me: Me; onChanged: (f: FindingSummary) => void; onClose: () => void }) {
  const f = useAsync(() => get<Finding>(`/findings/${encodeURIComponent(id)}`), [id]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [comment, setComment] = useState('');
  const [assignee, setAssignee] = useState('');
  const act = async (body: Record<string, unknown>, path = `/findings/${encodeURIComponent(id)}/triage`) => {
    setBusy(true);
    setError(null);
    try {
      await post(path, body);
      const nf = await get<Finding>(`/findings/${encodeURIComponent(id)}`);
      onChanged(nf);
      f.reload();
      setComment('');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <aside class="detail card" aria-labelledby="detail-h">
      <div class="detail-head">
        <h2 id="detail-h">{f.data ? f.data.title : 'Finding'}</h2>
        <button type="button" class="ghost" onClick={onClose} aria-label="Close the detail pane">
          ✕
        </button>
      </div>
      {f.error ? <ErrorBox error={f.error} /> : null}
      {!f.data && !f.error ? <Loading what="the finding" /> : null}
      {f.data ? (
        <div class="detail-body">
          <dl class="facts">
            <dt>Severity</dt>
            <dd>
              <Sev s={f.data.severity} />
            </dd>
            <dt>Status</dt>
            <dd>
              <span class={`status st-${f.data.status}`} data-testid="detail-status">
                {f.data.status}
              </span>
              {f.data.assignee ? ` · assigned to ${f.data.assignee}` : ''}
            </dd>
            <dt>Rule</dt>
            <dd>
              <code>{f.data.rule}</code> ({f.data.category})
            </dd>
            <dt>Subject</dt>
            <dd class="wrap">{f.data.subject}</dd>
            <dt>Seen</dt>
            <dd>
              {time(f.data.firstSeen)} → {time(f.data.lastSeen)} · {f.data.count}×
            </dd>
            <dt>Flow</dt>
            <dd>{flowText(f.data.flow)}</dd>
            <dt>Assets</dt>
            <dd>
              {f.data.assets.map((a, i) => (
                <span key={a}>
                  {i ? ', ' : ''}
                  <Link href={`/assets/${encodeURIComponent(a)}`}>{a}</Link>
                </span>
              ))}
            </dd>
            <dt>ATT&amp;CK for ICS</dt>
            <dd>
              {f.data.attack.length
                ? f.data.attack.map((t, i) => {
                    const u = attackUrl(t);
                    return (
                      <span key={t}>
                        {i ? ', ' : ''}
                        {u ? (
                          <a href={u} target="_blank" rel="noopener noreferrer">
                            {t}
                          </a>
                        ) : (
                          t
                        )}
                      </span>
                    );
                  })
                : '—'}
            </dd>
            <dt>Standards</dt>
            <dd>
              {f.data.standards.length ? (
                <ul class="plainlist">
                  {f.data.standards.map((s) => (
                    <li key={s}>{standardText(s)}</li>
                  ))}
                </ul>
              ) : (
                '—'
              )}
            </dd>
          </dl>

          {can(me.role, 'analyst') ? (
            <section aria-labelledby="triage-h" class="triage">
              <h3 id="triage-h">Triage</h3>
              <div class="buttons">
                {ACTIONS.filter((a) => a.when(f.data!.status)).map((a) => (
                  <button key={a.action} type="button" disabled={busy} onClick={() => void act({ action: a.action, ...(comment.trim() ? { comment: comment.trim() } : {}) })}>
                    {a.label}
                  </button>
                ))}
                {me.role === 'admin' && (f.data.details as { baseline?: unknown }).baseline && f.data.status === 'open' ? (
                  <button type="button" disabled={busy} onClick={() => void act({ findingId: id }, '/baseline/approve')}>
                    Approve into baseline
                  </button>
                ) : null}
              </div>
              <label>
                Comment
                <textarea rows={2} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
              </label>
              <button type="button" class="ghost" disabled={busy || !comment.trim()} onClick={() => void act({ action: 'comment', comment: comment.trim() })}>
                Add comment
              </button>
              <div class="inline">
                <label>
                  Assign to
                  <input value={assignee} onInput={(e) => setAssignee(e.currentTarget.value)} />
                </label>
                <button type="button" class="ghost" disabled={busy || !assignee.trim()} onClick={() => void act({ action: 'assign', assignee: assignee.trim() })}>
                  Assign
                </button>
              </div>
              <ErrorBox error={error} />
            </section>
          ) : null}

          <h3>Evidence{f.data.evidenceDropped ? ` (${f.data.evidenceDropped} more not kept)` : ''}</h3>
          {f.data.evidence.length ? (
            <ol class="evidence">
              {f.data.evidence.map((e, i) => (
                <li key={i}>
                  <span class="muted">
                    {time(e.ts)} · {e.type}
                    {e.frame !== null ? ` · frame ${e.frame}` : ''}
                  </span>
                  <div class="wrap">{e.detail}</div>
                  {e.flow ? <div class="muted">{flowText(e.flow)}</div> : null}
                </li>
              ))}
            </ol>
          ) : (
            <p class="muted">No evidence kept.</p>
          )}

          <h3>History</h3>
          {f.data.history.length ? (
            <ol class="history">
              {f.data.history.map((h) => (
                <li key={h.id}>
                  <span class="muted">{time(h.ts)}</span> <b>{h.actor}</b> {h.action}
                  {h.status ? ` → ${h.status}` : ''}
                  {h.assignee ? ` (${h.assignee})` : ''}
                  {h.comment ? <div class="wrap">“{h.comment}”</div> : null}
                </li>
              ))}
            </ol>
          ) : (
            <p class="muted">No triage yet.</p>
          )}
        </div>
      ) : null}
    </aside>
  );
}
