/** Overview: findings over time by severity, open findings by category, rule and asset, sensor health, certificates expiring first. */
import { get } from '../api.js';
import { BarList, StackedBars } from '../components/charts.js';
import { Card, ErrorBox, Link, Loading, useAsync } from '../components/common.js';
import { int, time } from '../format.js';
import type { PageProps } from '../main.js';

interface OverviewData {
  bucket: 'hour' | 'day' | 'month';
  timeline: { t: string; low: number; medium: number; high: number; critical: number }[];
  byCategory: { category: string; n: number }[];
  byRule: { rule: string; severity: string; n: number }[];
  topAssets: { ip: string; n: number; critical: number; high: number }[];
  sensor: { run: number; started: string; status: string; mode: string; packets: number; seconds: number; packetsPerSecond: number | null; gaps: number; gapBytes: number; flowsEvicted: number; dropped: number }[];
  expiring: { thumbprint: string; subject: string; owner: string; notAfter: string; daysLeft: number }[];
  totals: { findings: number; open: number; assets: number };
}

export function Overview(_p: PageProps) {
  const o = useAsync(() => get<OverviewData>('/overview'), []);
  if (o.error) return <ErrorBox error={o.error} />;
  if (!o.data) return <Loading what="the overview" />;
  const d = o.data;
  return (
    <div class="overview">
      <h1>Overview</h1>
      <p class="kpis">
        <span>
          <b>{int(d.totals.open)}</b> open findings
        </span>
        <span>
          <b>{int(d.totals.findings)}</b> findings in all
        </span>
        <span>
          <b>{int(d.totals.assets)}</b> assets
        </span>
      </p>
      <div class="grid2">
        <Card title={`Findings first seen per ${d.bucket}, by severity`} class="wide" id="ov-time">
          <StackedBars data={d.timeline} bucket={d.bucket} label="Findings over time by severity" />
        </Card>
        <Card title="Open findings by category" id="ov-cat">
          <BarList rows={d.byCategory.map((c) => ({ key: c.category, label: <Link href={`/findings?status=open&category=${c.category}`}>{c.category}</Link>, n: c.n }))} empty="No open findings." />
        </Card>
        <Card title="Open findings by rule" id="ov-rule">
          <BarList
            rows={d.byRule.map((r) => ({ key: r.rule, label: <Link href={`/findings?status=open&rule=${encodeURIComponent(r.rule)}`}>{r.rule}</Link>, n: r.n, cls: `fill-${r.severity}` }))}
            empty="No open findings."
          />
        </Card>
        <Card title="Top assets by open findings" id="ov-assets">
          <BarList
            rows={d.topAssets.map((a) => ({ key: a.ip, label: <Link href={`/assets/${encodeURIComponent(a.ip)}`}>{a.ip}</Link>, n: a.n, cls: a.critical ? 'fill-critical' : a.high ? 'fill-high' : 'fill-medium' }))}
            empty="No asset has open findings."
          />
        </Card>
        <Card title="Sensor health (latest runs)" id="ov-sensor">
          {d.sensor.length ? (
            <table class="plain">
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Started</th>
                  <th scope="col" class="num">Packets/s</th>
                  <th scope="col" class="num">Packets</th>
                  <th scope="col" class="num">Drops</th>
                </tr>
              </thead>
              <tbody>
                {d.sensor.map((s) => {
                  const drops = s.gaps + s.flowsEvicted + s.dropped;
                  return (
                    <tr key={s.run}>
                      <td>
                        {s.run} <span class="muted">{s.mode}</span>
                      </td>
                      <td>{time(s.started)}</td>
                      <td class="num">{s.packetsPerSecond === null ? '—' : int(Math.round(s.packetsPerSecond))}</td>
                      <td class="num">{int(s.packets)}</td>
                      <td class={`num ${drops ? 'warn' : ''}`} title={`${s.gaps} gaps (${s.gapBytes} bytes), ${s.flowsEvicted} flows evicted, ${s.dropped} records dropped at caps`}>
                        {int(drops)}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          ) : (
            <p class="muted">No analysis run yet.</p>
          )}
        </Card>
        <Card title="Certificates expiring first (seen on the wire)" id="ov-certs">
          {d.expiring.length ? (
            <ul class="plainlist">
              {d.expiring.map((c) => (
                <li key={c.thumbprint}>
                  <span class={c.daysLeft < 0 ? 'sev sev-critical' : c.daysLeft < 30 ? 'sev sev-high' : 'sev sev-ok'}>{c.daysLeft < 0 ? 'expired' : `${c.daysLeft} d`}</span> {c.subject}{' '}
                  <span class="muted">({c.owner})</span>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No certificate seen.</p>
          )}
          <Link href="/certificates">All certificates</Link>
        </Card>
      </div>
    </div>
  );
}
