/** Charts drawn in SVG by hand (no chart library: the bundle stays small): stacked bars over time and horizontal bars. */
import type { ComponentChildren } from 'preact';
import { SEVERITIES } from '../format.js';

export interface StackPoint {
  t: string;
  [sev: string]: number | string;
}

/** Findings per time bucket, stacked by severity (critical on top), with a legend and a text summary for screen readers. */
/** Axis label of a bucket start (`2026-11-27T03:00:00Z`) for its width. */
const LABEL: Record<string, (t: string) => string> = {
  hour: (t) => `${t.slice(5, 10)} ${t.slice(11, 13)}h`,
  day: (t) => t.slice(0, 10),
  month: (t) => t.slice(0, 7),
};

export function StackedBars({ data, label, bucket }: { data: StackPoint[]; label: string; bucket: string }) {
  const W = 640;
  const H = 200;
  const pad = { l: 40, r: 8, t: 8, b: 28 };
  const order = [...SEVERITIES].reverse(); // low at the bottom
  const totals = data.map((d) => order.reduce((s, k) => s + Number(d[k] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const n = Math.max(1, data.length);
  const bw = (W - pad.l - pad.r) / n;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const ticks = [0, Math.round(max / 2), max];
  const every = Math.max(1, Math.ceil(n / 7));
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${label}: ${data.length} buckets, ${totals.reduce((a, b) => a + b, 0)} findings`}>
        {ticks.map((t) => (
          <g key={t}>
            <line class="grid" x1={pad.l} x2={W - pad.r} y1={y(t)} y2={y(t)} />
            <text class="axis" x={pad.l - 4} y={y(t) + 4} text-anchor="end">
              {t}
            </text>
          </g>
        ))}
        {data.map((d, i) => {
          let acc = 0;
          return (
            <g key={d.t}>
              <title>{`${(LABEL[bucket] ?? LABEL.hour)(String(d.t))}: ${order.map((k) => `${k} ${Number(d[k] ?? 0)}`).join(', ')}`}</title>
              {order.map((k) => {
                const v = Number(d[k] ?? 0);
                if (!v) return null;
                const y0 = y(acc);
                acc += v;
                return <rect key={k} class={`fill-${k}`} x={pad.l + i * bw + bw * 0.1} width={Math.max(1, bw * 0.8)} y={y(acc)} height={Math.max(1, y0 - y(acc))} />;
              })}
              {i % every === 0 ? (
                <text class="axis" x={pad.l + i * bw + bw / 2} y={H - 10} text-anchor="middle">
                  {(LABEL[bucket] ?? LABEL.hour)(String(d.t))}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        {SEVERITIES.map((s) => (
          <span key={s}>
            <i class={`swatch fill-${s}`} aria-hidden="true" />
            {s}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** A ranked list with proportional bars (HTML: readable by screen readers, bars are decoration). */
export function BarList({ rows, empty }: { rows: { key: string; label: ComponentChildren; n: number; cls?: string }[]; empty: string }) {
  if (!rows.length) return <p class="muted">{empty}</p>;
  const max = Math.max(1, ...rows.map((r) => r.n));
  return (
    <ul class="barlist">
      {rows.map((r) => (
        <li key={r.key}>
          <span class="bl-label">{r.label}</span>
          <svg class="bl-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
            <rect class={r.cls ?? 'fill-accent'} x="0" y="0" height="10" width={(100 * r.n) / max} />
          </svg>
          <span class="bl-n">{r.n}</span>
        </li>
      ))}
    </ul>
  );
}
