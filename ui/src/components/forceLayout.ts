/**
 * A small force-directed layout (Fruchterman–Reingold): nodes repel, edges pull, the step cools
 * each iteration. Deterministic (nodes start on a circle in input order), so the same matrix
 * always draws the same map. O(n²) per iteration: fine for the few hundred assets of a plant cell.
 */

export interface LayoutNode {
  id: string;
  x: number;
  y: number;
}

export function forceLayout(ids: string[], edges: [string, string][], width: number, height: number, iterations = 300): Map<string, LayoutNode> {
  const n = ids.length;
  const nodes = ids.map((id, i) => ({ id, x: width / 2 + (Math.cos((2 * Math.PI * i) / Math.max(1, n)) * width) / 3, y: height / 2 + (Math.sin((2 * Math.PI * i) / Math.max(1, n)) * height) / 3, dx: 0, dy: 0 }));
  const at = new Map(nodes.map((p) => [p.id, p]));
  const k = Math.sqrt((width * height) / Math.max(1, n)) * 0.45;
  let temp = width / 8;
  for (let it = 0; it < iterations; it++) {
    for (const v of nodes) {
      v.dx = 0;
      v.dy = 0;
    }
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const a = nodes[i];
        const b = nodes[j];
        let dx = a.x - b.x;
        let dy = a.y - b.y;
        let d = Math.hypot(dx, dy);
        if (d < 0.01) {
          // Coincident nodes: push apart along a fixed direction (deterministic).
          dx = 0.01 * (i - j);
          dy = 0.01;
          d = Math.hypot(dx, dy);
        }
        const f = (k * k) / d;
        a.dx += (dx / d) * f;
        a.dy += (dy / d) * f;
        b.dx -= (dx / d) * f;
        b.dy -= (dy / d) * f;
      }
    }
    for (const [s, t] of edges) {
      const a = at.get(s);
      const b = at.get(t);
      if (!a || !b || a === b) continue;
      const dx = a.x - b.x;
      const dy = a.y - b.y;
      const d = Math.max(0.01, Math.hypot(dx, dy));
      const f = (0.35 * d * d) / k;
      a.dx -= (dx / d) * f;
      a.dy -= (dy / d) * f;
      b.dx += (dx / d) * f;
      b.dy += (dy / d) * f;
    }
    for (const v of nodes) {
      // A weak pull to the centre keeps disconnected parts on screen.
      v.dx += (width / 2 - v.x) * 0.6;
      v.dy += (height / 2 - v.y) * 0.6;
      const d = Math.max(0.01, Math.hypot(v.dx, v.dy));
      // Margins: labels below a node, self-loops above it.
      v.x = Math.min(width - 60, Math.max(60, v.x + (v.dx / d) * Math.min(d, temp)));
      v.y = Math.min(height - 40, Math.max(90, v.y + (v.dy / d) * Math.min(d, temp)));
    }
    temp = Math.max(0.5, temp * 0.97);
  }
  return new Map(nodes.map((v) => [v.id, { id: v.id, x: v.x, y: v.y }]));
}
