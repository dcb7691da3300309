/** Reports (GET/POST /api/v1/reports, download by id): compliance evidence for IEC 62443-3-3, NERC CIP-015 and NIST SP 800-82. */
import { useState } from 'preact/hooks';
import { API, all, can, post } from '../api.js';
import { Card, ErrorBox, Loading, useAsync } from '../components/common.js';
import { bytes, time } from '../format.js';
import type { PageProps } from '../main.js';

interface Report {
  id: string | number;
  standard: string;
  format: string;
  from: string | null;
  to: string | null;
  created: string;
  sha256: string;
  size: number;
}
const STANDARDS = ['iec62443-3-3', 'cip-015', 'nist-800-82'];
const FORMATS = ['pdf', 'html', 'csv', 'json'];

export function Reports({ me }: PageProps) {
  const list = useAsync(() => all<Report>('/reports'), []);
  const [standard, setStandard] = useState(STANDARDS[0]);
  const [format, setFormat] = useState(FORMATS[0]);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Bare dates: the API reads `to` as the whole day.
      await post('/reports', { standard, format, ...(from ? { from } : {}), ...(to ? { to } : {}) });
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="reports">
      <h1>Reports</h1>
      {can(me.role, 'auditor') ? (
        <Card title="New report" id="r-new">
          <form class="inline" onSubmit={(e) => void create(e)}>
            <label>
              Standard
              <select value={standard} onChange={(e) => setStandard(e.currentTarget.value)}>
                {STANDARDS.map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            </label>
            <label>
              Format
              <select value={format} onChange={(e) => setFormat(e.currentTarget.value)}>
                {FORMATS.map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            </label>
            <label>
              From
              <input type="date" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
            </label>
            <label>
              To
              <input type="date" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
            </label>
            <button type="submit" disabled={busy}>
              {busy ? 'Creating…' : 'Create'}
            </button>
          </form>
          <ErrorBox error={error} />
        </Card>
      ) : null}
      <Card title="Reports" id="r-list">
        <ErrorBox error={list.error} />
        {!list.data ? (
          <Loading what="reports" />
        ) : list.data.length ? (
          <table class="plain">
            <thead>
              <tr>
                <th scope="col">Created (UTC)</th>
                <th scope="col">Standard</th>
                <th scope="col">Period</th>
                <th scope="col">Size</th>
                <th scope="col">SHA-256</th>
                <th scope="col">Download</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((r) => (
                <tr key={r.id}>
                  <td>{time(r.created)}</td>
                  <td>{r.standard}</td>
                  <td>
                    {time(r.from)} → {time(r.to)}
                  </td>
                  <td>{bytes(r.size)}</td>
                  <td>
                    <code title={r.sha256}>{r.sha256.slice(0, 16)}…</code>
                  </td>
                  <td>
                    <a href={`${API}/reports/${encodeURIComponent(String(r.id))}/download`} download>
                      {r.format.toUpperCase()}
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">No report yet.</p>
        )}
      </Card>
    </div>
  );
}
