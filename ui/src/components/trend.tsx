/**
 * Tag history drawn in SVG by hand (no chart library: the bundle stays small): a sparkline for
 * table rows and a larger chart with axes and one marker per stored point for the detail pane.
 * Points come from `GET /api/v1/tags/{id}` (`history`: oldest first, numeric values).
 */

export interface HistPoint {
  ts: string;
  value: number;
}

interface Scaled {
  x: number;
  y: number;
  p: HistPoint;
}

/** Place points in a box: time on x (points at one instant sit in the middle), value on y (a flat line sits in the middle). */
function scale(points: HistPoint[], box: { l: number; r: number; t: number; b: number }): { pts: Scaled[]; min: number; max: number; t0: number; t1: number } {
  const ts = points.map((p) => Date.parse(p.ts));
  const vs = points.map((p) => p.value);
  const t0 = Math.min(...ts);
  const t1 = Math.max(...ts);
  const min = Math.min(...vs);
  const max = Math.max(...vs);
  const w = box.r - box.l;
  const h = box.b - box.t;
  const pts = points.map((p, i) => ({
    x: t1 > t0 ? box.l + (w * (ts[i] - t0)) / (t1 - t0) : box.l + w / 2,
    y: max > min ? box.b - (h * (p.value - min)) / (max - min) : box.t + h / 2,
    p,
  }));
  return { pts, min, max, t0, t1 };
}

const path = (pts: Scaled[]) => pts.map((s) => `${s.x.toFixed(1)},${s.y.toFixed(1)}`).join(' ');

/** A compact number for labels: at most 4 significant digits, no exponent below 1e6. */
export function short(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** A row's sparkline: the history as a line (a dot for a single point); the text alternative gives the range. */
export function Sparkline({ points, label }: { points: HistPoint[] | undefined; label: string }) {
  const W = 96;
  const H = 20;
  if (points === undefined) return <span class="muted small">…</span>;
  if (!points.length) return <span class="muted small">no history</span>;
  const { pts, min, max } = scale(points, { l: 2, r: W - 2, t: 2, b: H - 2 });
  return (
    <svg class="spark" viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={`${label}: ${points.length} points, ${short(min)} to ${short(max)}`}>
      {pts.length > 1 ? <polyline class="spark-line" points={path(pts)} /> : null}
      <circle class="spark-dot" cx={pts[pts.length - 1].x} cy={pts[pts.length - 1].y} r={2} />
    </svg>
  );
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/** The detail chart: value axis (min, middle, max), time axis (first and last point, UTC), the line and one marker per point with its time and value as a tooltip. */
export function HistoryChart({ points, label }: { points: HistPoint[]; label: string }) {
  // Close to the pane's width at 1280 px, so axis text is drawn near its CSS size.
  const W = 400;
  const H = 180;
  const box = { l: 48, r: W - 10, t: 10, b: H - 24 };
  if (!points.length) return <p class="muted">No numeric history stored for this tag.</p>;
  const { pts, min, max, t0, t1 } = scale(points, box);
  const ticks = max > min ? [max, (min + max) / 2, min] : [min];
  const yOf = (v: number) => (max > min ? box.b - ((box.b - box.t) * (v - min)) / (max - min) : (box.t + box.b) / 2);
  return (
    <figure class="chart hist-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${label}: ${points.length} points from ${clock(t0)} to ${clock(t1)} UTC, values ${short(min)} to ${short(max)}`}>
        {ticks.map((v) => (
          <g key={v}>
            <line class="grid" x1={box.l} x2={box.r} y1={yOf(v)} y2={yOf(v)} />
            <text class="axis" x={box.l - 4} y={yOf(v) + 4} text-anchor="end">
              {short(v)}
            </text>
          </g>
        ))}
        <text class="axis" x={box.l} y={H - 8} text-anchor="start">
          {clock(t0)}
        </text>
        {t1 > t0 ? (
          <text class="axis" x={box.r} y={H - 8} text-anchor="end">
            {clock(t1)} UTC
          </text>
        ) : null}
        {pts.length > 1 ? <polyline class="hist-line" points={path(pts)} /> : null}
        {pts.map((s, i) => (
          <circle key={i} class="hist-pt" cx={s.x} cy={s.y} r={3}>
            <title>{`${s.p.ts.replace('T', ' ').replace('Z', '')}: ${s.p.value}`}</title>
          </circle>
        ))}
      </svg>
    </figure>
  );
}
