/** Certificates: seen on the wire and issued by the PKI, on an expiry timeline; PKI actions (revoke, sign a CSR) for admins only. */
import { useState } from 'preact/hooks';
import { all, can, get, post } from '../api.js';
import { Card, ErrorBox, useAsync } from '../components/common.js';
import { time } from '../format.js';
import type { PageProps } from '../main.js';

interface WireCert {
  thumbprint: string;
  subject: string;
  issuer: string;
  notAfter: string | null;
  owner: string;
  source: string;
  keyType: string | null;
  keySize: number | null;
}
interface IssuedCert {
  serial: string;
  subject: string;
  notAfter: string;
  state: string;
  appUri?: string;
}

const DAY = 86_400_000;

/** Certificates as marks on a time axis from today to the last expiry (expired ones at the left edge). */
function Timeline({ items }: { items: { key: string; label: string; notAfter: string; kind: 'wire' | 'issued' }[] }) {
  const W = 800;
  const H = 70 + items.length * 0;
  const now = Date.now();
  const times = items.map((i) => Date.parse(i.notAfter)).filter(Number.isFinite);
  const end = Math.max(now + 365 * DAY, ...times);
  const x = (t: number) => 20 + ((W - 40) * (Math.max(now, t) - now)) / (end - now);
  const years = Math.floor((end - now) / (365 * DAY));
  return (
    <svg class="timeline" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Expiry timeline of ${items.length} certificates, from today to ${new Date(end).toISOString().slice(0, 10)}`}>
      <line class="grid" x1="20" x2={W - 20} y1="40" y2="40" />
      {Array.from({ length: years + 1 }, (_, i) => (
        <g key={i}>
          <line class="grid" x1={x(now + i * 365 * DAY)} x2={x(now + i * 365 * DAY)} y1="34" y2="46" />
          <text class="axis" x={x(now + i * 365 * DAY)} y="62" text-anchor="middle">
            {i === 0 ? 'today' : `+${i} y`}
          </text>
        </g>
      ))}
      {items.map((i, k) => {
        const t = Date.parse(i.notAfter);
        const left = (t - now) / DAY;
        return (
          <circle key={i.key} cx={x(t)} cy={i.kind === 'wire' ? 30 - (k % 3) * 6 : 50 + (k % 3) * 6} r="5" class={left < 0 ? 'fill-critical' : left < 30 ? 'fill-high' : i.kind === 'wire' ? 'fill-accent' : 'fill-ok'}>
            <title>{`${i.label}: ${i.notAfter.slice(0, 10)} (${Math.floor(left)} days)`}</title>
          </circle>
        );
      })}
    </svg>
  );
}

export function Certificates({ me }: PageProps) {
  const wire = useAsync(() => all<WireCert>('/certificates'), []);
  const pki = useAsync(() => (can(me.role, 'auditor') ? get<{ certificates?: IssuedCert[] }>('/pki/status') : Promise.resolve(null)), []);
  const issued = pki.data?.certificates ?? [];
  const items = [
    ...(wire.data ?? []).filter((c) => c.notAfter).map((c) => ({ key: `w${c.thumbprint}`, label: c.subject, notAfter: c.notAfter!, kind: 'wire' as const })),
    ...issued.map((c) => ({ key: `i${c.serial}`, label: c.subject, notAfter: c.notAfter, kind: 'issued' as const })),
  ];
  return (
    <div class="certs">
      <h1>Certificates</h1>
      <Card title="Expiry timeline" id="c-tl">
        <Timeline items={items} />
        <p class="legend small">
          <span>
            <i class="swatch fill-accent" aria-hidden="true" />
            seen on the wire (above the line)
          </span>
          <span>
            <i class="swatch fill-ok" aria-hidden="true" />
            issued (below)
          </span>
          <span>
            <i class="swatch fill-high" aria-hidden="true" />
            under 30 days
          </span>
          <span>
            <i class="swatch fill-critical" aria-hidden="true" />
            expired (at today)
          </span>
        </p>
      </Card>
      <Card title={`Seen on the wire (${wire.data?.length ?? '…'})`} id="c-wire">
        <ErrorBox error={wire.error} />
        <div class="hscroll">
          <table class="plain">
            <thead>
              <tr>
                <th scope="col">Subject</th>
                <th scope="col">Owner</th>
                <th scope="col">Key</th>
                <th scope="col">Expires (UTC)</th>
                <th scope="col">Seen in</th>
              </tr>
            </thead>
            <tbody>
              {(wire.data ?? []).map((c) => (
                <tr key={c.thumbprint}>
                  <td class="wrap" title={`issuer: ${c.issuer}\nSHA-1 ${c.thumbprint}`}>
                    {c.subject}
                  </td>
                  <td>{c.owner}</td>
                  <td>{c.keyType ? `${c.keyType} ${c.keySize ?? ''}` : '—'}</td>
                  <td>{time(c.notAfter)}</td>
                  <td>{c.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
      {can(me.role, 'auditor') ? (
        <Card title="Issued by the PKI" id="c-pki">
          {pki.error ? <ErrorBox error={pki.error} /> : null}
          {issued.length ? (
            <table class="plain">
              <thead>
                <tr>
                  <th scope="col">Serial</th>
                  <th scope="col">Subject</th>
                  <th scope="col">State</th>
                  <th scope="col">Expires (UTC)</th>
                </tr>
              </thead>
              <tbody>
                {issued.map((c) => (
                  <tr key={c.serial}>
                    <td>
                      <code>{c.serial}</code>
                    </td>
                    <td class="wrap">{c.subject}</td>
                    <td>{c.state}</td>
                    <td>{time(c.notAfter)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : pki.error ? null : (
            <p class="muted">No issued certificate.</p>
          )}
        </Card>
      ) : null}
      {me.role === 'admin' ? <PkiActions onDone={pki.reload} /> : null}
    </div>
  );
}

/** Admin-only forms: revoke by serial; sign a CSR (the private key never reaches the server). */
function PkiActions({ onDone }: { onDone: () => void }) {
  const [serial, setSerial] = useState('');
  const [reason, setReason] = useState('keyCompromise');
  const [csr, setCsr] = useState('');
  const [appUri, setAppUri] = useState('');
  const [out, setOut] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async (fn: () => Promise<string>) => {
    setError(null);
    setOut(null);
    try {
      setOut(await fn());
      onDone();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Card title="PKI actions" id="c-actions" class="pki-actions">
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => (await post('/pki/revoke', { serial: serial.trim(), reason }), `revoked ${serial.trim()}`));
        }}
      >
        <label>
          Serial to revoke
          <input required value={serial} onInput={(e) => setSerial(e.currentTarget.value)} />
        </label>
        <label>
          Reason
          <select value={reason} onChange={(e) => setReason(e.currentTarget.value)}>
            {['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'].map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Revoke</button>
      </form>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => (await post<{ certificate: string }>('/pki/sign', { csr, appUri: appUri.trim() })).certificate);
        }}
      >
        <label>
          CSR (PEM)
          <textarea rows={4} required value={csr} onInput={(e) => setCsr(e.currentTarget.value)} />
        </label>
        <label>
          Application URI
          <input required value={appUri} placeholder="urn:plant:line1:plc" onInput={(e) => setAppUri(e.currentTarget.value)} />
        </label>
        <button type="submit">Sign</button>
      </form>
      <ErrorBox error={error} />
      {out ? <pre class="out">{out}</pre> : null}
    </Card>
  );
}
