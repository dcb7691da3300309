/**
 * A virtualised table: only the rows in view (plus a margin) are in the DOM, between two spacer
 * rows, so thousands of rows scroll smoothly. Rows have a fixed height. Keyboard: a roving
 * tabindex over rows; ↑ ↓ PgUp PgDn Home End move, Enter opens. `onNearEnd` asks for more rows.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

export interface Column<T> {
  key: string;
  label: string;
  cls?: string;
  render: (row: T) => ComponentChildren;
}

export interface VirtualTableProps<T> {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  label: string;
  active: number;
  onActive: (i: number) => void;
  onOpen: (row: T, i: number) => void;
  selectedKey?: string | null;
  rowClass?: (row: T) => string;
  onNearEnd?: () => void;
  /** When rows are inserted above the view (live arrivals), scroll down by this many rows so the view stays put. */
  shift?: { n: number; seq: number };
  rowHeight?: number;
}

const MARGIN = 12;

export function VirtualTable<T>(p: VirtualTableProps<T>) {
  const ROW = p.rowHeight ?? 34;
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  const focusWanted = useRef(false);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    setView({ top: el.scrollTop, height: el.clientHeight });
    if (p.onNearEnd && el.scrollTop + el.clientHeight > el.scrollHeight - ROW * 20) p.onNearEnd();
  };
  useEffect(() => {
    onScroll();
    const ro = new ResizeObserver(onScroll);
    if (box.current) ro.observe(box.current);
    return () => ro.disconnect();
  }, []);
  // Fewer rows than a screen: ask for more at once.
  useEffect(() => {
    if (p.onNearEnd && p.rows.length * ROW < view.height + ROW * 20) p.onNearEnd();
  }, [p.rows.length]);
  useLayoutEffect(() => {
    if (p.shift && p.shift.n && box.current && box.current.scrollTop > 0) box.current.scrollTop += p.shift.n * ROW;
  }, [p.shift?.seq]);

  const start = Math.max(0, Math.floor(view.top / ROW) - MARGIN);
  const end = Math.min(p.rows.length, Math.ceil((view.top + view.height) / ROW) + MARGIN);

  // Keep the active row visible and focused after keyboard moves.
  useEffect(() => {
    const el = box.current;
    if (!el || !focusWanted.current) return;
    const head = el.querySelector('thead')?.clientHeight ?? ROW;
    const y = p.active * ROW;
    if (y < el.scrollTop) el.scrollTop = y;
    else if (y + ROW > el.scrollTop + el.clientHeight - head) el.scrollTop = y + ROW - el.clientHeight + head;
    requestAnimationFrame(() => {
      (el.querySelector(`tr[data-idx="${p.active}"]`) as HTMLElement | null)?.focus({ preventScroll: true });
      focusWanted.current = false;
    });
  }, [p.active]);

  const page = Math.max(1, Math.floor(view.height / ROW) - 1);
  const keys: Record<string, (i: number) => number> = {
    ArrowDown: (i) => i + 1,
    ArrowUp: (i) => i - 1,
    PageDown: (i) => i + page,
    PageUp: (i) => i - page,
    Home: () => 0,
    End: () => p.rows.length - 1,
  };
  const onKey = (e: KeyboardEvent) => {
    const move = keys[e.key];
    if (move) {
      e.preventDefault();
      focusWanted.current = true;
      p.onActive(Math.max(0, Math.min(p.rows.length - 1, move(p.active))));
    } else if (e.key === 'Enter' || e.key === ' ') {
      const r = p.rows[p.active];
      if (r) {
        e.preventDefault();
        p.onOpen(r, p.active);
      }
    }
  };

  return (
    <div class="vt" ref={box} onScroll={onScroll}>
      <table class="grid-table" aria-label={p.label} aria-rowcount={p.rows.length + 1}>
        <thead>
          <tr>
            {p.columns.map((c) => (
              <th key={c.key} scope="col" class={c.cls}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody onKeyDown={onKey}>
          {start > 0 ? <tr class="spacer" aria-hidden="true" style={{ height: `${start * ROW}px` }} /> : null}
          {p.rows.slice(start, end).map((r, k) => {
            const i = start + k;
            const key = p.rowKey(r);
            return (
              <tr
                key={key}
                data-idx={i}
                aria-rowindex={i + 2}
                tabIndex={i === p.active ? 0 : -1}
                aria-current={key === p.selectedKey ? "true" : undefined}
                class={`row ${key === p.selectedKey ? 'selected' : ''} ${p.rowClass?.(r) ?? ''}`}
                style={{ height: `${ROW}px` }}
                onClick={() => {
                  p.onActive(i);
                  p.onOpen(r, i);
                }}
              >
                {p.columns.map((c) => (
                  <td key={c.key} class={c.cls}>
                    {c.render(r)}
                  </td>
                ))}
              </tr>
            );
          })}
          {end < p.rows.length ? <tr class="spacer" aria-hidden="true" style={{ height: `${(p.rows.length - end) * ROW}px` }} /> : null}
        </tbody>
      </table>
    </div>
  );
}
